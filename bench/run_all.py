"""`make bench`: every benchmark, one after another in one run, each in its own process, then their SUMMARY lines
side by side with the wall time each took and the whole run's (the issue 16 bound: 15 minutes on 2 cores).

Each benchmark prints its own tables as it goes; its last `SUMMARY ...` line is what this collects. A benchmark that
fails is reported with its exit code and the others still run; the exit code is then 1.

    python -m bench.run_all [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.common import ROOT, machine_facts

# (module, what it measures): the order `make bench` runs them in
BENCHES = (
    ("bench.mail_backup", "mail: full, no-change and small-change incrementals (requests per container)"),
    ("bench.file_backup", "OneDrive: small files, a 1 GiB file, the RU budget"),
    ("bench.restore_api", "restore and export through the API (2 restores per mode: the longest bench)"),
    ("bench.restore_requests", "Graph requests per restored message"),
    ("bench.coverage_backup", "the other categories' backups"),
    ("bench.content_format", "compression and encryption cost"),
    ("bench.orchestration_history", "Durable history at 1,000 and 20,000 resources"),
    ("bench.incremental_memory", "incremental peak RSS at two mailbox sizes"),
    ("bench.scaling", "1/5/20/50 mailboxes, worker processes, the Corso policy"),
)
BOUND_S = 15 * 60
ARGS = {"bench.restore_api": ("--repeat", "2")}  # its default of 3 took ~6 of make bench's minutes


def run_one(module: str) -> tuple[int, float, str]:
    """Run `python -m module`, its output passed through; (exit code, wall seconds, its last SUMMARY line)."""
    started = time.monotonic()
    command = [sys.executable, "-m", module, *ARGS.get(module, ())]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    summary = ""
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("SUMMARY"):
            summary = line.strip()
    code = process.wait()
    return code, time.monotonic() - started, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=[m.rpartition(".")[2] for m, _ in BENCHES],
                        help="run only this benchmark (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    chosen = [(m, what) for m, what in BENCHES if not args.only or m.rpartition(".")[2] in args.only]
    facts = machine_facts()
    started = time.monotonic()
    results = []
    for module, what in chosen:
        print(f"\n===== {module}: {what}", flush=True)
        results.append((module, *run_one(module)))
    total = time.monotonic() - started
    print("\n===== all benchmarks, one run")
    print(f"machine: {facts['cpu_count']} CPUs ({facts['cpus_usable']} usable), load average {facts['load_avg_1m']} "
          f"at start, {os.getloadavg()[0]:.2f} at end")  # fmt: skip
    for module, code, wall, summary in results:
        status = "" if code == 0 else f" FAILED (exit {code})"
        print(f"{module.rpartition('.')[2]:<22} {wall:>7.0f} s{status}  {summary.removeprefix('SUMMARY ')}")
    bound = "within" if total <= BOUND_S else "OVER"
    print(f"whole bench {total:.0f} s ({total / 60:.1f} min): {bound} the {BOUND_S // 60}-minute bound")
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
