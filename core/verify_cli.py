"""`python -m core verify [--resource R ...] [--sample PCT]` and `verifications`: read the backup's content back and
say whether every retained version can still be restored (core/verify.py); list the verifications recorded."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequestError
from core.verify import ResourceVerification, check_fraction, verify

if TYPE_CHECKING:
    from core.bootstrap import Services

EXIT_OK, EXIT_FAILED = 0, 4


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    try:
        return check_fraction(value)
    except InvalidRequestError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_verify_parsers(sub: Any, resource_type: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="read every backed-up blob back (or a --sample) and check it against its hash; exit 4 on a missing, "
        "corrupted or unreadable one",
    )
    p.add_argument("--resource", action="append", type=resource_type, help="only this resource (repeatable)")
    p.add_argument("--sample", type=_percent, default=1.0, metavar="PCT",
                   help="check this percentage of the blobs, a different share each time (default: 100)")  # fmt: skip
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("verifications", help="list the recorded verifications, newest first")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")


def _problems(counts: dict[str, Any]) -> str:
    return f"{counts['missing']} missing, {counts['corrupted']} corrupted, {counts['unreadable']} unreadable"


def _line(result: ResourceVerification) -> str:
    bad = result.missing + result.corrupted + result.unreadable
    verdict = _problems(result.to_dict()) if bad else "ok"
    return f"{result.resource}: {result.checked}/{result.blobs} blobs checked ({result.bytes} bytes): {verdict}"


def verify_command(services: Services, args: argparse.Namespace) -> int:
    def progress(result: ResourceVerification) -> None:
        if not args.json:
            print(_line(result), flush=True)

    summary = verify(services, args.resource, args.sample, trigger="cli", progress=progress)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_verdict(summary))
        for p in summary["problems"]:
            print(f"  {p['problem']}: {p['resource']} {p['category']} {p['item_id']} ({p['name']}) "
                  f"first seen {p['first_seen_run']}: {p['detail']}", file=sys.stderr)  # fmt: skip
    return EXIT_OK if summary["status"] == "ok" else EXIT_FAILED


def _verdict(summary: dict[str, Any]) -> str:
    share = "" if summary["sample"] >= 1 else f" (a {summary['sample'] * 100:g}% sample)"
    head = (f"verification {summary['verification_id']}: {summary['status']}: {summary['checked']} of "
            f"{summary['blobs']} blobs{share} of {summary['resources']} resource(s) read back, "
            f"{summary['bytes']} bytes")  # fmt: skip
    return head if summary["status"] == "ok" else f"{head}; {_problems(summary)}"


def verifications_command(services: Services, args: argparse.Namespace) -> int:
    found = services.runs.verifications.latest(args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print("\n".join(_verdict(v) + f"  ({v['trigger']}, {v['finished_at']})" for v in found) or "no verifications")
    return EXIT_OK
