"""What retention expires in one resource, as of a time: the plan the purge marks from, the purge's dry run and the
`retention` dry run print (one computation, so they always agree).

    points    every restore point; the policy (RETENTION_OVERRIDES for this resource, else RETENTION_POLICIES of its
              workload) keeps some (core/retention.py `keep`, with why); the others expire
    versions  a version expires when no kept point reaches it (`first_seen_run <= point < deleted_run`), it has
              ended (a live version is the item as the next incremental backup knows it: never removed), and it
              ended at or before the resource's newest point (nothing a run still in progress wrote is touched)"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.planning import run_time
from core.retention import Point, keep, parse_overrides, parse_policies, policy_of_resource
from core.storage import table_keys as keys
from core.storage.catalog import ItemVersion
from core.storage.runs import USABLE

if TYPE_CHECKING:
    from core.bootstrap import Services


@dataclass
class ResourcePlan:
    resource: str
    policy: str  # the policy described, or 'keep every point'
    point_ids: list[str]  # every restore point, oldest first
    kept: dict[str, str]  # run id -> why it is kept
    expiring: list[str]  # run ids the policy no longer keeps
    versions: list[ItemVersion] = field(default_factory=list)  # every version of the resource
    expired: list[ItemVersion] = field(default_factory=list)  # the versions that expire (module docstring)

    def row(self) -> dict[str, Any]:
        """What a dry run prints for the resource."""
        return {"resource": self.resource, "policy": self.policy, "kept": self.kept, "expiring": self.expiring,
                "versions": len(self.expired), "bytes": sum(v.size for v in self.expired)}  # fmt: skip


def version_key(version: ItemVersion) -> str:
    """The version's catalog RowKey: what a version mark names."""
    return keys.join(version.category, version.item_id, version.first_seen_run)


def reached(version: ItemVersion, runs: Sequence[str]) -> bool:
    """Whether some run of `runs` (sorted) holds the version: first_seen_run <= run < deleted_run."""
    index = bisect_left(runs, version.first_seen_run)
    return index < len(runs) and (not version.deleted_run or runs[index] < version.deleted_run)


def expired_versions(versions: Iterable[ItemVersion], kept: Iterable[str], newest: str) -> list[ItemVersion]:
    """The ended versions no kept run reaches, ended at or before `newest` (the newest point's run id)."""
    runs = sorted(kept)
    return [v for v in versions if v.deleted_run and v.deleted_run <= newest and not reached(v, runs)]


class Policies:
    """RETENTION_POLICIES and RETENTION_OVERRIDES, parsed once."""

    def __init__(self, policies: str, overrides: str) -> None:
        self._policies = parse_policies(policies)
        self._overrides = parse_overrides(overrides)

    @classmethod
    def of(cls, services: Services) -> Policies:
        return cls(services.settings.retention_policies, services.settings.retention_overrides)

    def keeps(self, resource: str, points: list[dict[str, Any]], now: datetime) -> tuple[str, dict[str, str]]:
        """(the policy described, run id -> why kept) for the resource's points (as RunStore.points lists them)."""
        policy = policy_of_resource(self._policies, self._overrides, resource)
        found = [Point(p["run_id"], run_time(p["run_id"]), p["status"] in USABLE) for p in points]
        return (policy.describe() if policy else "keep every point"), keep(found, policy, now)


def plan_resource(services: Services, resource: str, now: datetime, policies: Policies | None = None,
                  points: list[dict[str, Any]] | None = None, versions: bool = False) -> ResourcePlan:  # fmt: skip
    """The resource's plan as of `now`: its points kept and expiring and its expired versions (one read of its
    points unless given; one of its catalog partition when some point expires, or when `versions` asks for it: a
    resource whose policy expires nothing costs no catalog read, however many versions it has)."""
    points = services.runs.points(resource) if points is None else points
    described, kept = (policies or Policies.of(services)).keeps(resource, points, now)
    point_ids = [p["run_id"] for p in points]
    plan = ResourcePlan(resource, described, point_ids, kept, [r for r in point_ids if r not in kept])
    if not plan.expiring and not versions:
        return plan
    plan.versions = list(services.catalog.all_versions(resource))
    plan.expired = expired_versions(plan.versions, kept, point_ids[-1] if point_ids else "")
    return plan
