"""Orchestration history benchmark: the backup orchestrators run by the local Durable executor (devenv.durable_local,
replaying them through azure-functions-durable as the host does) at 1,000 and 20,000 resources.

Prints, per size: the parent orchestration's history (events and bytes, as the host would store it), the largest
history of any orchestration of the run, the sub-orchestrations, and the time spent replaying (every episode of every
orchestration: the context JSON made and the orchestrator run over it), also per resource. The goal is a history
under a fixed bound and replay time per resource at 20,000 within 2x that at 1,000. Replay time is the
replaying threads' own CPU time (time.thread_time), so orchestrations replayed side by side do not inflate it;
every size but the largest runs --repeats times and the run of the median replay is shown (how many episodes an
orchestration takes depends on how completions coincide, and a second of replay moved 1.2-3x between runs).

The orchestrators and the start_run, batch_resources and finish_run activities are the real ones, against Azurite;
each resource's backup is a stand-in that returns a result at once (what is measured is the orchestration, not Graph),
and so is discovery's Graph half: its keys are stored through the same use case the real activity calls.
`--before REV` also runs the orchestrators of blueprints/backup.py as of git revision REV (read with `git show`) for
comparison, with a discovery that returns the list inline as they expect (e.g. --before 046091d, the tree before
the list was stored).

    python -m bench.orchestration_history [--sizes 1000,20000] [--before REV] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine_facts, peak_rss_bytes

BATCH_SIZE, FANOUT_WIDTH = 50, 50


def _result(key: str) -> dict[str, Any]:
    return {"resource": key, "status": "succeeded", "items": 3, "bytes": 300, "removed": 0, "failed_items": 0}


def _old_orchestrators(rev: str, scratch: Path) -> dict[str, Any]:
    """backup_orchestrator and backup_batch as blueprints/backup.py had them at `rev`, loaded as a module apart."""
    source = subprocess.run(["git", "show", f"{rev}:blueprints/backup.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    path = scratch / "backup_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("bench_backup_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"backup_orchestrator": module.backup_orchestrator, "backup_batch": module.backup_batch}


def _discovery(keys: list[str], inline: bool) -> Callable[[dict], dict]:
    def discover(payload: dict) -> dict:
        if inline:  # what discover_resources returned before the list was stored
            return {"run_id": payload["run_id"], "resources": keys, "batch_size": BATCH_SIZE, "discovery_errors": {}}
        from blueprints.services import provider
        from core.backup import store_resource_list

        listed = store_resource_list(provider.get(), payload["run_id"], keys)
        return {"run_id": payload["run_id"], **listed, "discovery_errors": {}}

    return discover


def run_size(count: int, orchestrators: dict[str, Any] | None) -> dict[str, Any]:
    from devenv.durable_local import run_orchestration

    keys = [f"exchange:{n:08d}-0000-0000-0000-000000000000" for n in range(count)]  # user ids as long as GUIDs
    activities = {"discover_resources": _discovery(keys, orchestrators is not None),
                  "backup_resource": lambda payload: _result(payload["resource"])}  # fmt: skip
    started = time.perf_counter()
    result = run_orchestration("backup_orchestrator", {"trigger": "schedule"}, activities, max_parallel=4,
                               orchestrators=orchestrators, retry_delay_scale=0)  # fmt: skip
    wall = time.perf_counter() - started
    if result.runtime_status != "Completed" or result.output["resources"] != count:
        raise RuntimeError(f"the run of {count} resources did not complete: {result.error or result.output}")
    return {"resources": count, "wall_s": wall, "parent_events": len(result.history),
            "parent_history_bytes": result.history_bytes, "max_history_events": result.max_history,
            "max_history_bytes": result.max_history_bytes, "sub_orchestrations": result.sub_orchestrations,
            "episodes": result.episodes, "replay_s": result.replay_seconds,
            "parent_replay_s": result.own_replay_seconds,
            "replay_ms_per_resource": 1000 * result.replay_seconds / count}  # fmt: skip


def _median_run(count: int, orchestrators: dict[str, Any] | None, repeats: int, sizes: list[int]) -> dict[str, Any]:
    """The run of the median replay time per resource among `repeats` runs of `count` resources (the largest size
    runs once: its replay takes tens of seconds, a smaller one's about a second, which how completions coincide
    moves by half)."""
    runs = [run_size(count, orchestrators) for _ in range(repeats if count < max(sizes) else 1)]
    runs.sort(key=lambda run: run["replay_ms_per_resource"])
    median = dict(runs[len(runs) // 2])
    median["replays_ms_per_resource"] = [round(run["replay_ms_per_resource"], 3) for run in runs]
    return median


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from blueprints.services import provider
    from core.bootstrap import build_services
    from core.config import load_settings
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    sizes = [int(size) for size in args.sizes.split(",")]
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-history-")))
        sim = start_simulator(scratch / "sim", timeout=300.0, users=1, messages=0, contacts=0, events=0, tasks=0,
                              archive_messages=0, drive_files=0, sites=0)  # fmt: skip  # the sign-in only
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_BATCH_SIZE": str(BATCH_SIZE), "BACKUP_FANOUT_WIDTH": str(FANOUT_WIDTH)}  # fmt: skip
        services = build_services(load_settings(env))
        stack.callback(services.close)
        stack.enter_context(provider.override(services))
        before = _old_orchestrators(args.before, scratch) if args.before else None
        runs = {"after": [_median_run(size, None, args.repeats, sizes) for size in sizes]}
        if before is not None:
            runs["before"] = [_median_run(size, before, args.repeats, sizes) for size in sizes]
    return {"bench": "orchestration_history", "machine": machine_facts(), "batch_size": BATCH_SIZE,
            "fanout_width": FANOUT_WIDTH, "before_rev": args.before, "runs": runs,
            "peak_rss_mib": round(peak_rss_bytes() / 2**20, 1)}  # fmt: skip


def _others(run: dict[str, Any]) -> str:
    replays = run.get("replays_ms_per_resource", [])
    return f" (median of {', '.join(f'{r:.3f}' for r in replays)})" if len(replays) > 1 else ""


def print_report(report: dict[str, Any]) -> None:
    machine = report["machine"]
    print(f"orchestration history through the local Durable executor: batches of {report['batch_size']}, "
          f"fan-out width {report['fanout_width']}; {machine['cpus_usable']} CPUs, "
          f"load average {machine['load_avg_1m']}")  # fmt: skip
    header = ("tree", "resources", "parent events", "parent history bytes", "largest history (events, bytes)",
              "sub-orchestrations", "replay s (parent's)", "replay ms/resource", "wall s")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for tree, runs in report["runs"].items():
        name = tree if tree == "after" else f"before ({report['before_rev']})"
        for run in runs:
            largest = f"{run['max_history_events']}, {run['max_history_bytes']:,}"
            cells = (name, f"{run['resources']:,}", run["parent_events"], f"{run['parent_history_bytes']:,}", largest,
                     run["sub_orchestrations"], f"{run['replay_s']:.2f} ({run['parent_replay_s']:.2f})",
                     f"{run['replay_ms_per_resource']:.3f}" + _others(run),
                     f"{run['wall_s']:.1f}")  # fmt: skip
            print("| " + " | ".join(str(cell) for cell in cells) + " |")
    for tree, runs in report["runs"].items():
        if len(runs) >= 2:
            first, last = runs[0], runs[-1]
            ratio = last["replay_ms_per_resource"] / first["replay_ms_per_resource"]
            growth = last["parent_history_bytes"] / first["parent_history_bytes"]
            print(f"{tree}: replay per resource at {last['resources']:,} / at {first['resources']:,} = {ratio:.2f} "
                  f"(goal <= 2); parent history bytes x{growth:.2f} for x{last['resources'] / first['resources']:.0f} "
                  "resources")  # fmt: skip
    after = report["runs"]["after"]
    sizes = ", ".join(f"{r['parent_history_bytes']:,} at {r['resources']:,}" for r in after)
    ratio = after[-1]["replay_ms_per_resource"] / after[0]["replay_ms_per_resource"]
    print(f"SUMMARY parent history bytes {sizes} resources; replay per resource {ratio:.2f}x at "
          f"{after[-1]['resources']:,} vs {after[0]['resources']:,} (goal <= 2)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000", help="resource counts, comma-separated")
    parser.add_argument("--before", default="", help="also run the orchestrators of this git revision")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs of each size but the largest, the median's figures shown")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    report = run_bench(args)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
