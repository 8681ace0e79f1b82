"""`python -m core protect [--resource R ...] [--json]`: renew now the immutability of what every backed-up
resource's retained points need (core/lifecycle/protection.py `renew`), as the purge does before it marks; one
line per resource with what was already protected and what was extended. Safe to run at any time: it only ever
lengthens a protection."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.lifecycle.protection import Renewal, renew_all

if TYPE_CHECKING:
    from core.bootstrap import Services


def add_protect_parser(sub: Any, resource_type: Any) -> None:
    text = "extend the immutability of every blob a retained restore point still needs (only ever lengthens it)"
    p = sub.add_parser("protect", help=text)
    p.add_argument("--resource", action="append", type=resource_type, help="only this resource (repeatable)")
    p.add_argument("--json", action="store_true")


def _line(r: Renewal) -> str:
    text = (f"{r.resource}: {r.points} points within their window, {r.blobs} blobs: {r.protected} protected, "
            f"{r.extended} extended, {r.missing} missing, {r.failed} failed")  # fmt: skip
    return text + "".join(f"\n  {error}" for error in r.errors)


def protect_command(services: Services, args: argparse.Namespace) -> int:
    """Exit 0, or 4 when an extension failed (the service refused it: the identity lacks the role, say)."""
    done = renew_all(services, args.resource, progress=None if args.json else lambda r: print(_line(r)))
    if args.json:
        print(json.dumps([r.to_dict() for r in done], indent=2))
    elif not done:
        print("no restore points")
    return 4 if any(r.failed for r in done) else 0
