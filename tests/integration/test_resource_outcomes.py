"""A resource that cannot be backed up is never recorded as backed up: a user without a mailbox is skipped with its
reason, a user or site that is not in the tenant fails, and a run that backed up nothing is not 'succeeded'."""

from __future__ import annotations

from tests.integration.tenant import open_tenant

GHOST = "11111111-2222-3333-4444-555555555555"


def test_mailbox_less_and_missing_resources_are_visible_not_successes(tmp_path, storage_env):
    """Issue 11 item 10d: mailbox-less and not-found resources counted as success."""
    settings = {"BACKUP_WORKLOADS": "exchange,onedrive"}
    tenant = open_tenant(tmp_path / "sim", storage_env, settings, users=1, messages=2, contacts=0, events=0,
                         drive_files=1)  # fmt: skip
    try:
        no_mailbox = next(u["id"] for u in tenant.sim.control.state()["users"] if not u["has_mailbox"])
        keys = [f"exchange:{no_mailbox}", f"onedrive:{GHOST}", f"exchange:{GHOST}"]
        report = tenant.backup(resources=keys)
        by_key = {r["resource"]: r for r in report["results"]}
        assert by_key[f"exchange:{no_mailbox}"]["status"] == "skipped"
        assert "no mailbox" in by_key[f"exchange:{no_mailbox}"]["error"]
        for key in (f"onedrive:{GHOST}", f"exchange:{GHOST}"):
            assert by_key[key]["status"] == "failed", by_key[key]
            assert f"user {GHOST!r} is not in the tenant" in by_key[key]["error"]
        assert report["status"] == "failed" and (report["failed"], report["skipped"]) == (2, 1)
        point = tenant.services.runs.points(f"onedrive:{GHOST}")[-1]
        assert point["status"] == "failed" and "not in the tenant" in point["error"]

        alone = tenant.backup(resources=[f"exchange:{no_mailbox}"])
        assert alone["status"] == "skipped" and alone["skipped"] == 1  # nothing was backed up: not a success
        assert tenant.services.runs.get(alone["run_id"])["status"] == "skipped"
    finally:
        tenant.close()
