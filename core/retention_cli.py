"""`python -m core retention [--resource R ...]`: the retention dry run. Per resource, the restore points its
policy (core/retention.py, RETENTION_POLICIES) keeps and why, the ones that would expire, and the versions no kept
point reaches with their bytes: what a purge would remove from the catalog (a blob goes only once no kept version
of any resource references it, and its immutability has run out). Changes nothing; the same plan as
`purge --dry-run`, which also counts the blobs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError
from core.lifecycle.purge_plan import Policies, plan_resource

if TYPE_CHECKING:
    from core.bootstrap import Services


def dry_run(services: Services, resources: list[str] | None = None) -> list[dict[str, Any]]:
    """Per resource, its plan's row (core/lifecycle/purge_plan.py): the very plan `purge` marks from."""
    points_of = services.runs.points_by_resource()
    unknown = [r for r in resources or () if r not in points_of]
    if unknown:
        raise NotFoundError(f"no backup of {', '.join(unknown)}")
    now, policies = datetime.now(UTC), Policies.of(services)
    return [plan_resource(services, resource, now, policies, points_of[resource]).row()
            for resource in resources or sorted(points_of)]  # fmt: skip


def add_retention_parser(sub: Any, resource_type: Any) -> None:
    text = ("the retention dry run: per resource, the points its policy keeps and why, those that would expire, "
            "and the versions no kept point reaches (changes nothing)")  # fmt: skip
    p = sub.add_parser("retention", help=text)
    p.add_argument("--resource", action="append", type=resource_type, help="only this resource (repeatable)")
    p.add_argument("--json", action="store_true")


def retention_command(services: Services, args: argparse.Namespace) -> int:
    report = dry_run(services, args.resource)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for row in report:
        print(f"{row['resource']} ({row['policy']}): {len(row['kept'])} points kept, {len(row['expiring'])} would "
              f"expire, {row['versions']} versions ({row['bytes']} bytes) no kept point reaches")  # fmt: skip
        for run_id in row["expiring"]:
            print(f"  would expire {run_id}")
    if not report:
        print("no restore points")
    return 0
