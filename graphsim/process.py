"""Start `python -m graphsim` as a subprocess and wait until it is ready."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from graphsim.control import SimControl

PACKAGE_PARENT = Path(__file__).resolve().parent.parent


class SimulatorError(RuntimeError):
    """The simulator did not start; the message carries its stderr."""


class SimulatorProcess:
    def __init__(self, process: subprocess.Popen[bytes], state_dir: Path, info: dict[str, str]) -> None:
        self.process = process
        self.state_dir = state_dir
        self.info = info
        self.base_url: str = info["base_url"]
        self.ca_file: str = info["ca_file"]
        self.tenant_id: str = info["tenant_id"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]
        self.client_certificate_file: str | None = info.get("client_certificate_file")
        self.control = SimControl(self.base_url, self.ca_file)
        self.ru_budget: int | None = None  # the tenant's SharePoint RU per ru_window seconds (start option)
        self.ru_window: float = 60.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def graph_env(self) -> dict[str, str]:
        return {
            "GRAPH_TENANT_ID": self.tenant_id,
            "GRAPH_CLIENT_ID": self.client_id,
            "GRAPH_CLIENT_SECRET": self.client_secret,
            "GRAPH_ENDPOINT": self.base_url,
            "GRAPH_AUTHORITY_HOST": self.base_url,
            "GRAPH_CA_BUNDLE": self.ca_file,
            # the simulated tenant's RU tier, so the client budgets what the simulator enforces (0: it enforces none)
            "GRAPH_SHAREPOINT_RU_PER_MINUTE": str(self.ru_budget or 0),
            "GRAPH_SHAREPOINT_RU_WINDOW_SECONDS": str(max(1, math.ceil(self.ru_window))),
        }

    def stop(self, timeout: float = 5.0) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _option_args(options: dict[str, Any]) -> list[str]:
    known = {"port", "users", "messages", "seed", "latency_ms", "mailbox_concurrency", "rate_limit", "token_lifetime",
             "drive_files", "sites", "contacts", "events", "shared_mailboxes", "tasks", "list_items",
             "teams", "channel_messages", "group_posts", "chat_users", "chat_messages",
             "archive_messages", "ru_budget", "ru_window"}  # fmt: skip
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown simulator options: {sorted(unknown)}")
    args: list[str] = []
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", "none" if value is None else str(value)]
    return args


def start_simulator(state_dir: Path, timeout: float = 20.0, **options: Any) -> SimulatorProcess:
    """Start the simulator (options: port, users, messages, seed, latency_ms, mailbox_concurrency, rate_limit
    as "N/SECONDS" or None, token_lifetime, drive_files, sites, contacts, events, ru_budget: SharePoint/OneDrive
    RU per ru_window seconds or None) and wait for DIR/ready.json;
    raise SimulatorError on failure."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / "ready.json"
    ready.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH", "")) if p)
    log = (state_dir / "graphsim.log").open("wb")
    cmd = [sys.executable, "-m", "graphsim", "--state-dir", str(state_dir), *_option_args(options)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=str(state_dir))
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                info = json.loads(ready.read_text())
            except ValueError:
                info = None
            if info:
                started = SimulatorProcess(process, state_dir, info)
                if options.get("ru_budget") is not None:
                    started.ru_budget = int(options["ru_budget"])
                    started.ru_window = float(options.get("ru_window", 60.0))
                return started
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
    stderr = (state_dir / "graphsim.log").read_text(errors="replace")
    raise SimulatorError(f"graphsim did not become ready (exit code {process.returncode}):\n{stderr}")
