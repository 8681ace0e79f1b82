"""Immutability that covers what a retained restore point needs: every blob a point references stays immutable at
least until that point's own window ends (the point's time + IMMUTABILITY_DAYS).

Why this is needed: the container's default policy protects a blob for its first IMMUTABILITY_DAYS only, counted
from its creation, and content is deduplicated: most blobs behind today's point (an unchanged message, the same
attachment in fifty mailboxes) were written long ago and their default protection has run out. So:

- `renew(services, resource)` (run by the purge for each resource, and `python -m core protect`): the points the
  resource's retention keeps (core/retention.py `keep`; no policy, or a legal hold: every point) whose window has
  not ended yet; every catalog version live at one of them; every blob those versions reference
  (`Category.content_refs`, as verification reads them). A blob protected less long than its latest such point's
  window is extended, in bulk, to that window plus a margin of another IMMUTABILITY_DAYS, so a blob that stays
  live is extended about once per window, not at every renewal. A blob only expired points (or points whose
  window has passed) reference is left alone: its protection may end and the purge may then remove it.
- the backup path (core/lifecycle/dedup_protection.py): a put that finds its content already stored makes the
  point being taken depend on that old blob at once; it is extended then, once per process.

Between two renewals a new point can reference a blob no put touched (an unchanged item): the last renewal
protected it until its latest point + window + margin, so it stays covered while renewals run at least every
margin (days); the purge runs daily. Extensions run under the backup identity (the only one that may set
policies; it may not delete, the purge's identity may delete but not touch a policy: infra/modules/roles.bicep)."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, StorageError
from core.planning import run_time
from core.retention import Point, keep, parse_overrides, parse_policies, policy_of_resource
from core.storage.immutability import present_protection
from core.storage.runs import USABLE
from core.workloads import registry

if TYPE_CHECKING:
    from core.bootstrap import Services

log = logging.getLogger(__name__)
MAX_ERRORS = 20


def window(services: Services) -> timedelta:
    """How long a point's content stays immutable after the point (IMMUTABILITY_DAYS)."""
    return timedelta(days=services.settings.immutability_days)


def margin(services: Services) -> timedelta:
    """How far past the need an extension reaches: another window, so extensions stay rare."""
    return timedelta(days=max(1, services.settings.immutability_days))


@dataclass
class Renewal:
    """What one resource's renewal found and did (small: it crosses Durable as an activity result)."""

    resource: str
    points: int = 0  # retained points whose window has not ended
    versions: int = 0  # catalog versions walked
    blobs: int = 0  # stored names those points need protected
    protected: int = 0  # already protected long enough
    extended: int = 0  # extended now
    missing: int = 0  # contents none of whose names exist (verification reports them)
    failed: int = 0  # extensions the service refused
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def retained_points(services: Services, resource: str, now: datetime) -> list[str]:
    """Run ids of the resource's points its retention keeps (every point under a legal hold or without a policy),
    oldest first."""
    held = services.holds is not None and services.holds.get(resource) is not None
    settings = services.settings
    policy = None if held else policy_of_resource(parse_policies(settings.retention_policies),
                                                  parse_overrides(settings.retention_overrides), resource)  # fmt: skip
    points = [Point(p["run_id"], run_time(p["run_id"]), p["status"] in USABLE) for p in services.runs.points(resource)]
    return sorted(keep(points, policy, now))


def needs(resource: str, versions: Any, points: list[str], days: timedelta) -> tuple[int, dict[str, datetime]]:
    """(versions walked, sha256 -> the end of the latest window among `points` (sorted run ids) that reaches a
    version referencing it). A version is live at a point when first_seen_run <= point < deleted_run."""
    refs = registry.content_refs(resource)
    need: dict[str, datetime] = {}
    count = 0
    for version in versions:
        count += 1
        end = bisect.bisect_left(points, version.deleted_run) if version.deleted_run else len(points)
        if not end or points[end - 1] < version.first_seen_run:
            continue  # no retained point (within its window) reaches this version
        until = run_time(points[end - 1]) + days
        for sha in refs(version):
            if sha not in need or need[sha] < until:
                need[sha] = until
    return count, need


def renew(services: Services, resource: str, now: datetime | None = None) -> Renewal:
    """Extend the protection of every blob the resource's retained points need (see the module docstring)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    days = window(services)
    result = Renewal(resource)
    open_points = [r for r in retained_points(services, resource, now) if run_time(r) + days > now]
    result.points = len(open_points)
    if not open_points:
        return result  # every retained point's window has ended: nothing is owed, no catalog read
    result.versions, need = needs(resource, services.catalog.all_versions(resource), open_points, days)
    names = {sha: services.content.stored_names(sha) for sha in sorted(need)}
    until = present_protection(services.immutability, [n for group in names.values() for n in group])
    short: list[tuple[str, datetime]] = []
    for sha, group in names.items():
        present = [name for name in group if name in until]
        result.blobs += len(present)
        result.missing += not present
        for name in present:
            ends = until[name]
            if ends is not None and ends >= need[sha]:
                result.protected += 1
            else:
                short.append((name, need[sha] + margin(services)))
    for outcome in _extend_all(services, short):
        if outcome == "extended":
            result.extended += 1
        elif outcome != "missing":  # "missing": removed since it was read (an erasure): nothing to protect
            result.failed += 1
            if len(result.errors) < MAX_ERRORS:
                result.errors.append(outcome)
    return result


def _extend_all(services: Services, todo: list[tuple[str, datetime]]) -> list[str]:
    """'extended', 'missing' or the error, for each (name, until), a few at a time."""

    def one(item: tuple[str, datetime]) -> str:
        name, target = item
        try:
            services.immutability.extend(name, target)
        except NotFoundError:
            return "missing"
        except StorageError as exc:
            log.warning("could not extend the protection of %s: %s", name, exc)
            return f"{name}: {exc}"[:300]
        return "extended"

    if not todo:
        return []
    with ThreadPoolExecutor(max(1, services.settings.item_concurrency), thread_name_prefix="protect") as pool:
        return list(pool.map(one, todo))


def renew_all(services: Services, resources: list[str] | None = None, now: datetime | None = None,
              progress: Callable[[Renewal], None] | None = None) -> list[Renewal]:  # fmt: skip
    """`renew` for every backed-up resource (or `resources`), in order: what `python -m core protect` runs."""
    known = services.runs.resources()
    unknown = [r for r in resources or () if r not in known]
    if unknown:
        raise NotFoundError(f"no backup of {', '.join(unknown)}")
    done = []
    for resource in resources or sorted(known):
        done.append(renew(services, resource, now))
        if progress is not None:
            progress(done[-1])
    return done
