"""`python -m core purge [--dry-run] [--resource R ...] [--json]` and `purges`: apply retention (core/lifecycle/
purge.py) under the purge's identity (PURGE_CLIENT_ID), or say what it would remove; list the recorded purges.

The dry run is the same plan the `retention` dry run prints (core/lifecycle/purge_plan.py), per resource, plus the
blobs that would go with the expired versions (those no other version of any resource references) and how many of
them are still immutable. It changes nothing, marks nothing."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError
from core.lifecycle import removal
from core.lifecycle.purge import purge, resources_to_purge
from core.lifecycle.purge_identity import build_purge_services
from core.lifecycle.purge_plan import Policies, plan_resource, version_key

if TYPE_CHECKING:
    from core.bootstrap import Services

EXIT_OK, EXIT_PARTIAL = 0, 3


def dry_run(services: Services, resources: list[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """What a purge as of `now` would mark (and remove once the grace has passed): per resource its plan's row;
    in all, the blobs only expired versions reference, and how many of them are still protected."""
    now = now or datetime.now(UTC)
    known = set(services.runs.resources())
    unknown = [r for r in resources or () if r not in known]
    if unknown:
        raise NotFoundError(f"no backup of {', '.join(unknown)}")
    held = services.holds.held() if services.holds is not None else set()
    policies, rows, going, candidates = Policies.of(services), [], set(), set()
    for resource in resources or sorted(known):
        if resource in held:
            rows.append({"resource": resource, "held": True, "kept": {}, "expiring": [], "versions": 0, "bytes": 0})
            continue
        plan = plan_resource(services, resource, now, policies)
        rows.append({**plan.row(), "held": False})
        going |= {(resource, version_key(v)) for v in plan.expired}
        candidates |= removal.content_of(resource, plan.expired)
    free = candidates - removal.referencing(services, candidates, ignoring=going)
    names = {sha: services.content.stored_names(sha) for sha in free}
    until = services.immutability.protected_until([n for group in names.values() for n in group])
    protected = sum(1 for sha in free if any((end := until.get(n)) is not None and end > now for n in names[sha]))
    return {"resources": rows, "blobs": len(free), "still_protected": protected, "held_resources": sorted(held)}


def add_purge_parsers(sub: Any, resource_type: Any) -> None:
    """`purge` and `purges` (core/cli.py adds them)."""
    text = ("apply retention: mark what the policies expire, remove what was marked PURGE_GRACE_HOURS ago "
            "(points, versions, then blobs nothing references and nothing protects)")  # fmt: skip
    p = sub.add_parser("purge", help=text)
    p.add_argument("--dry-run", action="store_true", help="say what would be marked and removed; change nothing")
    p.add_argument("--resource", action="append", type=resource_type, help="only this resource (repeatable)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("purges", help="list the recorded purges, newest first")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")


def _line(summary: dict[str, Any]) -> str:
    return (f"purge {summary['purge_id']}: {summary['status']}: {summary['points']} points, {summary['versions']} "
            f"versions, {summary['blobs']} blobs ({summary['bytes']} bytes) removed; {summary['marked']} marked, "
            f"{summary['still_protected']} still protected, {summary['deferred']} deferred, "
            f"{summary['held']} held resources skipped")  # fmt: skip


def purge_command(services: Services, args: argparse.Namespace) -> int:
    if args.dry_run:
        report = dry_run(services, args.resource)
        if args.json:
            print(json.dumps(report, indent=2))
            return EXIT_OK
        for row in report["resources"]:
            if row["held"]:
                print(f"{row['resource']}: on legal hold, nothing would be removed")
                continue
            print(f"{row['resource']} ({row['policy']}): {len(row['expiring'])} points and {row['versions']} versions "
                  f"({row['bytes']} bytes) would go, {len(row['kept'])} points kept")  # fmt: skip
        print(f"{report['blobs']} blobs would go ({report['still_protected']} of them still immutable)")
        return EXIT_OK
    unknown = [r for r in args.resource or () if r not in resources_to_purge(services)]
    if unknown:
        raise NotFoundError(f"no backup of {', '.join(unknown)}")
    own = services if not services.settings.purge_client_id else build_purge_services(services.settings)
    try:
        summary = purge(own, args.resource, trigger="cli", protect_with=services)
    finally:
        if own is not services:
            own.close()
    print(json.dumps(summary, indent=2) if args.json else _line(summary))
    return EXIT_OK if summary["status"] == "succeeded" else EXIT_PARTIAL


def purges_command(services: Services, args: argparse.Namespace) -> int:
    found = services.runs.purges.latest(args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print("\n".join(f"{_line(s)}  ({s['trigger']}, {s['finished_at']})" for s in found) or "no purges")
    return EXIT_OK
