"""Restore request benchmark: Graph requests per restored message, through the real restore API (as in
bench.restore_api: the API server in a child process, against Azurite and the Graph simulator with injected latency
and Outlook's 4 concurrent requests per mailbox). Two seeded mailboxes are backed up; from the second, every message
with attachments (about 1 in 5 in the seed) is hard-deleted first, and then as many others as leave a multiple of the
restore's part size (so every part is full, as in a large mailbox): a mailbox of small messages (about 1 KB of MIME,
no attachments). With the default --messages (a multiple of the part size) the mixed mailbox's parts are full too.
Each is restored whole into a new folder of the other mailbox (destination "new-folder", conflict "skip", the
planner's default parts), with the simulator's request statistics reset before the restore and read after it; the
restored messages are checked against the originals as bench.restore_api checks them.

requests per message = Graph requests during the restore (sign-in excluded) / messages restored; at Outlook's budget
of 10,000 requests per 10 minutes per mailbox, that allows 1,000 / (requests per message) messages per minute into
one mailbox.

    python -m bench.restore_requests [--messages 400] [--latency-ms 20] [--one-part] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import MB, machine_facts, peak_rss_bytes
from bench.restore_api import AUDIENCE, MODES, OPERATOR_OID, restore_run
from core.restore_plan import PART_SIZE

BEFORE = 3.17  # requests per message of the old path (dup check + create from MIME + PATCH), measured before it went
GOAL = 1.2
BUDGET_PER_MIN = 10_000 / 10  # Outlook: 10,000 requests per 10 minutes per mailbox (and app)
MAILBOXES = {"small": "small messages (no attachments)", "mix": "seeded mix (~1 in 5 with 1-2 attachments)"}


def per_minute(requests_per_message: float) -> float:
    return BUDGET_PER_MIN / requests_per_message


def has_attachments(mime: bytes) -> bool:
    message = email.message_from_bytes(mime, policy=email.policy.default)
    return any(True for _ in message.iter_attachments())  # type: ignore[attr-defined]


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from core.bootstrap import build_services
    from core.config import load_settings
    from core.runner import run_backup
    from devenv.azurite import start_azurite
    from graphsim.process import start_simulator

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine_facts(), "setup": {"messages": args.messages,
                              "latency_ms": args.latency_ms, "seed": args.seed, "verify": args.verify}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="m365bench-req-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        sim = start_simulator(scratch / "sim", timeout=300.0, users=2, messages=args.messages, seed=args.seed,
                              latency_ms=args.latency_ms, mailbox_concurrency=4, rate_limit=None, contacts=0,
                              events=0, tasks=0, drive_files=0, sites=0, archive_messages=0)  # fmt: skip
        stack.callback(sim.stop)
        azurite = start_azurite()
        stack.callback(azurite.stop)
        mix, small = (u["id"] for u in sim.control.mailbox_users()[:2])
        plain = []
        for message in sim.control.list_messages(small):
            if has_attachments(sim.control.message_mime(small, message["id"])):
                sim.control.delete_message(small, message["id"])
            else:
                plain.append(message["id"])
        report["setup"]["deleted_with_attachments"] = args.messages - len(plain)
        keep = len(plain) // PART_SIZE * PART_SIZE or len(plain)  # full parts, as in a large mailbox
        for message_id in sorted(plain)[keep:]:
            sim.control.delete_message(small, message_id)
        report["setup"]["deleted_to_fill_parts"] = len(plain) - keep
        env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
               "BACKUP_WORKLOADS": "exchange", "API_AUDIENCE": AUDIENCE, "BACKUP_LOCAL_PROCESSES": "1"}  # fmt: skip

        services, t0 = build_services(load_settings(env)), time.perf_counter()
        stack.callback(services.close)  # its Graph client also reads messages back to verify restores
        summary = run_backup(services, resources=[f"exchange:{mix}", f"exchange:{small}"], trigger="bench")
        report["backup_s"] = time.perf_counter() - t0
        if summary.get("status") != "succeeded":
            raise RuntimeError(f"the backup did not succeed: {summary}")
        token = sim.control.api_token(oid=OPERATOR_OID, name="helpdesk@contoso.test", roles=["Restore.Operator"],
                                      audience=AUDIENCE)  # fmt: skip
        users = {u["id"]: u for u in sim.control.state()["users"]}
        report["restores"] = []
        modes = list(MODES) if args.one_part else ["parts"]
        for n, (key, source, target) in enumerate((("small", small, mix), ("mix", mix, small)), start=1):
            messages = users[source]["messages"]
            ctx = {"sim": sim, "env": env, "scratch": scratch, "source": source, "target": target, "token": token,
                   "originals": messages, "backed_up": len(messages), "graph": services.graph,
                   "verify": args.verify}  # fmt: skip
            for mode in modes:
                run = restore_run(ctx, mode, n)
                run.update(mailbox=key, messages=len(messages), mime_bytes=sum(m["size"] for m in messages))
                report["restores"].append(run)
    report["bench_s"] = time.perf_counter() - started
    return report


def render(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["setup"]
    lines = [
        f"restore requests benchmark: 2 seeded mailboxes of {s['messages']:,} messages (from one, the "
        f"{s['deleted_with_attachments']} with attachments deleted, and {s['deleted_to_fill_parts']} more to fill "
        f"parts of {PART_SIZE}), backed up in {report['backup_s']:.1f} s; "
        f"{s['latency_ms']:g} ms latency per Graph request, 4 concurrent requests per mailbox",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}",
        f"peak RSS of this process (VmHWM; the backup runs in it): {peak_rss_bytes() / MB:.0f} MB",
        "mailboxes: "
        + "; ".join(
            f"{r['mailbox']} {r['messages']:,} messages, {r['mime_bytes'] / r['messages'] / 1024:.1f} "
            "KB MIME on average"
            for r in report["restores"]
            if r["mode"] == "parts"
        ),
        "restore: whole mailbox -> new folder of the other mailbox (destination new-folder, conflict 'skip') through "
        "the restore API; requests = Graph requests the simulator answered during the restore, sign-in excluded; "
        "items/min = 1,000 / req-per-msg (Outlook: 10,000 requests / 10 min per mailbox)",
        "",
    ]
    header = (f"{'mailbox':<44}{'mode':<10}{'msgs':>6}{'parts':>6}{'requests':>9}{'req/msg':>8}{'429':>5}"
              f"{'items/min':>10}{'wall s':>8}")  # fmt: skip
    lines += [header, "-" * len(header)]
    for r in report["restores"]:
        rpm = r["requests"] / max(r["restored"], 1)
        lines.append(
            f"{MAILBOXES[r['mailbox']]:<44}{r['mode']:<10}{r['restored']:>6,}{r['parts']:>6}{r['requests']:>9,}"
            f"{rpm:>8.2f}{r['answered_429']:>5}{per_minute(rpm):>10,.0f}{r['wall_s']:>8.1f}"
        )
    label = "before (3-request path), measured earlier"
    lines.append(f"{label:<44}{'':<10}{'':>6}{'':>6}{'':>9}{BEFORE:>8.2f}{'':>5}{per_minute(BEFORE):>10,.0f}")
    lines.append("")
    for r in report["restores"]:
        kinds = " ".join(f"{k}={v}" for k, v in r["by_kind"].items() if k != "token")
        extra = r["requests"] - r["restored"] - r["by_kind"].get("pim_create", 0)
        lines.append(f"requests by kind ({r['mailbox']}, {r['mode']}): {kinds}; beyond one create per message (its "
                     f"small files in it) and one per attachment added after it (pim_create): {extra} in the job "
                     f"({r['parts']} parts)")  # fmt: skip
    small = next(r for r in report["restores"] if r["mailbox"] == "small" and r["mode"] == "parts")
    mix = next(r for r in report["restores"] if r["mailbox"] == "mix" and r["mode"] == "parts")
    rs, rm = small["requests"] / small["restored"], mix["requests"] / mix["restored"]
    lines += [
        "every restored message matched to its original (folder, internetMessageId, subject; drafts only where the "
        f"original was one), {report['setup']['verify']} per restore compared property by property; whole bench "
        f"{report['bench_s']:.1f} s",
        "",
        f"SUMMARY restore Graph requests per restored message (new folder, parts): small messages {rs:.2f} "
        f"({small['answered_429']} answered 429, {per_minute(rs):,.0f} items/min per mailbox), seeded mix {rm:.2f} "
        f"({mix['answered_429']} answered 429, {per_minute(rm):,.0f} items/min); before (3-request path) {BEFORE:.2f} "
        f"({per_minute(BEFORE):,.0f} items/min); goal <= {GOAL}: {'met' if rs <= GOAL else 'NOT met'}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.restore_requests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="messages seeded in each mailbox")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the simulator adds to each request")
    parser.add_argument("--one-part", action="store_true", help="also restore each mailbox in one part")
    parser.add_argument("--verify", type=int, default=12, help="restored messages per restore compared with "
                        "their originals property by property")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
