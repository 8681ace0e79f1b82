"""Crash safety: the backup process is killed mid-round (SIGKILL, no clean-up) and run again. Nothing is lost, no
folder's delta link is ahead of its content, and the re-run stores no duplicate content or versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.storage.catalog import FOLDER
from tests.integration.tenant import open_tenant

REPO = Path(__file__).resolve().parents[2]


def test_killed_mid_round_then_rerun_loses_nothing(tmp_path, storage_env):
    # mail only (no archives either): the blob count below is the messages' distinct contents
    tenant = open_tenant(tmp_path / "sim", storage_env, users=2, messages=400, seed=3, latency_ms=15, contacts=0,
                         events=0, tasks=0, archive_messages=0)  # fmt: skip
    try:
        env = {**os.environ, **tenant.env, "GRAPH_PAGE_SIZE": "20", "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [sys.executable, "-m", "core", "backup", "--json"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while tenant.sim.control.stats()["by_kind"]["value"] < 250:
            assert process.poll() is None, "the backup finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        total = sum(len(u["messages"]) for u in tenant.mailboxes())
        assert tenant.sim.control.stats()["by_kind"]["value"] < total  # it really died mid-way

        # No delta link ran ahead of its content: every message of a folder whose link was saved is in the
        # catalog with its content stored.
        saved_links = 0
        for user in tenant.mailboxes():
            resource = f"exchange:{user['id']}"
            index = tenant.services.catalog.open_index(resource, "mail")
            for (category, folder_id), _state in tenant.services.delta_state.load(resource).items():
                if category != "mail":  # the folder tree's link (folder_tree.py) is no folder's round
                    continue
                saved_links += 1
                for message in (m for m in user["messages"] if m["folder_id"] == folder_id):
                    assert message["id"] in index, f"link saved for {folder_id} before {message['id']} was stored"
                    assert index[message["id"]].content_hash == message["sha256"]
                    assert tenant.services.content.exists(message["sha256"])
        folders = sum(1 for u in tenant.mailboxes() for f in u["folders"] if f["parentFolderId"])
        assert saved_links < folders  # some rounds were cut short
        stored_before = tenant.blob_count()
        assert stored_before > 0  # and some content had been stored

        rerun = tenant.backup()
        assert rerun["status"] == "succeeded", rerun
        for user in tenant.mailboxes():
            resource = f"exchange:{user['id']}"
            assert tenant.catalog_messages(user["id"], rerun["run_id"]) == tenant.live_messages(user["id"])
            for message in user["messages"]:  # one version per message: the re-run recognised what was stored
                assert len(tenant.services.catalog.history(resource, "mail", message["id"])) == 1
            assert tenant.services.catalog.open_index(resource, FOLDER)
        distinct = {m["sha256"] for u in tenant.mailboxes() for m in u["messages"]}
        assert tenant.blob_count() == len(distinct)
    finally:
        tenant.close()
