"""A CLI run that is killed, interrupted or cannot start is recorded as such, never left `running` (and drawn by the
dashboard as fully backed up)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from api.dashboard_page import render_dashboard
from core.dashboard import dashboard_data
from tests.integration.tenant import open_tenant
from tests.integration.test_cli import REPO, _cli


def _start_cli_backup(env: dict[str, str]) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    env = {**clean, **env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "core", "backup", "--json"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_running(tenant, known: set[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [r for r in tenant.services.runs.list() if r["run_id"] not in known and r["status"] == "running"]
        if fresh:
            time.sleep(0.5)  # a resource or two under way
            return fresh[0]["run_id"]
        time.sleep(0.05)
    raise TimeoutError("the CLI run did not start")


def test_killed_interrupted_and_unstartable_runs_are_recorded(tmp_path, storage_env):
    """Issue 11 item 12: killed or failed-at-start CLI runs stayed `running` forever and the dashboard drew them as
    fully backed up."""
    tenant = open_tenant(tmp_path / "sim", storage_env, users=2, messages=30, seed=12, contacts=0, events=0)
    try:
        tenant.sim.control.configure(latency_ms=40)  # slow enough to be caught mid-run
        killed = _start_cli_backup(tenant.env)
        killed_run = _wait_running(tenant, set())
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)

        stopped = _start_cli_backup(tenant.env)  # starting it marks the killed run: its process is gone
        stopped_run = _wait_running(tenant, {killed_run})
        killed_now = tenant.services.runs.get(killed_run)
        assert killed_now["status"] == "interrupted", killed_now
        assert f"pid {killed.pid}" in killed_now["error"] and "is gone" in killed_now["error"]

        stopped.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = stopped.communicate(timeout=60)
        assert stopped.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        stopped_now = tenant.services.runs.get(stopped_run)
        assert stopped_now["status"] == "interrupted" and "KeyboardInterrupt" in stopped_now["error"]

        tenant.sim.control.configure(latency_ms=0)
        broken = {**tenant.env, "GRAPH_CLIENT_SECRET": "wrong"}  # discovery cannot even list the users
        failed = _cli(broken, "backup", "--json")
        assert failed.returncode != 0 and "Traceback" not in failed.stderr
        runs = json.loads(_cli(tenant.env, "runs", "--json").stdout)
        assert [r["status"] for r in runs] == ["failed", "interrupted", "interrupted"], runs
        assert runs[0]["error"] and runs[0]["finished_at"]

        data = dashboard_data(tenant.services)
        assert [r["status"] for r in data["runs"]] == ["interrupted", "interrupted", "failed"]
        page = render_dashboard(data)
        assert page.count('<span class="badge failed">failed</span>') == 1
        assert "interrupted" in page and 'class="ok zero"' not in page  # no run drawn as all backed up
    finally:
        tenant.close()
