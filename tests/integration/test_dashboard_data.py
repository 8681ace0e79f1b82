"""The dashboard's figures against the stores they are read from, after real backups (simulator + Azurite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.dashboard import dashboard_data
from core.restore_request import RestoreReport, RestoreRequest
from tests.integration.tenant import Tenant, open_tenant

SHARED_MIME = (
    b"From: Payroll <payroll@contoso.example>\r\nTo: all@contoso.example\r\nSubject: Pay slips are ready\r\n"
    b"Message-ID: <shared-1@contoso.example>\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + b"The same message in every mailbox.\r\n" * 400
)


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=2, messages=6, seed=5, contacts=0, events=0, tasks=0,
                    archive_messages=0)  # fmt: skip  # the figures below sum mail, the only category
    yield t
    t.close()


def two_backups(tenant: Tenant) -> tuple[dict, dict]:
    """A full backup with one message delivered to both mailboxes, then an incremental one after a change."""
    users = [u["id"] for u in tenant.mailboxes()]
    for user in users:
        tenant.sim.control.add_message(user, "inbox", mime=SHARED_MIME)
    first = tenant.backup()
    tenant.sim.control.add_message(users[0], "inbox", subject="after the first run", attachments=1)
    second = tenant.backup()
    assert first["status"] == second["status"] == "succeeded", (first, second)
    return first, second


def test_runs_and_resources_match_the_run_store(tenant: Tenant):
    first, second = two_backups(tenant)
    data = dashboard_data(tenant.services)
    runs = tenant.services.runs

    assert [r["id"] for r in data["runs"]] == [first["run_id"], second["run_id"]]  # oldest first
    for row, stored in zip(data["runs"], reversed(runs.list(limit=2)), strict=True):
        for key in ("status", "trigger", "started_at", "finished_at", "items", "bytes", "failed", "failed_items"):
            assert row[key] == stored[key], key
        assert row["duration_seconds"] is not None and row["duration_seconds"] >= 0
    assert data["runs"][0]["items"] == first["items"] > data["runs"][1]["items"] == second["items"] > 0

    assert {r["resource"] for r in data["resources"]} == set(runs.resources())
    for row in data["resources"]:
        latest = runs.points(row["resource"])[-1]
        assert row["workload"] == "exchange" and row["status"] == "succeeded" and row["error"] == ""
        assert row["last_good_run_id"] == row["last_run_id"] == second["run_id"]
        assert (row["items"], row["bytes"], row["last_good_at"]) == (
            latest["items"],
            latest["bytes"],
            latest["finished_at"],
        )
    assert data["lookback"] == {"runs": 2, "since_run": first["run_id"]}


def test_storage_figures_match_the_blobs_and_the_catalog(tenant: Tenant):
    first, second = two_backups(tenant)
    storage = dashboard_data(tenant.services)["storage"]

    blobs = list(tenant.services.content._container.list_blobs(name_starts_with="sha256/"))  # not the journal
    assert storage["blobs"] == len(blobs) == tenant.blob_count()
    assert storage["stored_bytes"] == sum(b.size for b in blobs)
    assert storage["stored_bytes"] == first["bytes"] + second["bytes"]  # every blob written once, by one run
    # logical: every catalogued version (each is live at one of the two runs), at its recorded size
    versions = {}
    for resource in tenant.services.runs.resources():
        for run in (first["run_id"], second["run_id"]):
            for v in tenant.services.catalog.as_of(resource, "mail", run):
                versions[(resource, v.item_id, v.first_seen_run)] = v.size
    assert storage["logical_bytes"] == sum(versions.values())
    # the shared message is stored once for two mailboxes: at least its size is saved
    assert storage["complete"] is True
    assert storage["saved_bytes"] == storage["logical_bytes"] - storage["stored_bytes"] >= len(SHARED_MIME)
    assert storage["dedup_savings"] == round(storage["saved_bytes"] / storage["logical_bytes"], 4) > 0


def test_storage_scans_are_bounded(tenant: Tenant):
    two_backups(tenant)
    storage = dashboard_data(tenant.services, scan_limit=3)["storage"]
    assert storage["complete"] is False and storage["blobs"] == 3 and storage["versions"] == 3
    assert storage["dedup_savings"] is None and storage["saved_bytes"] is None


def test_recent_restores_with_their_counts(tenant: Tenant):
    _, second = two_backups(tenant)
    jobs = tenant.services.restore_jobs
    resource = tenant.services.runs.resources()[0]
    request = RestoreRequest(resource=resource, whole=True, parts=2)
    for n, name in enumerate(("Alice Admin", "Bob <b>Operator</b>")):
        job_id = f"r20261122T10000{n}-0000000{n}"
        jobs.create(job_id, request, {"oid": f"oid-{n}", "name": name, "roles": ["Backup.Admin"]})
        jobs.start(job_id, second["run_id"], 2, "original")
        jobs.record_part(job_id, 0, RestoreReport(resource, second["run_id"], "u", "", restored=4, skipped=1))
        if n == 0:
            jobs.record_part(job_id, 1, RestoreReport(resource, second["run_id"], "u", "", restored=2, failed=1))
            jobs.finish(job_id, "partial")

    restores = dashboard_data(tenant.services)["restores"]
    assert [r["id"] for r in restores] == ["r20261122T100001-00000001", "r20261122T100000-00000000"]  # newest first
    running, done = restores
    assert (running["status"], running["requester"], running["parts_done"], running["parts"]) == (
        "running", "Bob <b>Operator</b>", 1, 2)  # fmt: skip
    assert (running["restored"], running["skipped"], running["failed"], running["finished_at"]) == (4, 1, 0, "")
    assert (done["status"], done["restored"], done["skipped"], done["failed"], done["parts_done"]) == (
        "partial", 6, 1, 1, 2)  # fmt: skip
    assert done["duration_seconds"] is not None and done["resource"] == resource


def test_an_empty_tenant(tenant: Tenant):
    data = dashboard_data(tenant.services)
    assert data["runs"] == [] and data["resources"] == [] and data["restores"] == []
    assert data["storage"]["stored_bytes"] == data["storage"]["logical_bytes"] == 0
    assert data["storage"]["dedup_savings"] is None and data["generated_at"]


def test_dedup_savings_count_every_blob_a_version_references(tmp_path, storage_env):
    """Issue 15: the headline was negative (-218.8 %) because event attachments and contact photos are blobs of
    their own that version sizes leave out. Logical bytes now count every blob each version references (its
    category's content_refs) at its stored size, so savings are never negative and equal what sharing saves."""
    from core.workloads import registry

    t = open_tenant(tmp_path / "sim", storage_env, users=2, messages=2, seed=9, contacts=2, events=3, tasks=0,
                    archive_messages=0)  # fmt: skip
    try:
        users = [u["id"] for u in t.mailboxes()]
        for user in users:  # one large attachment each: far larger than every version's own size together
            event = t.sim.control.add_event(user, subject="Board pack")
            t.sim.control.add_event_attachment(user, event["id"], size=300_000, name="board-pack.pdf")
        assert t.backup()["status"] == "succeeded"
        storage = dashboard_data(t.services)["storage"]
        container = t.services.content._container
        sizes = {
            b.name: b.size for p in ("sha256/", "zstd/", "keyed/") for b in container.list_blobs(name_starts_with=p)
        }
        every = list(t.services.catalog.every_version())
        assert sum(v.size for _, v in every) < storage["stored_bytes"]  # the old logical figure: negative savings
        expected = 0
        for resource, version in every:
            for sha in registry.content_refs(resource)(version):
                expected += next(sizes[n] for n in t.services.content.stored_names(sha) if n in sizes)
        assert storage["logical_bytes"] == expected
        assert storage["referenced_bytes"] == storage["stored_bytes"] == sum(sizes.values())
        assert storage["unreferenced_blobs"] == storage["unmatched_refs"] == 0
        assert storage["saved_bytes"] == expected - storage["stored_bytes"] >= 0
        assert 0 <= storage["dedup_savings"] == round(1 - storage["stored_bytes"] / expected, 4) < 1
    finally:
        t.close()
