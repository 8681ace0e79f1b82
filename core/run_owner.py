"""Who runs a local (CLI) backup run, and how a run whose process died is found out.

A run the local runner starts records its owner (host name and process id) and a heartbeat the runner refreshes
every HEARTBEAT_SECONDS while it works. A run killed with SIGKILL, or lost with its machine, cannot record its end;
so before a new local run starts, every run still `running` with an owner is checked: one whose process is gone
(same host, no such pid) or whose heartbeat is older than STALE_AFTER is marked `interrupted`, with the reason.
Runs the Durable orchestrator drives record no owner (their activities may run in any worker, and the host resumes
them after a crash), so they are never marked here."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.storage.runs import RunStore

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
STALE_AFTER = timedelta(minutes=10)  # twenty missed heartbeats: the run's process is not working on it any more


@dataclass(frozen=True)
class RunOwner:
    host: str
    pid: int

    @classmethod
    def current(cls) -> RunOwner:
        return cls(socket.gethostname(), os.getpid())


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def abandoned_reason(run: dict, me: RunOwner, now: datetime) -> str:
    """Why a `running` run with an owner is no longer being run ('' if it may still be)."""
    host, pid = str(run.get("owner_host") or ""), int(run.get("owner_pid") or 0)
    if not host or not pid:
        return ""
    if host == me.host and pid != me.pid and not process_alive(pid):
        return f"interrupted: the process that ran it (pid {pid} on {host}) is gone"
    beat = run.get("heartbeat_at") or run.get("started_at") or ""
    try:
        last = datetime.fromisoformat(beat)
    except ValueError:
        return ""
    if now - last > STALE_AFTER:
        return f"interrupted: no heartbeat from pid {pid} on {host} since {beat}"
    return ""


def interrupt_abandoned_runs(runs: RunStore, me: RunOwner | None = None, now: datetime | None = None) -> list[str]:
    """Mark every abandoned run `interrupted` (see the module docstring); returns their run ids."""
    me, now = me or RunOwner.current(), now or datetime.now(UTC)
    marked = []
    for run in runs.running():
        reason = abandoned_reason(run, me, now)
        if reason and runs.interrupt(run["run_id"], "interrupted", reason):
            log.warning("backup run %s: %s", run["run_id"], reason)
            marked.append(run["run_id"])
    return marked


class Heartbeat:
    """Refreshes a run's heartbeat in a daemon thread until stopped (a context manager)."""

    def __init__(self, runs: RunStore, run_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        self._runs, self._run_id, self._interval = runs, run_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._runs.heartbeat(self._run_id)
            except Exception as exc:  # a missed beat is not fatal; STALE_AFTER allows for many
                log.warning("heartbeat of run %s not recorded: %s", self._run_id, exc)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
