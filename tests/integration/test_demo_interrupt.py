"""Ctrl-C on `make demo` (issue 15): a terminal sends SIGINT to the whole process group (the demo, Azurite, the
simulator, any CLI it runs). The demo used to hang for minutes at exit, waiting for its in-process Durable
activities to finish retrying against the servers that had already stopped. Now it says so in one line and exits
130, with nothing of its own left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.test_cli import REPO

PHASE = "== Full backup"  # the Durable orchestration under way, activities in threads


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_mid_backup_exits_130_with_one_line_and_leaves_nothing_running(tmp_path: Path):
    out = tmp_path / "demo.out"
    env = {**os.environ, "DEMO_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}
    with out.open("w") as sink:
        demo = subprocess.Popen([sys.executable, "-m", "scripts.demo"], cwd=REPO, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while PHASE not in out.read_text() and demo.poll() is None:
            assert time.monotonic() < deadline, out.read_text()[-2000:]
            time.sleep(0.2)
        assert demo.poll() is None, out.read_text()[-2000:]
        time.sleep(3)  # activities under way: Graph requests and storage writes in flight
        os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=60)  # a hang guard: it used to take minutes
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    text = out.read_text()
    assert code == 130, text[-2000:]
    assert text.rstrip().splitlines()[-1].startswith("demo interrupted:"), text[-2000:]
    assert "KeyboardInterrupt" not in text, text[-2000:]
    for _ in range(50):  # Azurite and the simulator stop with it (they got the SIGINT too, or the demo stopped them)
        if not _group_alive(demo.pid):
            break
        time.sleep(0.2)
    assert not _group_alive(demo.pid), "a process of the demo is still running"
