"""python -m graphsim --state-dir DIR [...]: serve a simulated Microsoft Graph tenant on loopback HTTPS."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import uvicorn

from graphsim.app import create_app
from graphsim.limits import Config, parse_rate_limit
from graphsim.simulator import Simulator
from graphsim.tls import make_client_certificate, make_tls_files


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m graphsim", description=__doc__)
    parser.add_argument("--state-dir", required=True, type=Path, help="where certificates and ready.json go")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=3, help="mailbox users (one more user has no mailbox)")
    parser.add_argument("--shared-mailboxes", type=int, default=0, help="shared mailboxes (userPurpose 'shared')")
    parser.add_argument("--messages", type=int, default=20, help="messages per mailbox")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--mailbox-concurrency", type=int, default=4)
    parser.add_argument("--rate-limit", default="none", help="N/WINDOW_SECONDS per mailbox, or none")
    parser.add_argument("--ru-budget", default="none", help="SharePoint/OneDrive resource units per --ru-window "
                        "for the tenant (1200..6000 per 60 s by licences), or none")  # fmt: skip
    parser.add_argument("--ru-window", type=float, default=60.0, help="seconds of the RU budget's minute")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument("--drive-files", type=int, default=12, help="files per OneDrive (libraries get fewer)")
    parser.add_argument("--sites", type=int, default=2, help="SharePoint sites (each with 1-2 document libraries)")
    parser.add_argument("--contacts", type=int, default=6, help="contacts per mailbox (over three contact folders)")
    parser.add_argument("--events", type=int, default=6, help="single events per mailbox (series are added anyway)")
    parser.add_argument("--tasks", type=int, default=4, help="To Do tasks per mailbox (over two task lists)")
    parser.add_argument("--list-items", type=int, default=4, help="items per SharePoint list (two lists per site)")
    parser.add_argument("--teams", type=int, default=1, help="teams (each with a standard and a private channel)")
    parser.add_argument("--channel-messages", type=int, default=4, help="root messages in a team's General channel")
    parser.add_argument("--chat-users", type=int, default=1, help="users with a one-on-one, a group and a meeting chat")
    parser.add_argument("--chat-messages", type=int, help="messages per seeded chat (default: 3 one-on-one, 2 others)")
    parser.add_argument("--group-posts", type=int, default=3, help="posts in each group's first conversation")
    parser.add_argument("--archive-messages", type=int, default=3, help="archived messages per licensed user (0: none)")
    return parser.parse_args(argv)


def _write_ready(path: Path, info: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, path)


async def serve(args: argparse.Namespace) -> None:
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / "ready.json"
    ready_file.unlink(missing_ok=True)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP (0 would leave Nagle on,
    # and every response would wait ~40 ms for the client's delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    tls = make_tls_files(state_dir)
    config = Config(
        latency_ms=args.latency_ms,
        mailbox_concurrency=args.mailbox_concurrency,
        rate_limit=parse_rate_limit(args.rate_limit),
        token_lifetime=args.token_lifetime,
    )
    sim = Simulator(f"https://127.0.0.1:{port}", args.seed, args.users, args.messages, config,
                    drive_files=args.drive_files, sites=args.sites, state_dir=state_dir,
                    contacts=args.contacts, events=args.events, tasks=args.tasks,
                    shared_mailboxes=args.shared_mailboxes, list_items=args.list_items,
                    teams=args.teams, channel_messages=args.channel_messages, group_posts=args.group_posts,
                    chat_users=args.chat_users, chat_messages=args.chat_messages,
                    archive_messages=args.archive_messages)  # fmt: skip
    sim.client_cert_file, _, sim.client_cert = make_client_certificate(state_dir, sim.client_id)
    if args.ru_budget.strip().lower() not in ("", "none", "off"):  # graphsim/drives/service.py ResourceUnits
        sim.files.config.ru_budget, sim.files.config.ru_window = int(args.ru_budget), args.ru_window
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sim),
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            # uvicorn's HTTP/1.1 parser in C (httptools, llhttp) rather than h11 in Python: the simulator shares the
            # engine's CPUs in the benchmarks, and this takes a quarter off its CPU (bench.scaling: 2.7 -> 2.1 s
            # for 50 mailboxes); what goes over the wire is the same HTTP/1.1
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=0.5,
        )
    )

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        info = sim.ready_info(tls.ca_file)
        _write_ready(ready_file, info)
        print(json.dumps(info), flush=True)

    task = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        task.cancel()
        ready_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
