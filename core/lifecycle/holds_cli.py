"""`python -m core hold place --resource R --reason TEXT`, `hold release --resource R`, `hold list [--json]`:
legal holds from the command line (core/lifecycle/holds.py), each change audited under the OS user or `--by`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.lifecycle.holds import Actor, list_holds, place_hold, release_hold

if TYPE_CHECKING:
    from core.bootstrap import Services


def add_hold_parser(sub: Any, resource_type: Any) -> None:
    """`hold` and its three actions (core/cli.py adds it)."""
    p = sub.add_parser("hold", help="legal holds: a held resource is neither purged nor erased (place, release, list)")
    actions = p.add_subparsers(dest="hold_action", required=True)
    place = actions.add_parser("place", help="hold a backed-up resource (audited)")
    place.add_argument("--resource", required=True, type=resource_type, help="'<workload>:<owner id>'")
    place.add_argument("--reason", required=True, help="the matter or case the hold is for")
    release = actions.add_parser("release", help="clear a resource's hold (audited)")
    release.add_argument("--resource", required=True, type=resource_type)
    listing = actions.add_parser("list", help="every hold: resource, who placed it, when, why")
    for q in (place, release, listing):
        q.add_argument("--by", help="who acts, as the audit log records it (default: the OS user)")
        q.add_argument("--json", action="store_true")


def hold_command(services: Services, args: argparse.Namespace) -> int:
    actor = Actor.cli(args.by)
    if args.hold_action == "place":
        hold = place_hold(services, args.resource, args.reason, actor)
        _emit(args, hold, f"{hold['resource']} is on legal hold: {hold['reason']} (by {hold['placed_by']})")
    elif args.hold_action == "release":
        hold = release_hold(services, args.resource, actor)
        _emit(args, hold, f"{hold['resource']}: hold released (it was: {hold['reason']})")
    else:
        holds = list_holds(services)
        lines = [f"{h['resource']}  by {h['placed_by']}  since {h['placed_at']}  {h['reason']}" for h in holds]
        _emit(args, holds, "\n".join(lines) or "no legal holds")
    return 0


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)
