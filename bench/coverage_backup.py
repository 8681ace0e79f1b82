"""Coverage benchmark: the workloads beyond mail and files, each backed up in full and then incrementally with no
change, against its own simulated tenant (graphsim over loopback HTTPS with injected latency) and Azurite, through
core's real services in this process, as `python -m core backup --workload W` would.

Per case it prints items per second of the category (its catalog items as of the run over the backup's wall time)
for the full backup and for the no-change incremental (the items it covered, over its wall time), and the Graph
requests each cost. Cases whose workload is not registered (yet) are left out and said so.

    python -m bench.coverage_backup [--items 200] [--latency-ms 20] [--case channel-messages] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import MB, machine_facts, peak_rss_bytes, server_phase

QUIET = {"messages": 0, "contacts": 0, "events": 0, "tasks": 0, "drive_files": 0, "sites": 0, "list_items": 0,
         "teams": 0, "channel_messages": 0, "chat_users": 0, "group_posts": 0}  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    workload: str
    category: str
    what: str  # what its items are, for the table
    seed: dict[str, Any]  # simulator options over QUIET, `{n}` replaced by the item count asked for

    def options(self, n: int) -> dict[str, Any]:
        return {**QUIET, **{k: (n if v == "{n}" else max(1, n // 2) if v == "{n/2}" else v)
                            for k, v in self.seed.items()}}  # fmt: skip


CASES = (
    # root messages in the team's General channel; the seed adds replies to some, and a private channel
    Case(
        "channel-messages",
        "teams",
        "channelmessage",
        "channel messages",
        {"users": 2, "teams": 1, "channel_messages": "{n}"},
    ),
    # two lists per site, each with n/2 items
    Case("list-items", "sharepoint", "listitem", "list items", {"users": 1, "sites": 1, "list_items": "{n/2}"}),
    Case("tasks", "exchange", "task", "To Do tasks", {"users": 1, "tasks": "{n}"}),
    # the seeded groups (a plain one and the team's), each with one conversation of n/2 posts and a one-post one
    Case("group-posts", "groups", "grouppost", "group posts", {"users": 2, "teams": 1, "group_posts": "{n/2}"}),
    # one licensed user, alone in the seed's group and meeting chats, each with n/2 messages (a chat shared by several
    # users is backed up under each of them, which would count its messages once per member)
    Case(
        "chat-messages",
        "chats",
        "chatmessage",
        "chat messages",
        {"users": 1, "chat_users": 1, "chat_messages": "{n/2}"},
    ),
)


def _items(services: Any, case: Case, run_id: str) -> int:
    points = services.runs.points_by_resource()
    resources = [k for k in points if k.startswith(f"{case.workload}:")]
    return sum(1 for r in resources for _ in services.catalog.as_of(r, case.category, run_id))


def _backup(services: Any) -> dict[str, Any]:
    from core.runner import run_backup

    started = time.perf_counter()
    summary = run_backup(services, trigger="bench")
    return {"wall_s": time.perf_counter() - started, "summary": summary}


def run_case(case: Case, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from core.bootstrap import build_services
    from core.config import load_settings
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    options = case.options(args.items)
    with contextlib.ExitStack() as stack:
        sim = start_simulator(scratch / case.name, timeout=300.0, seed=args.seed, latency_ms=args.latency_ms,
                              mailbox_concurrency=4, rate_limit=None, archive_messages=0, **options)  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_WORKLOADS": case.workload, "BACKUP_LOCAL_PROCESSES": "1"}  # fmt: skip  # in this process
        services = build_services(load_settings(env))
        stack.callback(services.close)
        full = server_phase(sim, azurite, lambda: _backup(services))
        nochange = server_phase(sim, azurite, lambda: _backup(services))
        for phase in (full, nochange):
            phase["category_items"] = _items(services, case, phase["summary"]["run_id"])
    return {"case": case.name, "workload": case.workload, "category": case.category, "what": case.what,
            "sim_options": options, "full": full, "nochange": nochange}  # fmt: skip


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.workloads import registry

    report: dict[str, Any] = {"machine": machine_facts(), "latency_ms": args.latency_ms, "items": args.items,
                              "cases": [], "left_out": []}  # fmt: skip
    names = registry.workload_names()
    with tempfile.TemporaryDirectory(prefix="m365cover-") as tmp:
        for case in CASES:
            if args.case and case.name not in args.case:
                continue
            declared = case.workload in names and case.category in registry.category_names()
            if not declared:
                report["left_out"].append(f"{case.name}: {case.workload}/{case.category} is not registered")
                continue
            report["cases"].append(run_case(case, args, Path(tmp)))
    return report


def _rate(phase: dict[str, Any]) -> float:
    return phase["category_items"] / phase["wall_s"] if phase["wall_s"] else 0.0


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"coverage benchmark: ~{report['items']} items per case, {report['latency_ms']:g} ms latency per request",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, load avg {m['load_avg_1m']}",
        f"peak RSS of this process (VmHWM; the backups run in it): {peak_rss_bytes() / MB:.0f} MB",
        "",
    ]
    header = (
        f"{'case':<18}{'phase':<12}{'items':>7}{'wall s':>9}{'items/s':>9}{'requests':>10}{'req/item':>10}"
        f"{'status':>11}"
    )
    lines += [header, "-" * len(header)]
    for case in report["cases"]:
        for label, phase in (("full", case["full"]), ("no change", case["nochange"])):
            items = phase["category_items"]
            lines.append(
                f"{case['what']:<18}{label:<12}{items:>7,}{phase['wall_s']:>9.2f}{_rate(phase):>9.0f}"
                f"{phase['requests']:>10,}{phase['requests'] / max(items, 1):>10.2f}{phase['summary']['status']:>11}"
            )
    lines += [f"left out: {why}" for why in report["left_out"]]
    summary = " | ".join(
        f"{c['what']}: full {_rate(c['full']):.0f}/s, no-change {_rate(c['nochange']):.0f}/s "
        f"({c['nochange']['requests']} req)"
        for c in report["cases"]
    )
    lines += ["", f"SUMMARY {summary}"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.coverage_backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200, help="items of each case's category in its tenant")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the simulator adds to each request")
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES], help="only these (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.items < 1:
        parser.error("--items must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_bench(args)
    failed = [
        c["case"] for c in report["cases"] for p in (c["full"], c["nochange"]) if p["summary"]["status"] != "succeeded"
    ]
    print(json.dumps(report, indent=2, default=str) if args.json else render(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
