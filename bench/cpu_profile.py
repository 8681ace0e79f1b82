"""CPU per message: one simulated mailbox of small messages (graphsim over loopback HTTPS, Azurite) backed up by
core's real services in a child process, which reports its own CPU time (user + system, getrusage) divided by the
messages it backed up. With --profile one more run happens under cProfile (every thread, timed by its own CPU
clock: waiting costs nothing) and the top functions by cumulative and own time are printed, with the per-message
call counts of what the HTTP stacks do per request (proxy lookups in the environment, connection-pool scans).

Every run gets fresh, empty storage (a new Azurite), so every message is downloaded and written.

    python -m bench.cpu_profile [--users 1] [--messages 2000] [--latency-ms 5] [--runs 2] [--profile] [--top 25]
                               [--stats-file PATH] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from bench.common import ROOT, WORKER_TIMEOUT, machine_facts

# (label, part of the file's path, function name) of calls counted per message in a profiled run
WATCHED = (
    ("environment proxy lookups", "urllib/request.py", "getproxies_environment"),
    ("os.environ reads", "<frozen os>", "__getitem__"),
    ("httpcore is_idle checks", "httpcore/", "is_idle"),
    ("azure-core pipeline runs", "azure/core/pipeline/_base.py", "run"),
    ("requests sessions built", "requests/sessions.py", "__init__"),
    ("blob clients built", "storage/blob/_blob_client.py", "__init__"),
)


class ThreadProfiles:
    """cProfile profiles only the thread that enables it: this gives every thread started while it is on (the
    backup's worker pools) a profile of its own, timed by the thread's CPU clock, merged at the end."""

    def __init__(self) -> None:
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start_in_thread(self, *_: object) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)  # CPU time of the thread: waiting costs nothing
        with self._lock:
            self._profiles.append(profile)
        profile.enable()

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._start_in_thread)
        self._start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        self._profiles[0].disable()

    def stats(self, stream: IO[str]) -> pstats.Stats:
        with self._lock:
            profiles = list(self._profiles)
        stats = pstats.Stats(profiles[0], stream=stream)
        for profile in profiles[1:]:
            stats.add(profile)
        return stats


# --- the worker: one backup run in this process ------------------------------------------------------------------
def worker(config_path: Path, result_path: Path) -> int:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup

    config = json.loads(config_path.read_text())
    services = build_services(load_settings(config["env"]))
    profiler = ThreadProfiles() if config["profile"] else contextlib.nullcontext()
    try:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        wall0 = time.perf_counter()
        with profiler:
            summary = run_backup(services, trigger="bench")
        wall = time.perf_counter() - wall0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        written = services.content.counts()
    finally:
        services.close()
    result: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "items": summary["items"],
        "statuses": sorted({r["status"] for r in summary["results"]}),
        "written": written,
    }
    if isinstance(profiler, ThreadProfiles):
        result.update(profile_figures(profiler, summary["items"], config["top"], config["stats_file"]))
    result_path.write_text(json.dumps(result))
    return 0


def profile_figures(profiler: ThreadProfiles, items: int, top: int, dump: str) -> dict[str, Any]:
    text = io.StringIO()
    stats = profiler.stats(text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top // 2)
    calls: dict[str, float] = {}
    if dump:
        stats.dump_stats(dump)
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    for label, part, name in WATCHED:
        n = sum(v[1] for (file, _line, func), v in raw.items() if func == name and part in file)
        calls[label] = n / max(items, 1)
    return {"profile_top": text.getvalue(), "calls_per_message": calls}


def run_worker(
    env: dict[str, str], scratch: Path, name: str, profile: bool, args: argparse.Namespace
) -> dict[str, Any]:
    config, out = scratch / f"{name}.config.json", scratch / f"{name}.result.json"
    config.write_text(json.dumps({"env": env, "profile": profile, "top": args.top, "stats_file": args.stats_file}))
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.cpu_profile", "--worker", str(config), str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=child_env, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"cpu_profile worker '{name}' failed (exit code {done.returncode})")
    return json.loads(out.read_text())


# --- the driver ----------------------------------------------------------------------------------------------------
def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    report: dict[str, Any] = {
        "machine": machine_facts(),
        "users": args.users,
        "messages": args.messages,
        "latency_ms": args.latency_ms,
    }
    with tempfile.TemporaryDirectory(prefix="m365cpu-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sim = start_simulator(
            scratch / "sim", timeout=300.0, users=args.users, messages=args.messages, seed=args.seed,
            latency_ms=args.latency_ms, mailbox_concurrency=4, rate_limit=None, contacts=0, events=0, tasks=0,
            archive_messages=0,
        )  # fmt: skip
        stack.callback(sim.stop)
        runs = []
        plan = [False] * args.runs + ([True] if args.profile else [])
        for i, profile in enumerate(plan):
            with start_azurite() as azurite:
                env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
                       "BACKUP_LOCAL_PROCESSES": "1"}  # fmt: skip  # profiled: the backup runs in this process
                run = run_worker(env, scratch, f"run-{i + 1}", profile, args)
            run["profiled"] = profile
            run["load_avg_1m"] = round(os.getloadavg()[0], 2)
            runs.append(run)
        report["runs"] = runs
    plain = [r["cpu_s"] * 1000 / max(r["items"], 1) for r in report["runs"] if not r["profiled"]]
    report["cpu_ms_per_message"] = statistics.median(plain) if plain else None
    return report


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"cpu per message: {report['users']} mailbox(es) x {report['messages']:,} messages, "
        f"{report['latency_ms']:g} ms latency; "
        f"{m['cpu_count']} CPUs, {m['python']}, load avg {m['load_avg_1m']} at start",
    ]
    for i, r in enumerate(report["runs"], 1):
        ms = r["cpu_s"] * 1000 / max(r["items"], 1)
        kind = "profiled" if r["profiled"] else "plain"
        lines.append(
            f"run {i} ({kind}): {r['items']:,} items, CPU {r['cpu_s']:.2f} s = {ms:.2f} ms/message, wall "
            f"{r['wall_s']:.1f} s, blobs {r['written']['blobs']:,}, statuses {','.join(r['statuses'])}, "
            f"load avg {r['load_avg_1m']}"
        )
    for r in report["runs"]:
        if r["profiled"]:
            lines.append("calls per message: " + ", ".join(f"{k} {v:.1f}" for k, v in r["calls_per_message"].items()))
            lines.append(r["profile_top"])
    if report["cpu_ms_per_message"] is not None:
        lines.append(f"SUMMARY cpu {report['cpu_ms_per_message']:.2f} ms/message (median of plain runs)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per mailbox")
    parser.add_argument("--users", type=int, default=1, help="mailboxes (more than one: pools shared by mailboxes)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="latency the simulator adds to each request")
    parser.add_argument("--runs", type=int, default=2, help="unprofiled runs (median CPU per message)")
    parser.add_argument("--profile", action="store_true", help="one more run under cProfile, with its top functions")
    parser.add_argument("--top", type=int, default=25, help="functions listed from the profile")
    parser.add_argument("--stats-file", default="", help="write the profile here too (pstats format)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(Path(args.worker[0]), Path(args.worker[1]))
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
