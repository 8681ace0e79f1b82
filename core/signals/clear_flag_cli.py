"""`python -m core clear-suspicious RESOURCE RUN --reason TEXT [--by NAME]`: an administrator clears a restore
point's false-positive ransomware flag (core/signals/clear_flag.py), audited under the OS user or `--by`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.lifecycle.holds import Actor
from core.signals.clear_flag import clear_suspicious

if TYPE_CHECKING:
    from core.bootstrap import Services


def add_clear_parser(sub: Any, resource_type: Any) -> None:
    """`clear-suspicious` (core/cli.py adds it)."""
    p = sub.add_parser("clear-suspicious", help="mark a restore point flagged suspicious as clean (audited)")
    p.add_argument("resource", type=resource_type)
    p.add_argument("run", help="the run id of the flagged point (see `points`)")
    p.add_argument("--reason", required=True, help="what you checked: why the flag was a false positive")
    p.add_argument("--by", help="who acts, as the audit log records it (default: the OS user)")
    p.add_argument("--json", action="store_true")


def clear_command(services: Services, args: argparse.Namespace) -> int:
    point = clear_suspicious(services, args.resource, args.run, args.reason, Actor.cli(args.by))
    reasons = "; ".join(point["suspicious_reasons"])
    by = point["suspicious_cleared"]["by"]
    text = f"{args.resource} {args.run}: no longer suspicious (it was: {reasons}); cleared by {by}"
    print(json.dumps(point, indent=2) if args.json else text)
    return 0
