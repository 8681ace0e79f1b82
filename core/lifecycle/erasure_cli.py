"""`python -m core erase --user ID` (the plan and its confirmation code), `erase --user ID --confirm CODE` (the
erasure, only if the plan still hashes to CODE), `erase --finish-pending` (what earlier erasures left marked) and
`erasures` (the records, newest first). See core/lifecycle/erasure.py."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.lifecycle.erasure import erase, finish_pending, list_erasures, show_plan
from core.lifecycle.holds import Actor

if TYPE_CHECKING:
    from core.bootstrap import Services

EXIT_OK, EXIT_PENDING = 0, 3


def add_erasure_parsers(sub: Any) -> None:
    """`erase` and `erasures` (core/cli.py adds them)."""
    p = sub.add_parser(
        "erase",
        help="erase one person's backed-up data: shows the plan and a confirmation code; "
        "--confirm CODE carries it out (refused while any of their resources is on legal hold)",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--user", help="the person: a user object id (or a UPN, resolved through Graph)")
    what.add_argument(
        "--finish-pending",
        action="store_true",
        help="delete what earlier erasures marked and could not delete yet (immutable then)",
    )
    p.add_argument("--confirm", metavar="CODE", help="the code the plan showed: erase now")
    p.add_argument("--by", help="who acts, as the audit log records it (default: the OS user)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("erasures", help="list the recorded erasures, newest first")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")


def erase_command(services: Services, args: argparse.Namespace) -> int:
    actor = Actor.cli(args.by)
    if args.finish_pending:
        reports = finish_pending(services, actor)
        _emit(args, reports, "\n".join(map(_report_line, reports)) or "no erasure has anything pending")
        return EXIT_PENDING if any(r["status"] == "pending" for r in reports) else EXIT_OK
    if args.confirm is None:
        plan = show_plan(services, args.user, actor)
        _emit(args, plan, _plan_text(plan))
        return EXIT_OK
    report = erase(services, args.user, args.confirm, actor)
    _emit(args, report, _report_line(report))
    return EXIT_PENDING if report["status"] == "pending" else EXIT_OK


def erasures_command(services: Services, args: argparse.Namespace) -> int:
    found = list_erasures(services, args.limit)
    _emit(args, found, "\n".join(f"{_report_line(r)}  ({r['by']}, {r['finished_at']})" for r in found) or "no erasures")
    return EXIT_OK


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _plan_text(plan: dict[str, Any]) -> str:
    blobs, journal = plan["blobs"], plan["journal"]
    lines = [f"erasure plan for user {plan['user']}" + (f" ({plan['given']})" if plan["given"] != plan["user"] else "")]
    lines += [
        f"  {r['resource']}: {r['points']} restore points, {r['versions']} versions ({r['bytes']} bytes), "
        f"{r['delta_rows']} delta state and {r['quarantine_rows']} quarantine rows"
        for r in plan["resources"]
    ]
    lines.append(
        f"  content blobs only they reference: {blobs['remove']} ({blobs['bytes']} bytes), "
        f"{blobs['immutable_now']} still immutable; {blobs['pending_from_earlier']} pending from an earlier "
        f"erasure; {blobs['shared_kept']} shared with other resources stay"
    )
    lines.append(
        f"  journal blobs holding their rows: {journal['remove']} "
        f"({journal['pending_from_earlier']} pending from an earlier erasure)"
    )
    for hold in plan["holds"]:
        lines.append(
            f"  ON LEGAL HOLD: {hold['resource']} by {hold['placed_by']} since {hold['placed_at']}: "
            f"{hold['reason']} (the erasure is refused until it is released)"
        )
    lines.append("not erased:")
    lines += [f"  - {note}" for note in plan["not_erased"]]
    lines.append(f"confirmation code: {plan['code']}  (erase --user {plan['user']} --confirm {plan['code']})")
    return "\n".join(lines)


def _report_line(r: dict[str, Any]) -> str:
    return (
        f"erasure {r['erasure_id']} of user {r['user']}: {r['status']}: {r.get('resources', 0)} resources, "
        f"{r.get('points', 0)} points, {r.get('versions', 0)} versions, {r.get('blobs_removed', 0)} blobs "
        f"removed ({r.get('blob_bytes', 0)} bytes), {r.get('blobs_pending', 0)} pending, "
        f"{r.get('journal_removed', 0)} journal blobs removed, {r.get('journal_pending', 0)} pending"
    )
