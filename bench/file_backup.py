"""File backup benchmark: a simulated OneDrive (graphsim over loopback HTTPS, with injected latency) backed up into
Azurite, and one big file backed up, copied raw and restored, by core's real services as `python -m core` would.

Phases, on one simulator and one Azurite:
  1. many small files: a full backup of one OneDrive of --files files, then a no-change incremental;
  2. one big file (--big-mib) added to that drive: an incremental backup (which downloads just that file), then a
     restore of it (keep-both, into the same drive), its SHA-256 in the simulator checked against the original's;
  3. the baseline: a raw httpx stream copy of the same file between the same two endpoints (GET /content with a
     token, the 302 followed without it, the body staged straight into an Azurite block blob in 4 MiB blocks).
  4. RU: a second simulator whose tenant enforces a SharePoint/OneDrive resource-unit budget (--ru-budget RU per
     --ru-window seconds: a compressed minute), a OneDrive of --ru-files files backed up at full speed with the
     client's budget set to that tier: the RU charged and the share of drive requests answered 429.
Every measured step runs in its own child process (`python -m bench.file_backup --worker KIND ...`), so the peak
RSS reported is that process's own high-water mark (VmHWM, bench.common.peak_rss_bytes): the simulator and
Azurite are separate processes and are not counted. Request counts come from the simulator (what Graph would see).

    python -m bench.file_backup [--files 2000] [--big-mib 1024] [--latency-ms 20] [--json] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine_facts, server_phase, storage_blobs
from bench.file_workers import RAW_BLOCK, RAW_CONTAINER, MiB, run_worker, worker

RSS_LIMIT_MIB = 150  # the acceptance line: a 1 GiB file backs up and restores with peak RSS under 150 MiB
ENGINE_SETTINGS = ("GRAPH_PAGE_SIZE", "BACKUP_ITEM_CONCURRENCY", "GRAPH_MAILBOX_CONCURRENCY")
MEASURED = "the worker child (python -m bench.file_backup --worker KIND), VmHWM in /proc/self/status"


# --- the driver ----------------------------------------------------------------------------------------------------
def phase(kind: str, name: str, config: dict[str, Any], sim: Any, azurite: Any, scratch: Path) -> dict[str, Any]:
    """One step in a worker, with the simulator's request and drive statistics and the servers' CPU time over it."""
    result = server_phase(sim, azurite, lambda: run_worker(kind, config, scratch, name))
    result["drive"] = sim.control.drive_stats()
    return result


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.config import SETTINGS
    from devenv.azurite import start_azurite
    from graphsim.control import SimControl
    from graphsim.process import start_simulator

    defaults = {s.name: s.default for s in SETTINGS}
    bench_started = time.perf_counter()
    big_size = args.big_mib * MiB
    report: dict[str, Any] = {
        "machine": machine_facts(),
        "setup": {"files": args.files, "big_mib": args.big_mib, "latency_ms": args.latency_ms, "seed": args.seed},
        "engine": {k: defaults[k] for k in ENGINE_SETTINGS},
        "measured_process": MEASURED,
        "rss_limit_mib": RSS_LIMIT_MIB,
    }
    with tempfile.TemporaryDirectory(prefix="m365bench-files-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        t0 = time.perf_counter()
        sim = start_simulator(
            scratch / "sim", timeout=300.0, users=1, messages=0, drive_files=args.files, sites=0,
            latency_ms=args.latency_ms, rate_limit=None, seed=args.seed,
        )  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        report["servers_start_s"] = time.perf_counter() - t0
        env = {
            **sim.graph_env(),
            "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "BACKUP_WORKLOADS": "onedrive",
        }
        user = sim.control.mailbox_users()[0]["id"]
        drive = sim.control.drive(user)
        files = [i for i in drive["items"] if not i["folder"]]
        report["drive"] = {
            "id": drive["id"],
            "user": user,
            "files": len(files),
            "folders": len(drive["items"]) - len(files),
            "bytes": sum(i["size"] for i in files),
        }
        resource_key = f"onedrive:{user}"
        backup_config = {"env": env, "resources": [resource_key]}

        # 1. many small files
        report["small_full"] = phase("backup", "small-full", backup_config, sim, azurite, scratch)
        report["small_full"]["stored_blobs"], report["small_full"]["stored_bytes"] = storage_blobs(
            azurite.connection_string, "backup"
        )
        report["small_nochange"] = phase("backup", "small-nochange", backup_config, sim, azurite, scratch)

        # 2. one big file: added (generated, hashed once by the simulator), backed up by an incremental
        slow_control = SimControl(sim.base_url, sim.ca_file, timeout=max(60.0, 60.0 * big_size / 1024**3))
        stack.callback(slow_control.close)
        t0 = time.perf_counter()
        big = slow_control.add_big_file(drive["id"], f"bench big file {args.big_mib} MiB.bin", big_size)
        report["big_add_s"] = time.perf_counter() - t0
        original = next(i for i in slow_control.drive(drive["id"])["items"] if i["id"] == big["id"])
        report["big"] = {"id": big["id"], "size": original["size"], "sha256": original["sha256"]}
        trace = {"tracemalloc": True} if args.tracemalloc else {}
        backup = phase("backup", "big-backup", {**backup_config, **trace}, sim, azurite, scratch)
        report["big_backup"] = backup

        # 3. the baseline: a raw httpx stream copy between the same two endpoints
        raw_config = {"env": env, "drive_id": drive["id"], "item_id": big["id"], "container": RAW_CONTAINER,
                      "blob": f"raw-{big['id']}", **trace}  # fmt: skip
        report["raw_copy"] = phase("rawcopy", "raw-copy", raw_config, sim, azurite, scratch)
        with contextlib.suppress(Exception):  # free Azurite's memory of the copy; not measured
            from azure.storage.blob import ContainerClient

            ContainerClient.from_connection_string(azurite.connection_string, RAW_CONTAINER).delete_container()

        # restore the big file (keep-both, same drive) as of the run that backed it up, and verify it
        restore_config = {"env": env, "resource": resource_key, "run_id": backup["summary"]["run_id"],
                          "item_ids": [f"{drive['id']}/{big['id']}"], **trace}  # fmt: skip
        restored = phase("restore", "big-restore", restore_config, sim, azurite, scratch)
        items = restored["report"]["items"]
        new_id = items[0].get("new_id") if items else None
        landed = next((i for i in slow_control.drive(drive["id"])["items"] if i["id"] == new_id), None)
        restored["verify"] = {
            "new_id": new_id,
            "name": landed["name"] if landed else None,
            "size": landed["size"] if landed else None,
            "sha256": landed["sha256"] if landed else None,
            "sha256_matches": bool(landed) and landed["sha256"] == original["sha256"] and new_id != big["id"],
        }
        report["big_restore"] = restored

        # 4. RU used and the 429 share of drive requests at full speed against a tenant's RU budget
        report["ru"] = ru_phase(args, scratch, azurite, stack)
    report["bench_s"] = time.perf_counter() - bench_started
    return report


def ru_phase(args: argparse.Namespace, scratch: Path, azurite: Any, stack: contextlib.ExitStack) -> dict[str, Any]:
    """A full backup of a OneDrive at full speed against a simulator enforcing --ru-budget RU per --ru-window s
    (graphsim/drives/service.py ResourceUnits); the client's budget is the same tier (sim.graph_env())."""
    from graphsim.process import start_simulator

    sim = start_simulator(
        scratch / "sim-ru", timeout=300.0, users=1, messages=0, drive_files=args.ru_files, sites=0,
        latency_ms=args.latency_ms, rate_limit=None, seed=args.seed, ru_budget=args.ru_budget, ru_window=args.ru_window,
    )  # fmt: skip
    stack.callback(sim.stop)
    env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
           "BACKUP_WORKLOADS": "onedrive", "BACKUP_CONTAINER": "rubench", "BACKUP_TABLE_PREFIX": "rubench"}  # fmt: skip
    user = sim.control.mailbox_users()[0]["id"]
    result = phase("backup", "ru-full", {"env": env, "resources": [f"onedrive:{user}"]}, sim, azurite, scratch)
    drive = result["drive"]
    answered = drive["ru_requests"] + drive["ru_throttled"]
    result["budget"] = {"ru_per_window": args.ru_budget, "window_s": args.ru_window, "files": args.ru_files}
    result["share_429"] = drive["ru_throttled"] / answered if answered else 0.0
    result["ru_per_s"] = drive["ru_charged"] / result["wall_s"]
    return result


# --- output -----------------------------------------------------------------------------------------------------
def derive(report: dict[str, Any]) -> dict[str, Any]:
    """Headline figures, also added to --json output."""
    files, size = report["drive"]["files"], report["big"]["size"]
    full, nochange = report["small_full"], report["small_nochange"]
    backup, restored, raw = report["big_backup"], report["big_restore"], report["raw_copy"]
    raw_rate = size / MiB / raw["wall_s"]
    backup_rate = size / MiB / backup["wall_s"]
    restore_rate = size / MiB / restored["wall_s"]
    backup_peak = backup["peak_rss_bytes"] / MiB
    restore_peak = restored["peak_rss_bytes"] / MiB
    return {
        "small_files_per_s": files / full["wall_s"],
        "small_mib_per_s": full["drive"]["download_bytes"] / MiB / full["wall_s"],
        "small_requests_per_file": full["requests"] / max(files, 1),
        "small_peak_rss_mib": full["peak_rss_bytes"] / MiB,
        "nochange_requests": nochange["requests"],
        "nochange_blobs_written": nochange["written"]["blobs"],
        "big_backup_mib_per_s": backup_rate,
        "big_backup_peak_rss_mib": backup_peak,
        "big_restore_mib_per_s": restore_rate,
        "big_restore_peak_rss_mib": restore_peak,
        "raw_copy_mib_per_s": raw_rate,
        "raw_copy_peak_rss_mib": raw["peak_rss_bytes"] / MiB,
        "backup_vs_raw": backup_rate / raw_rate,
        "restore_vs_raw": restore_rate / raw_rate,
        "restored_sha256_matches": restored["verify"]["sha256_matches"],
        "big_backup_rss_ok": backup_peak < RSS_LIMIT_MIB,
        "big_restore_rss_ok": restore_peak < RSS_LIMIT_MIB,
    }


def render(report: dict[str, Any]) -> str:
    m, s, e, dr = report["machine"], report["setup"], report["engine"], report["drive"]
    d = report["derived"]
    full, nochange = report["small_full"], report["small_nochange"]
    backup, restored, raw = report["big_backup"], report["big_restore"], report["raw_copy"]
    size = report["big"]["size"]
    lines = [
        f"file backup benchmark: one OneDrive of {dr['files']:,} files ({dr['bytes'] / MiB:.1f} MiB, "
        f"{dr['folders']} folders), then one file of {size / MiB:,.0f} MiB; {s['latency_ms']:g} ms latency per "
        f"request (downloads and upload fragments included)",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}, "
        f"load avg {m['load_avg_1m']} at start",
        f"engine: page size {e['GRAPH_PAGE_SIZE']}, {e['BACKUP_ITEM_CONCURRENCY']} items in parallel, "
        f"{e['GRAPH_MAILBOX_CONCURRENCY']} requests per resource; MiB = 2^20 bytes",
        f"peak RSS: {report['measured_process']}; simulator and Azurite are separate processes, not counted; "
        f"'RSS ready' is the worker's resident set when the measured step began (imports, clients built)",
        "",
    ]
    header = (
        f"{'phase':<34}{'wall s':>8}{'files/s':>9}{'MiB/s':>8}{'requests':>9}{'req/file':>9}{'blobs':>7}"
        f"{'MiB written':>12}{'RSS ready':>10}{'peak RSS':>9}"
    )
    lines += [header, "-" * len(header)]

    def row(name: str, r: dict[str, Any], files: int | None, moved: int, blobs: Any, written: Any) -> str:
        rate = f"{files / r['wall_s']:.0f}" if files else "-"
        per_file = f"{r['requests'] / files:.2f}" if files else "-"
        mib_s = f"{moved / MiB / r['wall_s']:.1f}" if moved else "-"
        written_text = f"{written / MiB:.1f}" if isinstance(written, int) else "-"
        return (
            f"{name:<34}{r['wall_s']:>8.2f}{rate:>9}{mib_s:>8}{r['requests']:>9,}{per_file:>9}{blobs!s:>7}"
            f"{written_text:>12}{r['rss_ready_bytes'] / MiB:>10.0f}{r['peak_rss_bytes'] / MiB:>9.0f}"
        )

    big_name = f"{size / MiB:,.0f} MiB"
    lines += [
        row("small files: full backup", full, dr["files"], full["drive"]["download_bytes"],
            full["written"]["blobs"], full["written"]["bytes"]),
        row("small files: no-change incremental", nochange, None, 0, nochange["written"]["blobs"],
            nochange["written"]["bytes"]),
        row(f"{big_name}: backup (incremental)", backup, None, size, backup["written"]["blobs"],
            backup["written"]["bytes"]),
        row(f"{big_name}: raw httpx copy (baseline)", raw, None, size, 1, raw["blob_bytes"]),
        row(f"{big_name}: restore (keep-both)", restored, None, size, "-", None),
    ]  # fmt: skip
    lines.append("")

    def kinds(r: dict[str, Any]) -> str:
        by = r["sim"]["by_kind"]
        return " ".join(f"{k}={v}" for k, v in by.items() if v and k != "token") + f" (+token={by.get('token', 0)})"

    def cpu(r: dict[str, Any]) -> str:
        servers = ", ".join(f"{k} {v:.1f}" for k, v in r["server_cpu_s"].items() if v is not None)
        return f"CPU s worker {r['cpu_s']:.1f}, {servers} (wall {r['wall_s']:.1f})"

    v = restored["verify"]
    rr = restored["report"]
    lines += [
        f"small full: requests by kind {kinds(full)}; downloads {full['drive']['download_requests']:,} "
        f"({full['drive']['download_bytes'] / MiB:.1f} MiB); {full['summary']['items']:,} catalog items; "
        f"deduplicated {full['written']['deduplicated']:,}; container holds {full['stored_blobs']:,} blobs / "
        f"{full['stored_bytes'] / MiB:.1f} MiB; statuses {','.join(full['statuses'])}; {cpu(full)}",
        f"no-change incremental: requests by kind {kinds(nochange)}; downloads "
        f"{nochange['drive']['download_requests']}; blobs written {nochange['written']['blobs']}, bytes "
        f"{nochange['written']['bytes']}; {cpu(nochange)}",
        f"big file: added to the simulator in {report['big_add_s']:.1f} s (generated, hashed once); sha256 "
        f"{report['big']['sha256'][:16]}…",
        f"big backup: requests by kind {kinds(backup)}; downloaded {backup['drive']['download_bytes'] / MiB:,.1f} MiB "
        f"in {backup['drive']['download_requests']} download request(s); statuses {','.join(backup['statuses'])}; "
        f"{cpu(backup)}",
        f"raw copy: GET /content + 302 without the token, {raw['blocks']} staged blocks of {RAW_BLOCK // MiB} MiB, "
        f"blob {raw['blob_bytes']:,} bytes; {cpu(raw)}",
        f"big restore: requests by kind {kinds(restored)}; upload fragments {restored['drive']['upload_fragments']}; "
        f"restored {rr['restored']}, failed {rr['failed']}; as '{v['name']}' ({v['size']:,} bytes) sha256 "
        f"{'matches' if v['sha256_matches'] else 'DOES NOT MATCH'} the original; {cpu(restored)}",
        f"engine vs raw copy: backup {d['backup_vs_raw']:.2f}x, restore {d['restore_vs_raw']:.2f}x of "
        f"{d['raw_copy_mib_per_s']:.1f} MiB/s (the raw copy goes simulator -> Azurite, as a backup does; a restore "
        f"goes the other way)",
        f"peak RSS under {RSS_LIMIT_MIB} MiB: backup {'yes' if d['big_backup_rss_ok'] else 'NO'} "
        f"({d['big_backup_peak_rss_mib']:.0f} MiB), restore {'yes' if d['big_restore_rss_ok'] else 'NO'} "
        f"({d['big_restore_peak_rss_mib']:.0f} MiB); raw copy {d['raw_copy_peak_rss_mib']:.0f} MiB",
        f"servers start {report['servers_start_s']:.1f} s; whole bench {report['bench_s']:.1f} s",
    ]
    ru, rd = report["ru"], report["ru"]["drive"]
    b, client = ru["budget"], ru["graph_client"]
    lines.append(
        f"RU used and 429 share for drives: {rd['ru_charged']:,} RU charged by the simulator ({rd['ru_used']:,} "
        f"served, client priced {client.get('ru_units', 0):,}), {rd['ru_throttled']} of "
        f"{rd['ru_requests'] + rd['ru_throttled']:,} drive requests answered 429 = {ru['share_429']:.2%} "
        f"(bar: <= 1%); budget {b['ru_per_window']} RU per {b['window_s']:g} s "
        f"= {b['ru_per_window'] / b['window_s']:.0f} RU/s, spent {ru['ru_per_s']:.1f} RU/s; {b['files']} files in "
        f"{ru['wall_s']:.1f} s, statuses "
        f"{','.join(ru['statuses'])}"
    )
    for name, r in (("backup", backup), ("raw copy", raw), ("restore", restored)):
        if "tracemalloc" in r:
            t = r["tracemalloc"]
            lines.append(f"tracemalloc {name}: peak traced {t['peak_bytes'] / MiB:.1f} MiB, live at end "
                         f"{t['current_bytes'] / MiB:.1f} MiB; largest live:")  # fmt: skip
            for stat in t["top_live"][:4]:
                lines.append(f"    {stat['bytes'] / 1024:,.0f} KiB in {stat['count']}: " + " | ".join(
                    x.strip() for x in stat["where"] if x.strip().startswith("File")))  # fmt: skip
    lines += [
        "",
        f"SUMMARY small {dr['files']:,} files {full['wall_s']:.1f} s ({d['small_files_per_s']:.0f} files/s, "
        f"{d['small_mib_per_s']:.2f} MiB/s, {d['small_requests_per_file']:.2f} req/file, peak RSS "
        f"{d['small_peak_rss_mib']:.0f} MiB) | no-change incr {nochange['requests']} req, "
        f"{nochange['written']['blobs']} blobs | {big_name} backup {d['big_backup_mib_per_s']:.1f} MiB/s, peak RSS "
        f"{d['big_backup_peak_rss_mib']:.0f} MiB | restore {d['big_restore_mib_per_s']:.1f} MiB/s, peak RSS "
        f"{d['big_restore_peak_rss_mib']:.0f} MiB, sha256 {'ok' if v['sha256_matches'] else 'MISMATCH'} | raw copy "
        f"{d['raw_copy_mib_per_s']:.1f} MiB/s, peak RSS {d['raw_copy_peak_rss_mib']:.0f} MiB",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.file_backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="files in the OneDrive (sizes capped at 8 KiB > 500)")
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the big file, in MiB")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the simulator adds to each request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ru-files", type=int, default=300, help="files of the OneDrive the RU phase backs up")
    parser.add_argument("--ru-budget", type=int, default=60, help="the RU phase's tenant budget, RU per window")
    parser.add_argument("--ru-window", type=float, default=3.0, help="the RU phase's compressed minute, seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations in the big-file workers")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "CONFIG", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.files < 1 or args.big_mib < 1:
        parser.error("--files and --big-mib must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
    report = run_bench(args)
    report["derived"] = derive(report)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
