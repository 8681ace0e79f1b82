"""Scaling benchmark: mail backup of 1, 5, 20 and 50 mailboxes of small messages in one simulated tenant (graphsim
over loopback HTTPS, 100 ms latency per request, Outlook's 4 concurrent requests per mailbox), side by side in one
run, against the same engine under Corso's policy in the same run and tenant.

- ours: core's runner as `python -m core backup` runs it, with its machine defaults (BACKUP_LOCAL_CONCURRENCY: 25
  mailboxes per CPU in flight; BACKUP_LOCAL_PROCESSES: one worker process per CPU, each owning whole mailboxes, once
  the mailboxes are more than are in flight at once, else the runner's threads), and again at --other-processes-at
  with the other choice (one process per CPU where the default is threads, threads where it is processes), to show
  what the processes cost or buy.
- Corso's policy: one global limiter of 16 requests/s (one request every 1/16 s, for every request of the run) and
  resources backed up one after another. Its rate does not depend on the number of mailboxes (one at a time), so it
  is measured once, on --corso-mailboxes of them, and every row's ratio is to that figure.

Ratios, all from this one run: to the per-mailbox ceiling (mailboxes × 4 concurrent requests ÷ latency: what
Outlook's limit allows at that latency, against the requests Graph counts: each inside a $batch is one, as Outlook
runs them 4 at a time; goal ≥ 0.9 for one mailbox, measured on one mailbox of --ceiling-messages in a tenant of its
own, where a mailbox's few fixed requests weigh as little as in a real one) and to the Corso policy's requests/s
(goal ≥ 25× at 50 mailboxes). Every step runs in its own child process on fresh storage; CPU per message is summed
over that child and its worker processes (their start-up included); peak RSS is each process's own VmHWM. Before
the measured steps, 20 mailboxes are backed up once on storage of their own and not measured: the servers warmed,
as a service in Azure is (Node compiles Azurite's handlers as they are first used). Azurite's CPU for the same 50
mailboxes still moves 3-7 s between runs on this machine.

    python -m bench.scaling [--mailboxes 1,5,20,50] [--messages 20] [--latency-ms 100] [--corso-mailboxes 2]
                            [--other-processes-at 50] [--ceiling-messages 1000] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.common import MB, ROOT, WORKER_TIMEOUT, machine_facts, peak_rss_bytes, server_phase

CORSO_REQUESTS_PER_S = 16.0  # Corso's Graph rate limiter: one global budget for every request of a run
WARM_UP_MAILBOXES = 20  # backed up once before the measured steps, on storage of their own
MAILBOX_CONCURRENCY = 4  # Outlook: 4 concurrent requests per mailbox (the simulator enforces it)


class PacedTransport(httpx.BaseTransport):
    """Corso's policy as a transport: every request of the process waits for its slot, `per_second` of them a
    second, whatever mailbox it is for (a bench-only stand-in: the product paces per mailbox, core/graph/)."""

    def __init__(self, inner: httpx.BaseTransport, per_second: float) -> None:
        self._inner, self._gap = inner, 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._gap
        if slot > now:
            time.sleep(slot - now)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# --- the worker: one backup run in this process (and its worker processes) ----------------------------------------
def worker(config_path: Path, result_path: Path) -> int:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.graph.auth import TokenProvider
    from core.graph.client import GraphClient
    from core.graph.transports import graph_transport
    from core.runner import run_backup

    config = json.loads(config_path.read_text())
    settings = load_settings(config["env"])
    services = build_services(settings)
    if config["corso"]:
        services.graph.close()
        paced = PacedTransport(graph_transport(settings), CORSO_REQUESTS_PER_S)
        services.graph = GraphClient(settings, TokenProvider(settings), transport=paced)
    figures: list[dict[str, Any]] = []
    try:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        summary = run_backup(services, resources=config["resources"], trigger="bench", on_workers=figures.extend)
        wall = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        graph = services.graph.stats()
    finally:
        services.close()
    result = {
        "wall_s": wall,
        "summary": {k: v for k, v in summary.items() if k != "results"},
        "statuses": sorted({r["status"] for r in summary["results"]}),
        "processes": len(figures) or 1,
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "workers_cpu_s": sum(f["cpu_s"] for f in figures),
        "peak_rss_bytes": peak_rss_bytes(),  # VmHWM of this process (the runner, which records the run)
        "workers_peak_rss_bytes": max((f["peak_rss_bytes"] for f in figures), default=0),
        "retries": graph.get("retries", 0) + sum(f["graph"].get("retries", 0) for f in figures),
    }
    result_path.write_text(json.dumps(result))
    return 0


def run_worker(env: dict[str, str], config: dict[str, Any], scratch: Path, name: str) -> dict[str, Any]:
    config_path, out = scratch / f"{name}.config.json", scratch / f"{name}.result.json"
    config_path.write_text(json.dumps({"env": env, **config}))
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "bench.scaling", "--worker", str(config_path), str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=child_env, timeout=WORKER_TIMEOUT, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"benchmark worker '{name}' failed (exit code {done.returncode})")
    return json.loads(out.read_text())


# --- the driver ----------------------------------------------------------------------------------------------------
def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.config import load_settings, usable_cpus
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    bench_started = time.perf_counter()
    largest = max(args.mailboxes)
    report: dict[str, Any] = {
        "machine": machine_facts(),
        "tenant": {"messages_per_mailbox": args.messages, "latency_ms": args.latency_ms, "seed": args.seed},
        "steps": [],
    }
    with tempfile.TemporaryDirectory(prefix="m365scale-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sim = start_simulator(
            scratch / "sim", timeout=300.0, users=largest + 1, messages=args.messages, seed=args.seed,
            latency_ms=args.latency_ms, mailbox_concurrency=MAILBOX_CONCURRENCY, rate_limit=None, contacts=0,
            events=0, tasks=0, archive_messages=0,
        )  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        mailboxes = [u for u in sim.control.state()["users"] if u["has_mailbox"]]
        if len(mailboxes) < largest:
            raise RuntimeError(f"the simulated tenant has {len(mailboxes)} mailboxes, fewer than {largest}")
        keys = [f"exchange:{u['id']}" for u in mailboxes]
        machine = load_settings(
            {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string, **args.settings}
        )
        from core.resource_processes import worker_processes

        processes = {n: worker_processes(machine, n) for n in args.mailboxes}
        report["engine"] = {"processes": processes, "concurrency": machine.local_concurrency}

        def step(name: str, count: int, settings: dict[str, str], corso: bool = False, tenant: Any = sim,
                 resources: list[str] = keys) -> dict[str, Any]:  # fmt: skip
            suffix = uuid.uuid4().hex[:10]  # fresh storage: a container and tables of its own
            env = {**tenant.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
                   "BACKUP_CONTAINER": f"scale{suffix}", "BACKUP_TABLE_PREFIX": f"s{suffix}", **settings}  # fmt: skip
            config = {"resources": resources[:count], "corso": corso}
            result = server_phase(tenant, azurite, lambda: run_worker(env, config, scratch, name))
            result.update(name=name, mailboxes=count, corso=corso)
            print(f"  {name}: {_figures(result, args)['line']}", file=sys.stderr, flush=True)
            return result

        # not measured: the servers' start (Node compiles Azurite's handlers as they are first used, the
        # simulator's code and caches too) is not theirs to pay in a step; a service in Azure is warm
        step("warm-up", min(WARM_UP_MAILBOXES, largest), {})
        corso = step("corso", args.corso_mailboxes, {"BACKUP_LOCAL_PROCESSES": "1", "BACKUP_LOCAL_CONCURRENCY": "1"},
                     corso=True)  # fmt: skip
        report["corso"] = corso
        for count in args.mailboxes:
            report["steps"].append(step(f"ours-{count}", count, dict(args.settings)))  # the machine's defaults
            if count in args.other_processes_at and min(usable_cpus(), count) > 1:
                other = "1" if processes[count] > 1 else str(usable_cpus())
                name = "one-process" if other == "1" else "processes"
                settings = {**args.settings, "BACKUP_LOCAL_PROCESSES": other}
                report["steps"].append(step(f"{name}-{count}", count, settings))
        if args.ceiling_messages:  # one mailbox of a real size, in a tenant of its own
            big = start_simulator(
                scratch / "sim-one", timeout=300.0, users=1, messages=args.ceiling_messages, seed=args.seed,
                latency_ms=args.latency_ms, mailbox_concurrency=MAILBOX_CONCURRENCY, rate_limit=None, contacts=0,
                events=0, tasks=0, archive_messages=0,
            )  # fmt: skip
            try:
                one = [f"exchange:{u['id']}" for u in big.control.state()["users"] if u["has_mailbox"]]
                report["one_mailbox"] = step("one-mailbox", 1, {}, tenant=big, resources=one)
            finally:
                big.stop()
    report["bench_s"] = time.perf_counter() - bench_started
    report["load_avg_end"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return report


# --- output -------------------------------------------------------------------------------------------------------
def _figures(r: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    items, wall, requests, counted = r["summary"]["items"], r["wall_s"], r["requests"], r["counted"]
    ceiling = r["mailboxes"] * MAILBOX_CONCURRENCY / (args.latency_ms / 1000.0)  # requests/s Outlook's limit allows
    cpu = r["cpu_s"] + r["workers_cpu_s"]
    figures = {
        "msgs_per_s": items / wall if wall else 0.0,
        "req_per_s": requests / wall if wall else 0.0,
        "cpu_ms_per_msg": 1000.0 * cpu / max(items, 1),
        "cores": cpu / wall if wall else 0.0,  # CPUs the engine's processes kept busy (the servers not counted)
        "ceiling_req_per_s": ceiling,
        "counted_per_s": counted / wall if wall else 0.0,
        "x_ceiling": (counted / wall) / ceiling if wall else 0.0,  # what Outlook runs: a batch's requests each
    }
    figures["line"] = (
        f"{r['mailboxes']} mailboxes, {r['processes']} process(es): {wall:.1f} s, {items} msgs, "
        f"{figures['msgs_per_s']:.0f} msgs/s, {figures['req_per_s']:.0f} req/s ({figures['counted_per_s']:.0f} "
        f"counted by Graph), {figures['x_ceiling']:.2f}x ceiling"
    )
    return figures


def derive(report: dict[str, Any], args: argparse.Namespace) -> None:
    corso = report["corso"]
    corso.update(_figures(corso, args))
    if "one_mailbox" in report:
        report["one_mailbox"].update(_figures(report["one_mailbox"], args))
    for r in report["steps"]:
        r.update(_figures(r, args))
        r["x_corso"] = r["req_per_s"] / corso["req_per_s"] if corso["req_per_s"] else 0.0
        r["x_corso_msgs"] = r["msgs_per_s"] / corso["msgs_per_s"] if corso["msgs_per_s"] else 0.0
        r["x_corso_cap"] = r["req_per_s"] / CORSO_REQUESTS_PER_S  # to the most its limiter lets through


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    m, t, e, corso = report["machine"], report["tenant"], report["engine"], report["corso"]
    lines = [
        f"scaling benchmark: mailboxes of {t['messages_per_mailbox']} messages, {t['latency_ms']:g} ms latency per "
        f"request, simulator allows {MAILBOX_CONCURRENCY} concurrent requests per mailbox; one run, one tenant",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, load avg {m['load_avg_1m']} at "
        f"start; engine defaults here: {e['concurrency']} mailboxes in flight, worker processes by mailboxes "
        f"{e['processes']}",
        f"Corso policy: {CORSO_REQUESTS_PER_S:g} req/s global limiter, mailboxes one after another, measured on "
        f"{corso['mailboxes']} mailboxes: {corso['msgs_per_s']:.1f} msgs/s, {corso['req_per_s']:.1f} req/s",
        "ceiling: mailboxes x 4 concurrent requests / latency; CPU ms/msg and cores: runner + worker processes "
        "(start-up included; simulator and Azurite below); x 16/s: to Corso's limit itself; RSS: each process's VmHWM",
        "",
    ]
    header = (
        f"{'mailboxes':>9} {'processes':>9} {'wall s':>8} {'msgs':>6} {'msgs/s':>8} {'req/s':>7} {'CPU ms/msg':>11}"
        f" {'cores':>6} {'x ceiling':>10} {'x Corso':>8} {'x 16/s':>7} {'429':>5} {'RSS MB runner/worker':>21}"
    )
    lines += [header, "-" * len(header)]
    for r in [corso, *report["steps"]]:
        x_corso = "(base)" if r is corso else f"{r['x_corso']:.1f}"
        x_cap = f"{r['req_per_s'] / CORSO_REQUESTS_PER_S:.1f}"
        workers = f"{r['workers_peak_rss_bytes'] / MB:.0f}" if r["workers_peak_rss_bytes"] else "-"
        label = f"{r['mailboxes']}" + (" Corso" if r is corso else "")
        lines.append(
            f"{label:>9} {r['processes']:>9} {r['wall_s']:>8.1f} {r['summary']['items']:>6} {r['msgs_per_s']:>8.1f}"
            f" {r['req_per_s']:>7.1f} {r['cpu_ms_per_msg']:>11.1f} {r['cores']:>6.2f} {r['x_ceiling']:>10.2f}"
            f" {x_corso:>8} {x_cap:>7}"
            f" {r['sim']['answered_429']:>5} {r['peak_rss_bytes'] / MB:>12.0f}/{workers:<8}"
        )
    lines.append("")
    for r in [corso, *report["steps"]]:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["server_cpu_s"].items() if v is not None)
        lines.append(
            f"{r['name']}: statuses {','.join(r['statuses'])}; requests {r['requests']} ({r['retries']} retries); "
            f"CPU s runner {r['cpu_s']:.1f} + workers {r['workers_cpu_s']:.1f}; servers {cpu}"
        )
    ours = {r["mailboxes"]: r for r in report["steps"] if r["name"].startswith("ours-")}
    largest, smallest = ours[max(ours)], ours[min(ours)]
    one = report.get("one_mailbox")
    if one is not None:
        lines.append(
            f"one mailbox of {one['summary']['items']} messages (a tenant of its own): {one['wall_s']:.1f} s, "
            f"{one['msgs_per_s']:.1f} msgs/s, {one['counted']} requests counted by Graph ({one['requests']} HTTP), "
            f"{one['counted_per_s']:.1f} req/s of the ceiling's {one['ceiling_req_per_s']:.0f}: "
            f"{one['x_ceiling']:.2f}x ceiling; {one['sim']['answered_429']} answered 429"
        )
    ceiling = one if one is not None else smallest
    others = [r for r in report["steps"] if r["mailboxes"] == max(ours) and not r["name"].startswith("ours-")]
    other = others[0] if others else None
    other_line = "" if other is None else f" ({other['processes']} processes: {other['msgs_per_s']:.0f} msgs/s)"
    lines += [
        f"whole bench {report['bench_s']:.0f} s",
        "",
        f"SUMMARY 1 mailbox of {ceiling['summary']['items']} msgs: {ceiling['x_ceiling']:.2f}x ceiling (goal >= 0.9) | "
        f"{max(ours)} mailboxes: "
        f"{largest['msgs_per_s']:.0f} msgs/s, {largest['req_per_s']:.0f} req/s, {largest['x_corso']:.1f}x Corso policy "
        f"by req/s, {largest['x_corso_msgs']:.1f}x by msgs/s (goal >= 25; {largest['x_corso_cap']:.1f}x its 16 req/s "
        f"cap), {largest['x_ceiling']:.2f}x ceiling, "
        f"{largest['cpu_ms_per_msg']:.1f} CPU ms/msg, {largest['processes']} processes{other_line} | load avg "
        f"{m['load_avg_1m']} at start, {report['load_avg_end']} at end",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mailboxes", default="1,5,20,50", help="comma-separated mailbox counts, one step each")
    parser.add_argument("--messages", type=int, default=20, help="messages per mailbox")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="latency the simulator adds to each request")
    parser.add_argument("--corso-mailboxes", type=int, default=2, help="mailboxes the Corso-policy baseline backs up")
    parser.add_argument("--other-processes-at", default="50",
                        help="mailbox counts also run with the other process choice (threads where the default is "
                             "processes, one process per CPU where it is threads); '' for none")  # fmt: skip
    parser.add_argument("--ceiling-messages", type=int, default=1000,
                        help="messages of the one mailbox measured against its ceiling (0: none)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the engine's steps (not Corso's), over the machine's defaults; repeatable",
    )
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.mailboxes = sorted({int(n) for n in args.mailboxes.split(",") if n.strip()})
        args.other_processes_at = {int(n) for n in args.other_processes_at.split(",") if n.strip()}
    except ValueError:
        parser.error("--mailboxes takes comma-separated integers")
    if not args.mailboxes or min(args.mailboxes) < 1 or args.messages < 1 or args.corso_mailboxes < 1:
        parser.error("--mailboxes, --messages and --corso-mailboxes must be >= 1")
    if any("=" not in s for s in args.setting):
        parser.error("--setting takes NAME=VALUE")
    args.settings = dict(s.split("=", 1) for s in args.setting)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(Path(args.worker[0]), Path(args.worker[1]))
    report = run_bench(args)
    derive(report, args)
    print(json.dumps(report, indent=2) if args.json else render(report, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
