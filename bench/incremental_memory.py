"""Incremental memory benchmark: is an incremental's peak RSS O(changes), not O(live items)?

One mailbox of a simulated tenant (graphsim over loopback HTTPS, no latency) is backed up in full into Azurite; then
for each size (default 2,000 and 10,000 live messages) the catalog's live messages are brought up to it (written
straight into the catalog as the full backup records them: a full backup of 10,000 messages takes ~10 minutes on
this project's loaded 2-CPU machine), a few messages are added in the mailbox and an incremental runs. Each backup
runs in its own child process (`python -m bench.incremental_memory --worker`), so the peak RSS printed is that
process's own high-water mark (VmHWM, bench.common.peak_rss_bytes); the catalog queries and rows it read
(`Catalog.reads`) are printed beside it. The slope between the two sizes is what one more live item costs an
incremental that does not touch it. `--workload onedrive` does the same for a OneDrive: its live files written
straight into the catalog under the root folder, a few files added before each incremental.

    python -m bench.incremental_memory [--workload exchange|onedrive] [--sizes 2000,10000] [--changes 3]
                                       [--seed-messages 200] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import MB, ROOT, WORKER_TIMEOUT, machine_facts, peak_rss_bytes


def worker(config_path: Path, result_path: Path) -> int:
    """One backup run in this process, from the settings in `config_path`; its figures to `result_path`."""
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup

    config = json.loads(config_path.read_text())
    services = build_services(load_settings(config["env"]))
    try:
        started = time.perf_counter()
        summary = run_backup(services, trigger="bench")
        wall = time.perf_counter() - started
        reads = services.catalog.reads.snapshot()
    finally:
        services.close()
    result = {
        "wall_s": wall,
        "items": summary["items"],
        "run_id": summary["run_id"],
        "statuses": sorted({r["status"] for r in summary["results"]}),
        "catalog_queries": sum(reads["queries"].values()),
        "catalog_rows": sum(reads["rows"].values()),
        "catalog_rows_by_category": reads["rows"],
        "peak_rss_bytes": peak_rss_bytes(),
    }
    result_path.write_text(json.dumps(result))
    return 0


def run_worker(env: dict[str, str], scratch: Path, name: str) -> dict[str, Any]:
    config, out = scratch / f"{name}.config.json", scratch / f"{name}.result.json"
    config.write_text(json.dumps({"env": env}))
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.incremental_memory", "--worker", str(config), str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=child_env, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"benchmark worker '{name}' failed (exit code {done.returncode})")
    return json.loads(out.read_text())


def add_live_versions(env: dict[str, str], resource: str, folder_id: str, run_id: str, start: int, stop: int) -> None:
    """Live mail versions `start`..`stop`-1 written straight into the catalog, in the inbox, as the full backup
    `run_id` records a message it captured (Graph-length ids, a SHA-256, a change key): the mailbox's other live
    messages, which a small-change incremental never touches. Writing them takes seconds; backing up 10,000 messages
    in full takes minutes here."""
    from core.config import load_settings
    from core.storage.catalog import Catalog, ItemVersion
    from core.storage.tables import table_clients

    writer = Catalog(table_clients(load_settings(env))["catalog"]).writer(resource)
    for n in range(start, stop):
        tag = hashlib.sha256(f"bench {n}".encode()).hexdigest()
        writer.put(ItemVersion(
            "mail", f"AAMkAGI2TG93AAA{tag}{tag[:70]}=", run_id, folder_id=folder_id, folder_path="Inbox",
            content_hash=tag, size=20_000 + n % 5_000, name=f"bench message {n}", sender="someone@example.com",
            received="2026-01-01T00:00:00Z", change_key=f"CQAAABYAAAA{tag[:28]}", internet_message_id=f"<{tag[:40]}@x>",
        ))  # fmt: skip
    writer.flush()


def add_live_files(env: dict[str, str], resource: str, drive_id: str, root_id: str, run_id: str, start: int,
                   stop: int) -> None:  # fmt: skip
    """Live file versions `start`..`stop`-1 written straight into the catalog under the drive's root, as a full
    backup records a file it captured (Graph-length ids, a SHA-256, a change key of content tag, parent, name)."""
    from core.config import load_settings
    from core.storage.catalog import Catalog, ItemVersion
    from core.storage.tables import table_clients
    from core.workloads.files.drive_round import FILE, composite

    writer = Catalog(table_clients(load_settings(env))["catalog"]).writer(resource)
    parent = composite(drive_id, root_id)
    for n in range(start, stop):
        tag = hashlib.sha256(f"bench {n}".encode()).hexdigest()
        name = f"bench file {n}.docx"
        writer.put(ItemVersion(
            FILE, composite(drive_id, f"01BENCH{tag[:26].upper()}"), run_id, folder_id=parent, content_hash=tag,
            size=20_000 + n % 5_000, name=name, modified="2026-01-01T00:00:00Z",
            change_key=f"{tag[:40]}\n{parent}\n{name}", container_id=drive_id,
        ))  # fmt: skip
    writer.flush()


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """One mailbox of `--seed-messages` backed up in full (or a OneDrive of as many files); then per size, the
    catalog's live items brought up to that size and an incremental after `--changes` new ones, its peak RSS and
    catalog reads measured."""
    drive = args.workload == "onedrive"
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    started = time.perf_counter()
    points = []
    with tempfile.TemporaryDirectory(prefix="m365bench-mem-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sim = start_simulator(
            scratch / "sim", timeout=300.0, users=1, messages=1 if drive else args.seed_messages, seed=args.seed,
            latency_ms=0.0, mailbox_concurrency=4, rate_limit=None, contacts=0, events=0, tasks=0, archive_messages=0,
            drive_files=args.seed_messages if drive else 0, sites=0,
        )  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        user = next(u for u in sim.control.state()["users"] if u["has_mailbox"])
        inbox = next(f["id"] for f in user["folders"] if f.get("wellKnownName") == "inbox")
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_LOCAL_PROCESSES": "1", "BACKUP_WORKLOADS": args.workload}  # fmt: skip
        full = run_worker(env, scratch, "full")
        my_drive = sim.control.drive(user["id"]) if drive else {}
        root = my_drive.get("root_id", "")
        live = sum(1 for i in my_drive["items"] if not i["folder"]) if drive else len(user["messages"])
        for size in args.sizes:
            added = max(0, size - live - args.changes)
            if drive:
                add_live_files(env, f"onedrive:{user['id']}", my_drive["id"], root, full["run_id"], live, live + added)
            else:
                add_live_versions(env, f"exchange:{user['id']}", inbox, full["run_id"], live, live + added)
            live += added
            for n in range(args.changes):
                if drive:
                    sim.control.add_drive_item(my_drive["id"], f"memory bench change {live + n + 1}.txt", size=500)
                else:
                    sim.control.add_message(user["id"], "inbox", subject=f"memory bench change {live + n + 1}")
            incremental = run_worker(env, scratch, f"incremental-{size}")
            live += args.changes
            points.append({"size": size, "live_messages": live, "incremental": incremental})
    small, large = points[0], points[-1]
    items = large["live_messages"] - small["live_messages"]
    slope = (large["incremental"]["peak_rss_bytes"] - small["incremental"]["peak_rss_bytes"]) / max(items, 1)
    rows = (large["incremental"]["catalog_rows"] - small["incremental"]["catalog_rows"]) / max(items, 1)
    return {
        "machine": machine_facts(),
        "workload": args.workload,
        "changes": args.changes,
        "full": full,
        "points": points,
        "incremental_rss_bytes_per_live_item": slope,
        "incremental_catalog_rows_per_live_item": rows,
        "bench_s": time.perf_counter() - started,
    }


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"incremental memory benchmark: one {'OneDrive' if report['workload'] == 'onedrive' else 'mailbox'}, "
        f"+{report['changes']} items before the incremental; "
        f"peak RSS is the backup worker's own VmHWM",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}",
        "",
    ]
    full = report["full"]
    lines.append(
        f"full backup of the first {full['items']:,} items: {full['wall_s']:.1f} s, peak RSS "
        f"{full['peak_rss_bytes'] / MB:.1f} MB; the other live items written straight into the catalog"
    )
    header = f"{'live items':>14}{'incr s':>8}{'items':>7}{'incr RSS MB':>12}{'queries':>9}{'rows read':>10}"
    lines += ["", header, "-" * len(header)]
    for p in report["points"]:
        incr = p["incremental"]
        lines.append(
            f"{p['live_messages']:>14,}{incr['wall_s']:>8.2f}{incr['items']:>7}{incr['peak_rss_bytes'] / MB:>12.1f}"
            f"{incr['catalog_queries']:>9,}{incr['catalog_rows']:>10,}"
        )
    lines += [
        "",
        f"SUMMARY incremental peak RSS slope {report['incremental_rss_bytes_per_live_item']:.0f} bytes per live item, "
        f"catalog rows read per live item {report['incremental_catalog_rows_per_live_item']:.3f} "
        f"(whole bench {report['bench_s']:.0f} s)",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.incremental_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("exchange", "onedrive"), default="exchange",
                        help="a mailbox's messages or a OneDrive's files")  # fmt: skip
    parser.add_argument("--sizes", default="2000,10000", help="live items of the resource, comma-separated")
    parser.add_argument("--changes", type=int, default=3, help="new messages before each incremental")
    parser.add_argument("--seed-messages", type=int, default=200, help="messages the full backup captures")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.worker:
        try:
            args.sizes = sorted(int(s) for s in args.sizes.split(","))
        except ValueError:
            parser.error("--sizes: whole numbers, comma-separated")
        if len(args.sizes) < 2 or args.changes < 0 or not 0 < args.seed_messages < args.sizes[0] - args.changes:
            parser.error("--sizes needs two sizes above --seed-messages + --changes; --changes >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(Path(args.worker[0]), Path(args.worker[1]))
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
