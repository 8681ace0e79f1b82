"""Retention policies: which restore points a resource keeps, grandfather-father-son (GFS) style.

A policy keeps every point of the last `all_days` days, then the newest point of each of the last `daily` days,
`weekly` ISO weeks, `monthly` months and `yearly` years (each tier counted back from now, in UTC), and always the
newest usable point whatever its age: a resource that stopped being backed up keeps its last good copy. A point
that did not complete (failed, interrupted) holds nothing a restore can use and is never kept for a tier.

`RETENTION_POLICIES` names the policy of each workload: `default: all=30d, daily=30, weekly=12, monthly=12,
yearly=7; teams: all=90d` (a workload not named takes `default`; empty: keep every point forever, the default).
`RETENTION_OVERRIDES` replaces the policy of single resources (`parse_overrides`, `policy_of_resource`).
`python -m core retention` is the dry run: per resource, the points kept and why, the points that would expire and
the versions no kept point reaches. Nothing is removed by it; the purge (core/lifecycle/purge.py) acts on it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import ConfigError

TIERS = ("daily", "weekly", "monthly", "yearly")
_TERM = re.compile(r"^(all)=(\d+)d$|^(daily|weekly|monthly|yearly)=(\d+)$")


@dataclass(frozen=True)
class Policy:
    all_days: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def describe(self) -> str:
        terms = [f"all={self.all_days}d"] + [f"{t}={getattr(self, t)}" for t in TIERS if getattr(self, t)]
        return ", ".join(terms)


@dataclass(frozen=True)
class Point:
    run_id: str
    finished: datetime  # when the point was taken (its run's time)
    usable: bool


def parse_policy(text: str) -> Policy:
    """`all=30d, daily=30, weekly=12, monthly=12, yearly=7` (any subset; ConfigError naming a bad term)."""
    values: dict[str, int] = {}
    for term in (t.strip() for t in text.split(",")):
        if not term:
            continue
        match = _TERM.match(term.replace(" ", ""))
        if not match:
            raise ConfigError(f"retention term {term!r} is not all=<days>d or daily|weekly|monthly|yearly=<count>")
        name, count = (match[1], match[2]) if match[1] else (match[3], match[4])
        values["all_days" if name == "all" else name] = int(count)
    return Policy(**values)


def parse_policies(text: str) -> dict[str, Policy]:
    """`default: ...; <workload>: ...` -> {workload or 'default': Policy}. Empty: no policy (keep everything)."""
    policies: dict[str, Policy] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, colon, terms = part.partition(":")
        if not colon or not name.strip():
            raise ConfigError(f"retention policy {part!r} must read '<workload or default>: <terms>'")
        policies[name.strip()] = parse_policy(terms)
    return policies


def policy_for(policies: dict[str, Policy], workload: str) -> Policy | None:
    """The workload's policy, else the default one; None: keep every point."""
    return policies.get(workload) or policies.get("default")


def parse_overrides(text: str) -> dict[str, Policy]:
    """RETENTION_OVERRIDES, `<workload>:<id> = <terms>; ...` -> {resource key: Policy} (ConfigError naming a bad
    part): one resource's policy replacing its workload's, e.g. `exchange:<user id> = all=3650d`."""
    from core.workloads.registry import workload_names  # the registry imports every workload: only when needed

    overrides: dict[str, Policy] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        resource, equals, terms = (s.strip() for s in part.partition("="))
        workload, colon, key = resource.partition(":")
        if not equals or not colon or not key.strip() or not terms:
            raise ConfigError(f"retention override {part!r} must read '<workload>:<id> = <terms>'")
        if workload.strip() not in workload_names():
            raise ConfigError(f"retention override {part!r} names unknown workload {workload.strip()!r}")
        overrides[f"{workload.strip()}:{key.strip()}"] = parse_policy(terms)
    return overrides


def policy_of_resource(policies: dict[str, Policy], overrides: dict[str, Policy], resource: str) -> Policy | None:
    """The resource's own override, else its workload's policy, else the default one; None: keep every point."""
    if resource in overrides:
        return overrides[resource]
    return policy_for(policies, resource.partition(":")[0])


def _bucket(tier: str, when: datetime) -> tuple[int, ...]:
    if tier == "daily":
        return (when.year, when.month, when.day)
    if tier == "weekly":
        year, week, _ = when.isocalendar()
        return (year, week)
    if tier == "monthly":
        return (when.year, when.month)
    return (when.year,)


def _buckets_back(tier: str, now: datetime, count: int) -> set[tuple[int, ...]]:
    """The `count` most recent buckets of the tier up to `now` (the current one included)."""
    found: set[tuple[int, ...]] = set()
    when = now
    while len(found) < count:
        found.add(_bucket(tier, when))
        if tier == "daily":
            when -= timedelta(days=1)
        elif tier == "weekly":
            when -= timedelta(weeks=1)
        elif tier == "monthly":
            when = (when.replace(day=1) - timedelta(days=1)).replace(day=min(when.day, 28))
        else:
            when = when.replace(year=when.year - 1, day=min(when.day, 28))
    return found


def keep(points: Iterable[Point], policy: Policy | None, now: datetime | None = None) -> dict[str, str]:
    """run id -> why it is kept ('within 30 days', 'daily 2026-11-30', 'newest usable', ...), for the points the
    policy keeps; every other point expires. No policy: every point is kept."""
    points = sorted(points, key=lambda p: p.run_id)
    if policy is None:
        return {p.run_id: "no retention policy" for p in points}
    now = (now or datetime.now(UTC)).astimezone(UTC)
    kept: dict[str, str] = {}
    usable = [p for p in points if p.usable]
    if usable:
        kept[usable[-1].run_id] = "newest usable point"
    horizon = now - timedelta(days=policy.all_days)
    for p in usable:
        if policy.all_days and p.finished >= horizon:
            kept.setdefault(p.run_id, f"within {policy.all_days} days")
    for tier in TIERS:
        count = getattr(policy, tier)
        if not count:
            continue
        wanted = _buckets_back(tier, now, count)
        newest: dict[tuple[int, ...], Point] = {}
        for p in usable:  # oldest first: the newest point of each bucket wins
            bucket = _bucket(tier, p.finished.astimezone(UTC))
            if bucket in wanted:
                newest[bucket] = p
        for bucket, p in newest.items():
            kept.setdefault(p.run_id, f"{tier} {'-'.join(str(b) for b in bucket)}")
    return kept
