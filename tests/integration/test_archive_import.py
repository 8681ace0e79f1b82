"""Restores INTO the in-place archive, end to end against the simulator and Azurite: the backup keeps each archived
message's export stream beside its MIME (exportItems, at most 20 a call, only new and changed messages; the
auxiliary archive's per-item redirect followed), verify sees the second blob; a deleted archived message restored
with `destination="into-archive"` is in its archive folder again as the owner had it (through the beta Mail API the
backup reads: not a draft, its dates and read state), a second restore creates nothing, a message in the expanded
folder goes to the auxiliary archive (the import's 409 followed), and a message whose export failed at backup is
restored into the primary mailbox with a note. Requests per restored message are counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from core.errors import InvalidRequestError
from core.restore import restore
from core.restore_request import RestoreRequest
from core.verify import verify_resource
from core.workloads.exchange.archive import ARCHIVE_CATEGORY
from graphsim.archive.control_client import ArchiveControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

ARCHIVE = "archive"
# measured: 9 for the first (the restore's own checks of owner and target, settings/exchange, the archive folder's
# Mail API listing, the import API's folder tree (2), a session, the import), 1 for each next one of the folder
MAX_REQUESTS_FIRST_ITEM = 10
MAX_REQUESTS_NEXT_ITEM = 1  # the import alone: listings and the session are the job's


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    t = open_tenant(tmp_path_factory.mktemp("archive-import") / "sim", isolated_storage(azurite),
                    {"BACKUP_WORKLOADS": "exchange"}, users=1, messages=1, seed=29, contacts=0, events=0, tasks=0,
                    drive_files=1, sites=1, archive_messages=6)  # fmt: skip
    yield t
    t.close()


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[ArchiveControl]:
    with ArchiveControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


def _beta(tenant: Tenant, mailbox: str, message_id: str) -> str:
    graph = tenant.services.graph
    return f"{graph.endpoint}/beta/users/{quote(mailbox, safe='')}/messages/{quote(message_id, safe='')}"


def _versions(tenant: Tenant, user: str, run_id: str) -> dict:
    return {v.item_id: v for v in tenant.services.catalog.as_of(f"exchange:{user}", ARCHIVE, run_id)}


@pytest.fixture(scope="module")
def timeline(tenant: Tenant, control: ArchiveControl) -> dict:
    """A full backup with one message's export failing, a backup with nothing changed, then one message edited and
    three deleted (one in the main archive, one in the expanded folder, the one without a stream), a third backup."""
    user = tenant.user(0)["id"]
    before = control.state(user)
    main = [m for m in before["messages"] if m["mailbox_id"] == before["archive_id"]]
    auxiliary = [m for m in before["messages"] if m["mailbox_id"] == before["auxiliary_id"]]
    deleted, failing, edited, expanded = main[0], main[1], main[2], auxiliary[0]
    originals = {m["id"]: tenant.services.graph.get_json(_beta(tenant, before["archive_id"], m["id"]))
                 for m in (deleted, expanded)}  # fmt: skip
    control.fail_export(user, failing["id"])
    sim = tenant.sim.control
    sim.reset_stats()
    first = tenant.backup()
    exports_full = sim.stats()["by_kind"].get("mailbox_export", 0)
    control.fail_export(user, failing["id"], fail=False)
    sim.reset_stats()
    unchanged = tenant.backup()
    exports_unchanged = sim.stats()["by_kind"].get("mailbox_export", 0)
    control.update_message(user, edited["id"], isRead=not edited["isRead"])
    sim.reset_stats()
    edit = tenant.backup()
    exports_edit = sim.stats()["by_kind"].get("mailbox_export", 0)
    for message in (deleted, expanded, failing):
        control.delete_message(user, message["id"])
    last = tenant.backup()
    assert {r["status"] for r in (first, unchanged, edit, last)} == {"succeeded"}
    return {"user": user, "before": before, "first": first["run_id"], "edit": edit["run_id"], "deleted": deleted,
            "failing": failing, "edited": edited, "expanded": expanded, "originals": originals,
            "exports": (exports_full, exports_unchanged, exports_edit)}  # fmt: skip


def test_the_backup_keeps_an_export_stream_beside_the_mime_of_each_archived_message(tenant: Tenant, timeline):
    user, failing = timeline["user"], timeline["failing"]["id"]
    versions = _versions(tenant, user, timeline["first"])
    assert set(versions) == {m["id"] for m in timeline["before"]["messages"]}
    streams = {i: json.loads(v.extra or "{}").get("fts", "") for i, v in versions.items()}
    assert streams[failing] == "" and all(streams[i] for i in versions if i != failing)
    for item_id, version in versions.items():  # the category names both blobs, and both are stored
        refs = ARCHIVE_CATEGORY.content_refs(version)
        assert refs == ((version.content_hash, streams[item_id]) if streams[item_id] else (version.content_hash,))
        assert all(tenant.services.content.read(ref) for ref in refs)
    point = next(p for p in tenant.services.runs.points(f"exchange:{user}") if p["run_id"] == timeline["first"])
    assert any("without an export stream" in n and "ErrorCorruptData" in n for n in point["notes"]), point["notes"]
    checked = verify_resource(tenant.services, f"exchange:{user}")  # verify reads the streams back too
    assert not checked.problems and checked.blobs >= len(versions) + sum(1 for s in streams.values() if s)


def test_exports_are_incremental_and_batched(tenant: Tenant, timeline: dict):
    full, unchanged, edit = timeline["exports"]
    # full (6 messages, 2 folders): one call per folder page with messages (at most 20 ids a call), plus one at the
    # auxiliary for the expanded folder's (measured: 3), never one per message; nothing changed: none; one edited: one
    assert 1 <= full <= 4 and unchanged == 0 and edit == 1
    versions = _versions(tenant, timeline["user"], timeline["edit"])
    edited = versions[timeline["edited"]["id"]]
    assert edited.first_seen_run == timeline["edit"] and json.loads(edited.extra)["fts"]


def _archive_messages(tenant: Tenant, control: ArchiveControl, user: str, imid: str) -> list[dict]:
    return [m for m in control.state(user)["messages"] if m["internetMessageId"] == imid]


def test_a_deleted_archived_message_is_restored_into_its_archive_folder_once(tenant: Tenant, control, timeline):
    user, deleted = timeline["user"], timeline["deleted"]
    original = timeline["originals"][deleted["id"]]
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["first"], category=ARCHIVE,
                             item_ids=(deleted["id"],), destination="into-archive")  # fmt: skip
    graph = tenant.services.graph
    sent = graph.stats()["requests"]
    report = restore(tenant.services, request)
    used = graph.stats()["requests"] - sent
    assert (report.restored, report.skipped, report.failed) == (1, 0, 0), report.to_dict()
    assert report.items[0]["into"] == "archive" and report.items[0]["new_id"].startswith("EDS")
    assert used <= MAX_REQUESTS_FIRST_ITEM, used
    [back] = _archive_messages(tenant, control, user, deleted["internetMessageId"])
    assert back["folder_path"] == "/Archive 2023" and back["mailbox_id"] == timeline["before"]["archive_id"]
    got = graph.get_json(_beta(tenant, timeline["before"]["archive_id"], back["id"]))  # as the backup reads it
    assert got["isDraft"] is False
    for key in ("subject", "receivedDateTime", "sentDateTime", "isRead", "from", "internetMessageId", "importance"):
        assert got[key] == original[key], key
    assert back["sha256"] == deleted["sha256"]  # the same MIME
    again = restore(tenant.services, request)
    assert (again.restored, again.skipped, again.failed) == (0, 1, 0) and again.items[0]["into"] == "archive"
    assert len(_archive_messages(tenant, control, user, deleted["internetMessageId"])) == 1


def test_an_expanded_folder_s_message_goes_to_the_auxiliary_archive(tenant: Tenant, control, timeline):
    user, expanded = timeline["user"], timeline["expanded"]
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["first"], category=ARCHIVE,
                             item_ids=(expanded["id"],), destination="into-archive")  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.failed) == (1, 0), report.to_dict()
    [back] = _archive_messages(tenant, control, user, expanded["internetMessageId"])
    assert back["folder_path"] == "/Archive 2023/Projects" and back["mailbox_id"] == timeline["before"]["auxiliary_id"]
    got = tenant.services.graph.get_json(_beta(tenant, timeline["before"]["archive_id"], back["id"]))  # a 308
    assert (
        got["isDraft"] is False and got["receivedDateTime"] == timeline["originals"][expanded["id"]]["receivedDateTime"]
    )


def test_a_message_without_an_export_stream_goes_to_the_primary_with_a_note(tenant: Tenant, control, timeline):
    user, failing = timeline["user"], timeline["failing"]
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["first"], category=ARCHIVE,
                             item_ids=(failing["id"],), destination="into-archive")  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.failed) == (1, 0), report.to_dict()
    [entry] = report.items
    assert entry["into"] == "primary" and "no export stream" in entry["note"]
    assert not _archive_messages(tenant, control, user, failing["internetMessageId"])
    again = restore(tenant.services, request)  # the primary's copy is found by its marker: not restored twice
    assert (again.restored, again.skipped) == (0, 1)


def test_several_messages_cost_about_one_request_each(tenant: Tenant, control, timeline):
    user = timeline["user"]
    present = [m for m in control.state(user)["messages"] if m["folder_path"] == "/Archive 2023"]
    for message in present:
        control.delete_message(user, message["id"])
    versions = _versions(tenant, user, timeline["edit"])
    ids = tuple(
        i for i, v in versions.items() if v.folder_path == "Archive 2023" and json.loads(v.extra or "{}").get("fts")
    )
    assert len(ids) >= 2
    graph = tenant.services.graph
    sent = graph.stats()["requests"]
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["edit"], category=ARCHIVE, item_ids=ids,
                             destination="into-archive")  # fmt: skip
    report = restore(tenant.services, request)
    used = graph.stats()["requests"] - sent
    assert (report.restored, report.failed) == (len(ids), 0), report.items
    assert used <= MAX_REQUESTS_FIRST_ITEM + MAX_REQUESTS_NEXT_ITEM * (len(ids) - 1), used


def test_destination_archive_is_refused_for_other_categories(tenant: Tenant, timeline: dict):
    user = timeline["user"]
    with pytest.raises(InvalidRequestError, match=r"into-archive.*archived messages"):
        RestoreRequest(resource=f"exchange:{user}", whole=True, category="mail", destination="into-archive")


def test_an_import_whose_answer_is_lost_is_found_and_not_sent_again(tenant: Tenant, control, timeline: dict):
    user, edited = timeline["user"], timeline["edited"]
    [present] = _archive_messages(tenant, control, user, edited["internetMessageId"])
    control.delete_message(user, present["id"])
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["edit"], category=ARCHIVE,
                             item_ids=(edited["id"],), destination="into-archive")  # fmt: skip
    stats = tenant.sim.control.stats()
    # the import is carried out, then its connection drops before the answer: a write that may have landed
    tenant.sim.control.set_faults({"kind": "reset_response", "user": user, "methods": ["POST"], "count": 1})
    try:
        report = restore(tenant.services, request)
    finally:
        tenant.sim.control.clear_faults()
    after = tenant.sim.control.stats()
    assert after["resets"] == stats["resets"] + 1 and (report.restored, report.failed) == (1, 0), report.items
    assert report.items[0]["into"] == "archive" and report.items[0]["new_id"] == ""  # found by its internetMessageId
    assert after["by_kind"]["mailbox_import"] == stats["by_kind"]["mailbox_import"] + 1  # sent once, never resent
    assert len(_archive_messages(tenant, control, user, edited["internetMessageId"])) == 1
