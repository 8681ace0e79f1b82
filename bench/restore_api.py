"""Restore API benchmark: the real restore API (devenv.api_server: FastAPI under uvicorn, the real orchestrators run by
the local Durable runner) over HTTP, against Azurite and the Graph simulator (injected latency, Outlook's 4 concurrent
requests per mailbox), with core's services built from the environment as in Azure. One mailbox is backed up (in
this process), then each phase talks to an API server in its own child process (`--serve CONFIG`; its RSS is read
from /proc): 1. restore fan-out: the whole mailbox into a new folder of another mailbox (POST /api/v1/restores, then
polling its status), with the default part size (parts in parallel) and in one part, interleaved, --repeat times each
on fresh servers; the restored messages must be the originals (by internetMessageId and subject, each in its folder
below the new one; none a draft: core restores drafts as sent items too) and a sample of them, as Graph reports them,
equal to their originals (devenv.message_fidelity: properties, attachments, headers; not bytes: the restore creates
messages from JSON); 2. search
latency: first pages of /resources/{r}/items?page_size=100, every page of walks through all results,
/resources/{r}/tree at the root;
3. export: the mailbox as a zip (/resources/{r}/export), MB/s and the server's peak RSS increase over it.

    python -m bench.restore_api [--messages 1000] [--latency-ms 20] [--repeat 3] [--samples 30] [--verify 24] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, graph_requests, machine_facts, process_cpu_s
from bench.restore_checks import verify_restore

MB = 1024 * 1024
AUDIENCE = "api://m365-backup-api"
OPERATOR_OID = "00000000-0000-0000-0000-00000000000b"
ONE_PART = 100_000  # items per part: the whole mailbox in one part
POLL_S = 0.2  # status polling interval (wall times are this coarse)
RESTORE_TIMEOUT = 1800.0
MODES = {"parts": None, "one part": ONE_PART}  # restore_part_size of the server: None = the planner's default
VERIFY_SAMPLE = 24  # restored messages compared with their originals property by property, per restore


# --- the server child ----------------------------------------------------------------------------------------------
def serve(config_path: Path) -> int:
    """Serve the API with core's services built from the configured environment until stdin closes."""
    config = json.loads(config_path.read_text())
    os.environ.update(config["env"])
    from devenv.api_server import ApiServer

    server = ApiServer()
    server.orchestrations.restore_part_size = config.get("part_size")
    server.start()
    partial = Path(config["ready"] + ".tmp")
    partial.write_text(json.dumps({"url": server.url, "pid": os.getpid()}))
    partial.rename(config["ready"])  # atomically: the driver polls for the file
    sys.stdin.read()  # the driver closes our stdin to stop us
    server.stop()
    return 0


class Server:
    """The API server child process; RSS and CPU figures come from /proc/<pid>."""

    def __init__(self, env: dict[str, str], scratch: Path, name: str, part_size: int | None = None) -> None:
        self.config_path, self.ready = scratch / f"{name}.server.json", scratch / f"{name}.ready.json"
        self.config_path.write_text(json.dumps({"env": env, "part_size": part_size, "ready": str(self.ready)}))
        self.ready.unlink(missing_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.url, self.peak_resettable = "", True

    def __enter__(self) -> Server:
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
        cmd = [sys.executable, "-m", "bench.restore_api", "--serve", str(self.config_path)]
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=child_env, stdin=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the API server child did not start (exit code {self.process.returncode})")
            time.sleep(0.05)
        self.url = json.loads(self.ready.read_text())["url"]
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(120)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            self.process.kill()  # type: ignore[union-attr]
            self.process.wait()  # type: ignore[union-attr]

    def rss(self) -> tuple[int, int]:
        """(current, peak) resident set in bytes (VmRSS, VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()  # type: ignore[union-attr]
        return tuple(int(re.search(rf"^{k}:\s+(\d+) kB", status, re.M)[1]) * 1024 for k in ("VmRSS", "VmHWM"))

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux >= 4.0); if not allowed, peaks stay the process's lifetime peak."""
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # type: ignore[union-attr]
        except OSError:
            self.peak_resettable = False

    def cpu_s(self) -> float:
        return process_cpu_s(self.process.pid) or 0.0  # type: ignore[union-attr]

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=300)


# --- the phases ----------------------------------------------------------------------------------------------------
def restore_run(ctx: dict[str, Any], mode: str, run: int) -> dict[str, Any]:
    """One whole-mailbox restore into a new folder of the other mailbox on a fresh server, verified (verify_restore)."""
    sim, source, target, name = ctx["sim"], ctx["source"], ctx["target"], f"bench {mode} {run}"
    body = {"resource": f"exchange:{source}", "whole": True, "destination": "new-folder", "destination_name": name,
            "target_resource": f"exchange:{target}"}  # fmt: skip
    server = Server(ctx["env"], ctx["scratch"], f"restore-{run}-{mode.replace(' ', '-')}", MODES[mode])
    with server, server.client(ctx["token"]) as client:
        client.get("/api/v1/me").raise_for_status()  # warm: token validation keys fetched, services built
        rss_ready = server.rss()[0]
        sim.control.reset_stats()  # Graph requests counted from here: the restore's own
        cpu0, t0 = server.cpu_s(), time.perf_counter()
        accepted = client.post("/api/v1/restores", json=body)
        if accepted.status_code != 202:
            raise RuntimeError(f"restore not accepted: {accepted.status_code} {accepted.text}")
        status_url = accepted.json()["status_url"]
        while True:
            job = client.get(status_url).raise_for_status().json()
            if job["status"] not in ("accepted", "running"):
                break
            if time.perf_counter() - t0 > RESTORE_TIMEOUT:
                raise TimeoutError(f"restore still {job['status']} after {RESTORE_TIMEOUT} s")
            time.sleep(POLL_S)
        wall, cpu, stats, peak = time.perf_counter() - t0, server.cpu_s() - cpu0, sim.control.stats(), server.rss()[1]
    if job["status"] != "succeeded":
        raise RuntimeError(f"restore '{name}' ended {job['status']}: {json.dumps(job)[:2000]}")
    landed = verify_restore(ctx, name, job)
    entry = statistics.mean(len(json.dumps(i)) for i in job["items"]) if job["items"] else 0.0
    return {"mode": mode, "wall_s": wall, "restored": landed, "status": job["status"], "item_chars": entry,
            "parts": int(job["progress"]["parts"]), "requests": graph_requests(stats),
            "by_kind": {k: v for k, v in stats["by_kind"].items() if v}, "answered_429": stats["answered_429"],
            "max_in_flight": max(stats["max_in_flight"].values(), default=0), "server_cpu_s": cpu,
            "rss_ready_bytes": rss_ready, "peak_rss_bytes": peak}  # fmt: skip


def timed_get(client: httpx.Client, url: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    body = client.get(url, params=params).raise_for_status().json()
    return time.perf_counter() - t0, body


def browse_and_export(ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Search, tree and export latencies against one server."""
    resource = f"exchange:{ctx['source']}"
    items_url, tree_url = f"/api/v1/resources/{resource}/items", f"/api/v1/resources/{resource}/tree"
    result: dict[str, Any] = {"first_page_s": [], "walk_page_s": [], "walk_s": [], "tree_s": [], "exports": []}
    with Server(ctx["env"], ctx["scratch"], "browse") as server, server.client(ctx["token"]) as client:
        client.get("/api/v1/me").raise_for_status()
        timed_get(client, items_url, {"page_size": 100})  # warm-up, not counted
        for _ in range(args.samples):
            result["first_page_s"].append(timed_get(client, items_url, {"page_size": 100})[0])
        for _ in range(args.walks):
            t0, seen, params = time.perf_counter(), 0, {"page_size": 100}
            while True:
                took, page = timed_get(client, items_url, params)
                result["walk_page_s"].append(took)
                seen += len(page["items"])
                if not page.get("continuation"):
                    break
                params = {"page_size": 100, "continuation": page["continuation"]}
            result["walk_s"].append(time.perf_counter() - t0)
            if seen != ctx["backed_up"]:
                raise RuntimeError(f"walking the search found {seen} items, the backup holds {ctx['backed_up']}")
        result["walk_items"] = seen
        for _ in range(args.samples):
            took, tree = timed_get(client, tree_url, {})
            result["tree_s"].append(took)
        result["tree_entries"] = ", ".join(f"{len(v)} {k}" for k, v in tree.items() if isinstance(v, list))

        for n in range(args.repeat):
            target = ctx["scratch"] / f"export-{n}.zip"
            rss_before = server.rss()[0]
            server.reset_peak()
            t0, size = time.perf_counter(), 0
            with client.stream("GET", f"/api/v1/resources/{resource}/export") as response, target.open("wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes(256 * 1024):
                    out.write(chunk)
                    size += len(chunk)
            wall = time.perf_counter() - t0
            peak = server.rss()[1]
            with zipfile.ZipFile(target) as archive:  # a valid zip with one .eml per message
                entries = archive.infolist()
            eml, content = sum(e.filename.endswith(".eml") for e in entries), sum(e.file_size for e in entries)
            target.unlink()
            if eml != ctx["backed_up"]:
                raise RuntimeError(f"the export holds {eml} .eml files, the backup {ctx['backed_up']} messages")
            result["exports"].append({"wall_s": wall, "bytes": size, "content_bytes": content, "entries": len(entries),
                                      "eml": eml, "rss_before_bytes": rss_before, "peak_rss_bytes": peak})  # fmt: skip
        result["peak_resettable"] = server.peak_resettable
    return result


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine_facts(), "setup": {"messages": args.messages,
                              "latency_ms": args.latency_ms, "repeat": args.repeat, "seed": args.seed,
                              "verify": args.verify}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="m365bench-api-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sim = start_simulator(scratch / "sim", timeout=300.0, users=2, messages=args.messages, seed=args.seed,
                              latency_ms=args.latency_ms, mailbox_concurrency=4, rate_limit=None, contacts=0,
                              events=0, tasks=0, drive_files=0, sites=0, archive_messages=0)  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        source, target = (u["id"] for u in sim.control.mailbox_users()[:2])
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_WORKLOADS": "exchange", "API_AUDIENCE": AUDIENCE}  # fmt: skip
        report["servers_start_s"] = time.perf_counter() - started

        services, t0 = build_services(load_settings(env)), time.perf_counter()
        stack.callback(services.close)  # its Graph client also reads messages back to verify restores
        summary = run_backup(services, resources=[f"exchange:{source}"], trigger="bench")
        report["backup_s"] = time.perf_counter() - t0
        if summary.get("status") != "succeeded":
            raise RuntimeError(f"the backup did not succeed: {summary}")
        messages = next(u for u in sim.control.state()["users"] if u["id"] == source)["messages"]
        report["mailbox"] = {"messages": len(messages), "backed_up": int(summary["items"]),
                             "mime_bytes": sum(m["size"] for m in messages),
                             "folders": len({m["folder_path"] for m in messages})}  # fmt: skip
        token = sim.control.api_token(oid=OPERATOR_OID, name="helpdesk@contoso.test", roles=["Restore.Operator"],
                                      audience=AUDIENCE)  # fmt: skip
        ctx = {"sim": sim, "env": env, "scratch": scratch, "source": source, "target": target, "token": token,
               "originals": messages, "backed_up": len(messages), "graph": services.graph,
               "verify": args.verify}  # fmt: skip

        runs: list[dict[str, Any]] = []
        for n in range(args.repeat):  # interleaved, alternating which goes first, so drifting load hits both
            order = list(MODES) if n % 2 == 0 else list(reversed(MODES))
            runs += [restore_run(ctx, mode, n + 1) for mode in order]
        report["restores"] = runs
        report["browse"] = browse_and_export(ctx, args)
    report["bench_s"] = time.perf_counter() - started
    return report


# --- output --------------------------------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    return sorted(values)[round(q * (len(values) - 1))]  # nearest rank


def derive(report: dict[str, Any]) -> dict[str, Any]:
    """Headline figures (medians), also added to --json output."""
    out: dict[str, Any] = {}
    for mode in MODES:
        runs = [r for r in report["restores"] if r["mode"] == mode]
        out[mode] = {"wall_s": statistics.median(r["wall_s"] for r in runs),
                     "messages_per_s": statistics.median(r["restored"] / r["wall_s"] for r in runs),
                     "requests_per_message": statistics.median(r["requests"] / max(r["restored"], 1) for r in runs),
                     "peak_rss_mb": max(r["peak_rss_bytes"] for r in runs) / MB}  # fmt: skip
    pairs = zip(*([r for r in report["restores"] if r["mode"] == m] for m in MODES), strict=True)
    out["speedup"] = statistics.median(b["wall_s"] / a["wall_s"] for a, b in pairs)  # one part wall / parts wall
    b = report["browse"]
    out["latency_ms"] = {k: {"median": statistics.median(b[k]) * 1000, "p95": _pct(b[k], 0.95) * 1000,
                             "max": max(b[k]) * 1000, "n": len(b[k])}
                         for k in ("first_page_s", "walk_page_s", "walk_s", "tree_s")}  # fmt: skip
    ex = b["exports"]
    out["export_mb_per_s"] = statistics.median(e["bytes"] / MB / e["wall_s"] for e in ex)
    out["export_rss_increase_mb"] = max(e["peak_rss_bytes"] - e["rss_before_bytes"] for e in ex) / MB
    return out


def _range(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def render(report: dict[str, Any]) -> str:
    m, s, mb, d, b = report["machine"], report["setup"], report["mailbox"], report["derived"], report["browse"]
    lines = [
        f"restore API benchmark: one mailbox of {mb['messages']:,} messages ({mb['mime_bytes'] / MB:.1f} MB MIME, "
        f"{mb['folders']} folders with mail) backed up in {report['backup_s']:.1f} s; {s['latency_ms']:g} ms latency "
        f"per Graph request, 4 concurrent requests per mailbox",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}, "
        f"load avg {m['load_avg_1m']} at start",
        "server: devenv.api_server (uvicorn + local Durable runner, 4 activities at a time) in a child process per "
        "restore run (one more for search/export); RSS from its /proc status; simulator and Azurite not counted",
        f"restore: whole mailbox -> new folder of another mailbox, conflict 'skip'; status polled every {POLL_S} s; "
        f"{s['repeat']} runs per mode, interleaved; every restored message matched to its original (folder, "
        f"internetMessageId, subject; drafts only where the original was one), {s['verify']} per restore compared "
        "property by property",
        "",
    ]
    header = (f"{'restore':<10}{'wall s':>20}{'msgs/s':>14}{'parts':>6}{'requests':>9}{'req/msg':>8}{'429':>5}"
              f"{'max infl':>9}{'CPU s':>7}{'CPU %':>6}{'RSS ready':>10}{'peak RSS':>9}")  # fmt: skip
    lines += [header, "-" * len(header)]
    for mode in MODES:
        runs = [r for r in report["restores"] if r["mode"] == mode]
        r = sorted(runs, key=lambda x: x["wall_s"])[len(runs) // 2]  # the median run, for counts
        lines.append(
            f"{mode:<10}{_range([x['wall_s'] for x in runs], '.1f'):>20}"
            f"{_range([x['restored'] / x['wall_s'] for x in runs], '.0f'):>14}{r['parts']:>6}{r['requests']:>9,}"
            f"{r['requests'] / max(r['restored'], 1):>8.2f}{max(x['answered_429'] for x in runs):>5}"
            f"{r['max_in_flight']:>9}{r['server_cpu_s']:>7.1f}{100 * r['server_cpu_s'] / r['wall_s']:>6.0f}"
            f"{r['rss_ready_bytes'] / MB:>10.0f}{max(x['peak_rss_bytes'] for x in runs) / MB:>9.0f}"
        )
    first, runs = report["restores"][0], report["restores"]
    chars = max(r["item_chars"] for r in runs)
    lines += [
        f"one part / parts wall (median of same-repeat pairs): {d['speedup']:.2f}x; requests by kind (run 1, "
        f"{first['mode']}): " + " ".join(f"{k}={v}" for k, v in first["by_kind"].items() if k != "token"),
        "restored and verified against the originals: "
        + ", ".join(f"{r['restored']} ({r['mode']}, job {r['status']})" for r in runs),
        f"every job succeeded; a restored item's status entry is ~{chars:.0f} JSON characters",
        "",
        f"{'request':<40}{'n':>5}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}",
        "-" * 74,
    ]
    names = {"first_page_s": "items?page_size=100, first page", "walk_page_s": "items, every page of a full walk",
             "walk_s": f"items, full walk ({b['walk_items']:,} items)",
             "tree_s": f"tree, root ({b['tree_entries']})"}  # fmt: skip
    for key, label in names.items():
        q = d["latency_ms"][key]
        lines.append(f"{label:<40}{q['n']:>5}{q['median']:>11.1f}{q['p95']:>9.1f}{q['max']:>9.1f}")
    ex, e0 = b["exports"], b["exports"][0]
    lines += [
        "",
        f"export zip: {e0['bytes'] / MB:.2f} MB ({e0['eml']:,} .eml, {e0['content_bytes'] / MB:.2f} MB uncompressed), "
        f"wall {_range([e['wall_s'] for e in ex], '.2f')} s, "
        f"{_range([e['bytes'] / MB / e['wall_s'] for e in ex], '.2f')} MB/s; server RSS before "
        f"{_range([e['rss_before_bytes'] / MB for e in ex], '.0f')} MB, peak increase "
        f"{_range([(e['peak_rss_bytes'] - e['rss_before_bytes']) / MB for e in ex], '.1f')} MB"
        + ("" if b["peak_resettable"] else " (VmHWM not resettable: lifetime peak)"),
        f"servers start {report['servers_start_s']:.1f} s; whole bench {report['bench_s']:.1f} s",
        "",
        f"SUMMARY restore {mb['messages']:,} msgs: parts {d['parts']['wall_s']:.1f} s "
        f"({d['parts']['messages_per_s']:.0f} msg/s), one part {d['one part']['wall_s']:.1f} s "
        f"({d['one part']['messages_per_s']:.0f} msg/s), {d['speedup']:.2f}x; {d['parts']['requests_per_message']:.2f} "
        f"req/msg; peak RSS {d['parts']['peak_rss_mb']:.0f} MB | search first page p50 "
        f"{d['latency_ms']['first_page_s']['median']:.0f} ms p95 {d['latency_ms']['first_page_s']['p95']:.0f} ms | "
        f"tree p50 {d['latency_ms']['tree_s']['median']:.0f} ms | export {d['export_mb_per_s']:.2f} MB/s, "
        f"+{d['export_rss_increase_mb']:.1f} MB RSS",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.restore_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages in the mailbox backed up")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the simulator adds to each request")
    parser.add_argument("--repeat", type=int, default=3, help="restores per mode, and exports")
    parser.add_argument("--samples", type=int, default=30, help="first-page searches and tree listings timed")
    parser.add_argument("--walks", type=int, default=3, help="full walks through the search results")
    parser.add_argument("--verify", type=int, default=VERIFY_SAMPLE, help="restored messages per restore compared "
                        "with their originals property by property")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--serve", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.messages, args.repeat, args.samples, args.walks) < 1:
        parser.error("--messages, --repeat, --samples and --walks must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(Path(args.serve))
    report = run_bench(args)
    report["derived"] = derive(report)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
