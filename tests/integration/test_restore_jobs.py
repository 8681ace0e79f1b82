"""The restore-job store against Azurite: a part's outcome always fits its Table entity, however long its lists."""

from __future__ import annotations

from core.config import load_settings
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.restore_jobs import RestoreJobStore, new_job_id
from core.storage.tables import table_clients

ENV = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "s"}


def _store(storage_env: dict[str, str]) -> RestoreJobStore:
    return RestoreJobStore(table_clients(load_settings({**ENV, **storage_env}))["restorejobs"])


def test_a_part_with_long_item_and_failure_lists_is_recorded_and_counted(storage_env):
    store = _store(storage_env)
    job = new_job_id()
    resource = "exchange:00000000-0000-0000-0000-000000000001"
    store.create(job, RestoreRequest(resource, whole=True), {"oid": "o", "name": "n", "roles": ["Restore.Operator"]})
    store.start(job, "20261122T060000Z", 2, "")
    report = RestoreReport(resource, "20261122T060000Z", "o", "")
    for n in range(140):  # ids as long as Exchange's: ~290 JSON characters per restored item
        report.done({"item_id": f"AAMkAD{n:04d}" + "x" * 140, "folder": "Inbox/Projects", "sha256": "ab" * 32},
                    "BBMkAD" + "y" * 140)  # fmt: skip
    for n in range(100):
        report.fail(f"item-{n}", "ErrorItemNotFound " + "z" * 400)

    counts = store.record_part(job, 0, report)
    store.record_part(job, 1, RestoreReport(resource, "20261122T060000Z", "o", "", restored=3))

    assert counts == {"restored": 140, "skipped": 0, "failed": 100}
    status = store.get(job)
    assert status["progress"] == {"parts": 2, "parts_done": 2, "restored": 143, "skipped": 0, "failed": 100}
    assert 0 < len(status["items"]) < 140 and 0 < len(status["failures"]) < 100
    assert len(status["items"]) + status["items_not_listed"] == 140
    assert len(status["failures"]) + status["failures_not_listed"] == 100
    assert status["items"][0]["item_id"].startswith("AAMkAD0000")  # a prefix is kept, in order
