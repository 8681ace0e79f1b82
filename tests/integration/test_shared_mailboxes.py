"""Shared mailboxes: Graph lists them as user objects, so discovery backs them up like any mailbox; only the
mailbox's settings (userPurpose) tell them apart, and the product shows them as shared in the restore points, the
CLI, the API's resource list and the dashboard. They restore like user mailboxes. Without the settings, the backup
goes on and says the kind is unknown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.dashboard import dashboard_data
from core.planning import new_run_id
from core.restore import restore
from core.restore_request import RestoreRequest
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange"}
    t = open_tenant(tmp_path_factory.mktemp("shared") / "sim", isolated_storage(azurite), settings, users=1,
                    shared_mailboxes=1, messages=5, contacts=1, events=1, seed=29)  # fmt: skip
    yield t
    t.close()


def _by_purpose(tenant: Tenant) -> dict[str, str]:
    return {u["purpose"]: u["id"] for u in tenant.mailboxes()}


def test_without_the_mailbox_settings_the_backup_goes_on_and_says_the_kind_is_unknown(tenant: Tenant):
    # first: a mailbox with a kind read within the day is not read again (see the last tests)
    ids = _by_purpose(tenant)
    tenant.sim.control.set_faults({"kind": "not_found", "user": ids["shared"], "endpoint": "mailboxsettings"})
    try:
        summary = tenant.backup(resources=[f"exchange:{ids['shared']}"])
    finally:
        tenant.sim.control.clear_faults()
    assert summary["status"] == "succeeded", summary
    point = tenant.services.runs.points(f"exchange:{ids['shared']}")[-1]
    assert point["run_id"] == summary["run_id"] and point["kind"] == ""
    assert any(n.startswith("mailbox kind not known: mailboxSettings answered 404") for n in point["notes"]), point


def test_a_shared_mailbox_is_discovered_backed_up_shown_as_shared_and_restored(tenant: Tenant):
    ids = _by_purpose(tenant)
    assert set(ids) == {"user", "shared"}
    summary = tenant.backup()
    assert summary["status"] == "succeeded", summary
    shared, own = f"exchange:{ids['shared']}", f"exchange:{ids['user']}"

    points = tenant.services.runs.points_by_resource()
    assert points[shared][-1]["kind"] == "shared" and points[own][-1]["kind"] == "user"
    assert sum(p["items"] for p in points[shared]) > 0  # its mail, contacts and calendar, as any mailbox's

    # the CLI's points, the dashboard's resources
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    env = {**clean, **tenant.env, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "core", "points", shared], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]  # '<key> (<display name> <mail>) (shared)': named, and shown as shared
    assert header.startswith(f"{shared} (") and "@" in header and header.endswith(") (shared)"), header
    rows = {r["resource"]: r for r in dashboard_data(tenant.services)["resources"]}
    assert rows[shared]["kind"] == "shared" and rows[own]["kind"] == "user"

    # restored like a user mailbox: one message into a new folder of the shared mailbox, read back from Graph
    run_id = summary["run_id"]
    message = sorted(tenant.services.catalog.as_of(shared, "mail", run_id), key=lambda v: v.item_id)[0]
    request = RestoreRequest(resource=shared, run_id=run_id, item_ids=(message.item_id,), destination="new-folder",
                             destination_name="Restored shared")  # fmt: skip
    report = restore(tenant.services, request)
    assert report.restored == 1 and report.failed == 0, report.to_dict()
    state = next(u for u in tenant.sim.control.state()["users"] if u["id"] == ids["shared"])
    below = {f["id"] for f in state["folders"] if f["path"].startswith("/Restored shared")}  # its folder path kept
    restored = [m for m in state["messages"] if m["folder_id"] in below]
    assert [m["subject"] for m in restored] == [message.name]


def test_a_second_backup_within_the_day_reads_no_mailbox_settings_and_keeps_the_kind(tenant: Tenant):
    ids = _by_purpose(tenant)
    tenant.sim.control.reset_stats()
    summary = tenant.backup()
    assert summary["status"] == "succeeded", summary
    assert tenant.sim.control.stats()["by_kind"].get("mailboxsettings", 0) == 0
    points = tenant.services.runs.points_by_resource()
    for purpose, user in ids.items():
        assert points[f"exchange:{user}"][-1]["run_id"] == summary["run_id"]
        assert points[f"exchange:{user}"][-1]["kind"] == purpose


def test_a_kind_read_more_than_a_day_ago_is_read_again(tenant: Tenant):
    """As a shared mailbox converted to a user mailbox is seen within a day: the last point says 'user', read 25
    hours ago; the next backup reads the settings of that mailbox (only) and records what Graph says now."""
    ids = _by_purpose(tenant)
    shared = f"exchange:{ids['shared']}"
    now = datetime.now(UTC)
    stale = {"resource": shared, "status": "succeeded", "kind": "user",
             "kind_read_at": (now - timedelta(hours=25)).isoformat()}  # fmt: skip
    tenant.services.runs.record_point(new_run_id(now), stale, [])
    tenant.sim.control.reset_stats()
    summary = tenant.backup()
    assert summary["status"] == "succeeded", summary
    assert tenant.sim.control.stats()["by_kind"].get("mailboxsettings", 0) == 1
    point = tenant.services.runs.points(shared)[-1]
    assert point["run_id"] == summary["run_id"] and point["kind"] == "shared"
