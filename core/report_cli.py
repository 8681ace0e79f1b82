"""`python -m core report [--json | --csv]`: the protection report (core/report.py), every resource with its names,
state, last good point against the RPO, items, bytes and quarantined items. Exit 0 when every included resource is
protected, 3 when some is partial, past its RPO, never backed up, skipped or failing (for a monitoring script)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from core.report import protection_report, report_csv, report_text

if TYPE_CHECKING:
    from core.bootstrap import Services

EXIT_OK, EXIT_ATTENTION = 0, 3
_FINE = ("protected", "excluded")


def add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="the protection report: every resource by name, its state, last good backup against BACKUP_RPO_HOURS, "
        "items, bytes, quarantined items; exit 3 when one needs attention",
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="as JSON")
    form.add_argument("--csv", action="store_true", help="as CSV, one row per resource")


def report_command(services: Services, args: argparse.Namespace) -> int:
    report = protection_report(services)
    if args.csv:
        print(report_csv(report), end="")
    elif args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(report_text(report))
    return EXIT_OK if all(r["state"] in _FINE for r in report["resources"]) else EXIT_ATTENTION
