"""Mail backup benchmark: a simulated tenant (graphsim over loopback HTTPS, with injected latency and Outlook's
4-requests-per-mailbox limit) backed up into Azurite by core's real services, as `python -m core` would.

Phases: a full backup (repeated --repeat times on fresh storage), a no-change incremental, and an incremental after
a small change set. Each backup runs in its own child process (`python -m bench.mail_backup --worker`), so the
peak RSS reported is that process's own high-water mark (VmHWM, bench.common.peak_rss_bytes): the simulator
and Azurite are separate processes and are not counted. Request counts come from the simulator (what Graph would
see) and from core's GraphClient (what the engine thinks it sent).

    python -m bench.mail_backup [--users 5] [--messages 2000] [--latency-ms 20] [--repeat 1] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import MB, ROOT, WORKER_TIMEOUT, machine_facts, peak_rss_bytes, server_phase, storage_blobs

ENGINE_SETTINGS = (
    "GRAPH_PAGE_SIZE",
    "BACKUP_LOCAL_CONCURRENCY",
    "BACKUP_ITEM_CONCURRENCY",
    "GRAPH_MAILBOX_CONCURRENCY",
)


# --- the worker: one backup run in this process ------------------------------------------------------------------
def worker(config_path: Path, result_path: Path) -> int:
    """Build core's services from the settings in `config_path`, run one backup, write figures to `result_path`."""
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup

    config = json.loads(config_path.read_text())
    started = time.perf_counter()
    services = build_services(load_settings(config["env"]))
    try:
        ready = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        summary = run_backup(services, trigger="bench")
        wall = time.perf_counter() - ready
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        graph = services.graph.stats()
        written = services.content.counts()  # blobs and bytes this run stored, and deduplicated puts
    finally:
        services.close()
    result = {
        "wall_s": wall,
        "setup_s": ready - started,
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "summary": {k: v for k, v in summary.items() if k != "results"},
        "statuses": sorted({r["status"] for r in summary["results"]}),
        "graph_client": graph,
        "written": written,
        "peak_rss_bytes": peak_rss_bytes(),  # VmHWM: this process's own, not its parent's at the fork
    }
    result_path.write_text(json.dumps(result))
    return 0


def run_worker(env: dict[str, str], scratch: Path, name: str) -> dict[str, Any]:
    config, out = scratch / f"{name}.config.json", scratch / f"{name}.result.json"
    config.write_text(json.dumps({"env": env}))
    out.unlink(missing_ok=True)
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.mail_backup", "--worker", str(config), str(out)]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=child_env, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"benchmark worker '{name}' failed (exit code {done.returncode})")
    result = json.loads(out.read_text())
    result["process_wall_s"] = time.perf_counter() - started
    return result


# --- the driver ----------------------------------------------------------------------------------------------------
def containers_total(sim: Any, mailboxes: list[dict[str, Any]], mail_folders: int) -> int:
    """Every container the mailboxes' backups run a delta round for: mail folders, contact folders, calendars and
    To Do lists."""
    from graphsim.todo.control_client import TodoControl

    todo = TodoControl(sim.base_url, sim.ca_file)
    try:
        others = 0
        for user in mailboxes:
            pim = sim.control.pim(user["id"])
            others += len(pim["contact_folders"]) + len(pim["calendars"]) + len(todo.state(user["id"])["lists"])
    finally:
        todo.close()
    return mail_folders + others


def phase(name: str, env: dict[str, str], sim: Any, scratch: Path, azurite: Any) -> dict[str, Any]:
    """One backup in a worker, with the simulator's request statistics and the servers' CPU time over it."""
    return server_phase(sim, azurite, lambda: run_worker(env, scratch, name))


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.config import LOCAL_RESOURCES_PER_CPU, SETTINGS, usable_cpus
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    defaults = {s.name: s.default for s in SETTINGS}
    defaults["BACKUP_LOCAL_CONCURRENCY"] = str(LOCAL_RESOURCES_PER_CPU * usable_cpus())  # the machine's default
    bench_started = time.perf_counter()
    report: dict[str, Any] = {
        "machine": machine_facts(),
        "tenant": {
            "users": args.users,
            "messages_per_mailbox": args.messages,
            "latency_ms": args.latency_ms,
            "sim_mailbox_concurrency": 4,
            "seed": args.seed,
        },
        "engine": {k: defaults[k] for k in ENGINE_SETTINGS},
        "measured_process": "the backup worker child (python -m bench.mail_backup --worker), VmHWM",
    }
    with tempfile.TemporaryDirectory(prefix="m365bench-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        t0 = time.perf_counter()
        sim = start_simulator(
            scratch / "sim", timeout=300.0, users=args.users, messages=args.messages, seed=args.seed,
            latency_ms=args.latency_ms, mailbox_concurrency=4, rate_limit=None, contacts=0, events=0, tasks=0,
            archive_messages=0,  # the README's figures predate archives: kept comparable
        )  # fmt: skip
        stack.callback(sim.stop)
        report["sim_start_s"] = time.perf_counter() - t0
        state = sim.control.state()
        mailboxes = [u for u in state["users"] if u["has_mailbox"]]
        report["tenant"]["mailboxes"] = len(mailboxes)
        report["tenant"]["messages_total"] = sum(len(u["messages"]) for u in mailboxes)
        # Mail folders a backup walks: every folder but the mailbox root (msgfolderroot), hidden ones included.
        report["tenant"]["folders_total"] = sum(
            1 for u in mailboxes for f in u["folders"] if f.get("wellKnownName") != "msgfolderroot"
        )
        report["tenant"]["containers_total"] = containers_total(sim, mailboxes, report["tenant"]["folders_total"])

        fulls: list[dict[str, Any]] = []
        for i in range(args.repeat):
            azurite = start_azurite()  # fresh, in-memory storage for every full backup
            stack.callback(azurite.stop)  # stop() is idempotent
            env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
                   "BACKUP_LOCAL_PROCESSES": "1"}  # fmt: skip  # one process measured (bench.scaling: processes)
            full = phase(f"full-{i + 1}", env, sim, scratch, azurite)
            full["stored_blobs"], full["stored_bytes"] = storage_blobs(azurite.connection_string, "backup")
            fulls.append(full)
            if i < args.repeat - 1:
                azurite.stop()
        report["full_runs"] = fulls

        # Incrementals on the storage of the last full backup.
        report["incremental_nochange"] = phase("incremental-nochange", env, sim, scratch, azurite)
        user = mailboxes[0]["id"]
        for n in range(args.changes):
            sim.control.add_message(user, "inbox", subject=f"bench change {n + 1}", attachments=n % 2)
        changed = phase("incremental-changes", env, sim, scratch, azurite)
        changed["changes"] = {"mailbox": user, "new_messages": args.changes}
        report["incremental_changes"] = changed
    report["bench_s"] = time.perf_counter() - bench_started
    return report


# --- output -----------------------------------------------------------------------------------------------------
def _median_range(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def derive(report: dict[str, Any]) -> dict[str, Any]:
    """Headline figures (medians over the full runs), also added to --json output."""
    fulls = report["full_runs"]
    folders = report["tenant"]["folders_total"]
    walls = [f["wall_s"] for f in fulls]
    items = [f["summary"]["items"] for f in fulls]
    rates = [i / w for i, w in zip(items, walls, strict=True)]
    per_msg = [f["requests"] / max(i, 1) for f, i in zip(fulls, items, strict=True)]
    nochange, changes = report["incremental_nochange"], report["incremental_changes"]
    return {
        "full_wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "full_messages_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
        "full_requests_per_message": statistics.median(per_msg),
        "full_peak_rss_mb": max(f["peak_rss_bytes"] for f in fulls) / MB,
        "nochange_delta_per_folder": nochange["sim"]["by_kind"]["delta"] / max(folders, 1),
        "nochange_requests_per_container": nochange["requests"] / max(report["tenant"]["containers_total"], 1),
        "nochange_counted_per_container": nochange["counted"] / max(report["tenant"]["containers_total"], 1),
        "nochange_blobs_written": nochange["written"]["blobs"],
        "changes_requests": changes["requests"],
    }


def render(report: dict[str, Any]) -> str:
    m, t, e = report["machine"], report["tenant"], report["engine"]
    d = report["derived"]
    fulls = report["full_runs"]
    nochange, changes = report["incremental_nochange"], report["incremental_changes"]
    lines = [
        f"mail backup benchmark: {t['mailboxes']} mailboxes x {t['messages_per_mailbox']:,} messages "
        f"({t['messages_total']:,} messages, {t['folders_total']} folders), {t['latency_ms']:g} ms latency per "
        f"request, simulator allows {t['sim_mailbox_concurrency']} concurrent requests per mailbox",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}, "
        f"load avg {m['load_avg_1m']} at start",
        f"engine: page size {e['GRAPH_PAGE_SIZE']}, {e['BACKUP_LOCAL_CONCURRENCY']} mailboxes x "
        f"{e['BACKUP_ITEM_CONCURRENCY']} items in parallel, {e['GRAPH_MAILBOX_CONCURRENCY']} requests per mailbox",
        f"peak RSS: {report['measured_process']}; simulator and Azurite are separate processes, not counted",
        "",
    ]
    header = (
        f"{'phase':<26}{'wall s':>18}{'msgs/s':>16}{'items':>7}{'requests':>9}{'client':>8}{'req/msg':>8}"
        f"{'429':>5}{'blobs':>7}{'MB written':>11}{'RSS MB':>8}"
    )
    lines += [header, "-" * len(header)]

    def row(name: str, runs: list[dict[str, Any]], rate: bool = True) -> str:
        walls = [r["wall_s"] for r in runs]
        rates = [r["summary"]["items"] / r["wall_s"] for r in runs]
        rate_text = _median_range(rates, ".0f") if rate else "-"
        r = runs[-1] if len(runs) == 1 else runs[len(runs) // 2]
        items = r["summary"]["items"]
        per_msg = f"{r['requests'] / items:.3f}" if items and rate else "-"
        return (
            f"{name:<26}{_median_range(walls, '.2f'):>18}{rate_text:>16}{items:>7,}"
            f"{r['requests']:>9,}{r['graph_client'].get('requests', 0):>8,}{per_msg:>8}"
            f"{r['sim']['answered_429']:>5}{r['written']['blobs']:>7,}{r['written']['bytes'] / MB:>11.2f}"
            f"{max(x['peak_rss_bytes'] for x in runs) / MB:>8.0f}"
        )

    full_name = "full backup" + (f" (median of {len(fulls)})" if len(fulls) > 1 else "")
    lines.append(row(full_name, fulls))
    lines.append(row("incremental, no change", [nochange], rate=False))
    lines.append(row(f"incremental, +{changes['changes']['new_messages']} messages", [changes], rate=False))
    lines.append("")

    def kinds(r: dict[str, Any]) -> str:
        by = r["sim"]["by_kind"]
        return " ".join(f"{k}={v}" for k, v in by.items() if v and k != "token") + f" (+token={by.get('token', 0)})"

    def cpu(r: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in r["server_cpu_s"].items() if v is not None)

    f = fulls[-1]
    lines += [
        f"full: requests by kind {kinds(f)}; deduplicated (already stored) {f['written']['deduplicated']:,}; "
        f"container holds {f['stored_blobs']:,} blobs / {f['stored_bytes'] / MB:.2f} MB; max in flight per mailbox "
        f"{max(f['sim']['max_in_flight'].values(), default=0)}; retries {f['graph_client'].get('retries', 0)}; "
        f"statuses {','.join(f['statuses'])}",
        f"full: CPU s worker {f['cpu_s']:.1f}, {cpu(f)} (wall {f['wall_s']:.1f}, {m['cpus_usable']} CPUs); worker "
        f"start-up {f['setup_s']:.2f} s, process wall {f['process_wall_s']:.1f} s",
        f"no-change incremental: requests by kind {kinds(nochange)}; delta requests per folder "
        f"{d['nochange_delta_per_folder']:.2f} ({t['folders_total']} folders); blobs written "
        f"{nochange['written']['blobs']}, bytes {nochange['written']['bytes']}; CPU s worker {nochange['cpu_s']:.1f}, "
        f"{cpu(nochange)}",
        f"no-change requests per container (goal ≤ 1.0): {d['nochange_requests_per_container']:.2f} HTTP "
        f"({nochange['requests']} HTTP requests, {nochange['sim']['by_kind']['batch']} of them $batch; "
        f"{t['containers_total']} containers: mail and contact folders, calendars, task lists; the users listing "
        f"included); {d['nochange_counted_per_container']:.2f} as Graph counts them against its limits "
        f"({nochange['counted']}: each request inside a $batch one, the envelopes not)",
        f"+{changes['changes']['new_messages']} messages incremental: requests by kind {kinds(changes)}; "
        f"CPU s worker {changes['cpu_s']:.1f}, {cpu(changes)}",
        f"simulator start (seeding) {report['sim_start_s']:.1f} s; whole bench {report['bench_s']:.1f} s",
        "",
        f"SUMMARY full {t['messages_total']:,} msgs {d['full_wall_s']['median']:.1f} s "
        f"({d['full_messages_per_s']['median']:.0f} msg/s, {d['full_requests_per_message']:.3f} req/msg, "
        f"{f['sim']['answered_429']} x 429, peak RSS {d['full_peak_rss_mb']:.0f} MB) | no-change incr "
        f"{nochange['wall_s']:.2f} s, {nochange['requests']} req, {nochange['written']['blobs']} blobs | "
        f"+{changes['changes']['new_messages']} msgs incr {changes['wall_s']:.2f} s, {changes['requests']} req",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mail_backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5, help="mailboxes in the simulated tenant")
    parser.add_argument("--messages", type=int, default=2000, help="messages per mailbox")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the simulator adds to each request")
    parser.add_argument("--repeat", type=int, default=1, help="full backups on fresh storage (median, min/max)")
    parser.add_argument("--changes", type=int, default=10, help="new messages (one mailbox) before the last run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.users < 1 or args.messages < 0 or args.changes < 0:
        parser.error("--repeat and --users must be >= 1, --messages and --changes >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(Path(args.worker[0]), Path(args.worker[1]))
    report = run_bench(args)
    report["derived"] = derive(report)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
