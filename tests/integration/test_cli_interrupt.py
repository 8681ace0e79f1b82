"""Ctrl-C on `python -m core backup`, as a user presses it: a subprocess against Azurite and the simulator with
slow Graph answers, SIGINT mid-run. It stops with exit code 130 and no traceback, sending Graph nothing after the
signal, the run is recorded `interrupted`, and the next backup loses nothing: the catalog equals the tenant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from core.storage.content_store import CONTENT_PREFIXES
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import REPO, _cli


def _start_backup(env: dict[str, str]) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "core", "backup", "--json"],
        cwd=REPO,
        env={**clean, **env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(tenant: Tenant) -> int:
    container = tenant.services.content._container
    return sum(1 for prefix in CONTENT_PREFIXES for _ in container.list_blobs(name_starts_with=prefix))


def _wait_for_content(tenant: Tenant, more_than: int, timeout: float = 30) -> None:
    """Until the backup under way has stored content (so the interrupt lands mid-run, not before it)."""
    deadline = time.monotonic() + timeout
    while _stored(tenant) <= more_than:
        assert time.monotonic() < deadline, "the backup stored nothing"
        time.sleep(0.05)


def _interrupt(tenant: Tenant, process: subprocess.Popen, times: int) -> tuple[int, str, int]:
    """SIGINT `times`; the exit code, stderr and the HTTP requests Graph got from the first one on."""
    before = tenant.sim.control.stats()["http"]
    for _ in range(times):
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
    _out, err = process.communicate(timeout=30)
    return process.returncode, err, tenant.sim.control.stats()["http"] - before


# After Ctrl-C no request is sent (core/stopping.py, checked before each request and again once it has a slot): what
# Graph still gets is at most what started in the moment the signal took to land (those on the wire were counted as
# they arrived; 0 in the runs measured), bounded here by the two mailboxes' 4 slots each and a margin. Without the
# stop the run would send its ~50 requests per mailbox.
AFTER_STOP = 2 * 4 + 4


def test_ctrl_c_stops_a_backup_marks_it_interrupted_and_the_next_run_loses_nothing(tmp_path, storage_env):
    tenant = open_tenant(tmp_path / "sim", storage_env, users=3, messages=30, seed=31, contacts=0, events=0, tasks=0,
                         archive_messages=0, latency_ms=150)  # fmt: skip  # ~50 requests a mailbox: 7 s each
    env = {**tenant.env, "BACKUP_LOCAL_CONCURRENCY": "2"}
    try:
        once = _start_backup(env)
        _wait_for_content(tenant, 2)
        code, err, after = _interrupt(tenant, once, 1)
        assert code == 130, err
        assert after <= AFTER_STOP, f"{after} requests after Ctrl-C"
        assert "Traceback" not in err and "interrupted" in err

        stored = _stored(tenant)
        assert stored < 90, "the first backup ran to its end: the interrupt came too late to test anything"
        twice = _start_backup(env)  # Ctrl-C twice: at once, still recorded
        _wait_for_content(tenant, stored)
        code, err, after = _interrupt(tenant, twice, 2)
        assert code == 130 and after <= AFTER_STOP and "Traceback" not in err, (after, err)

        runs = json.loads(_cli(env, "runs", "--json").stdout)
        assert [r["status"] for r in runs] == ["interrupted", "interrupted"]

        tenant.sim.control.configure(latency_ms=0)
        done = _cli(env, "backup", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "succeeded"
        for n in range(3):
            user = tenant.user(n)
            listed = json.loads(_cli(env, "items", user["id"], "--json").stdout)["items"]
            assert {i["id"] for i in listed} == {m["id"] for m in user["messages"]}, user["id"]
    finally:
        tenant.close()
