"""The in-place archive mailbox end to end against the simulator (beta settings/exchange, the archive's folders,
message delta with an expanded folder answered by 308 from an auxiliary archive) and Azurite: a full backup and an
incremental after an archived message was added, edited and deleted, a user without an archive, settings/exchange
failing for one user, the setting that turns it off, restores (a deleted message into the primary mailbox under
"Restored from archive", a present one skipped, a rerun restoring nothing twice), the .eml download and the zip."""

from __future__ import annotations

import base64
import email
import io
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from urllib.parse import quote

import pytest

from core.bootstrap import build_services
from core.config import load_settings
from core.exports.downloads import open_download, open_zip
from core.restore import restore
from core.restore_request import RestoreRequest
from core.runner import run_backup
from graphsim.archive.control_client import ArchiveControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

ARCHIVE = "archive"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange"}
    t = open_tenant(tmp_path_factory.mktemp("archive") / "sim", isolated_storage(azurite), settings,
                    users=2, messages=2, seed=23, contacts=0, events=0, tasks=0, drive_files=1, sites=1,
                    shared_mailboxes=1, archive_messages=4)  # fmt: skip
    yield t
    t.close()


@pytest.fixture(scope="module")
def control(tenant: Tenant) -> Iterator[ArchiveControl]:
    with ArchiveControl(tenant.sim.base_url, tenant.sim.ca_file) as c:
        yield c


def _user(tenant: Tenant, purpose: str = "user", n: int = 0) -> str:
    return [u["id"] for u in tenant.mailboxes() if u.get("purpose", "user") == purpose][n]


def _beta_message(tenant: Tenant, archive_id: str, message_id: str, tail: str = "") -> str:
    endpoint = tenant.services.graph.endpoint
    return f"{endpoint}/beta/users/{quote(archive_id, safe='')}/messages/{quote(message_id, safe='')}{tail}"


@pytest.fixture(scope="module")
def timeline(tenant: Tenant, control: ArchiveControl) -> dict:
    """A full backup, then an archived message added (to the expanded folder), one edited and one deleted (with its
    Graph JSON and MIME read first, through the archive's main id: a 308 when the auxiliary holds it), then an
    incremental."""
    user = _user(tenant)
    before = control.state(user)
    graph = tenant.services.graph
    redirects = graph.stats().get("redirects", 0)
    first = tenant.backup()
    followed = graph.stats().get("redirects", 0) - redirects
    main = [m for m in before["messages"] if m["mailbox_id"] == before["archive_id"]]
    deleted, edited = main[0], main[1]  # the first archived message always has an attachment
    original = graph.get_json(_beta_message(tenant, before["archive_id"], deleted["id"]))
    mime = graph.request("GET", _beta_message(tenant, before["archive_id"], deleted["id"], "/$value")).content
    added = control.add_message(user, folder="Archive 2023/Projects", subject="Archived later")
    control.update_message(user, edited["id"], isRead=not edited["isRead"], categories=["Red category"])
    control.delete_message(user, deleted["id"])
    second = tenant.backup()
    assert first["status"] == second["status"] == "succeeded", (first, second)
    return {"user": user, "before": before, "first": first["run_id"], "second": second["run_id"], "redirects": followed,
            "deleted": deleted, "edited": edited, "added": added, "original": original, "mime": mime}  # fmt: skip


def _archived(tenant: Tenant, user: str, run_id: str) -> dict:
    return {v.item_id: v for v in tenant.services.catalog.as_of(f"exchange:{user}", ARCHIVE, run_id)}


def test_a_full_backup_keeps_every_archived_message_in_its_archive_folder(tenant: Tenant, timeline: dict):
    user, before = timeline["user"], timeline["before"]
    items = _archived(tenant, user, timeline["first"])
    assert {i: v.folder_path for i, v in items.items()} == {m["id"]: m["folder_path"].strip("/")
                                                             for m in before["messages"]}  # fmt: skip
    assert {m["folder_path"] for m in before["messages"]} == {"/Archive 2023", "/Archive 2023/Projects"}
    folders = tenant.services.catalog.as_of(f"exchange:{user}", "afolder", timeline["first"])
    assert sorted(f.folder_path for f in folders) == ["Archive 2023", "Archive 2023/Projects"]
    mime = tenant.services.content.read(items[timeline["deleted"]["id"]].content_hash)
    assert mime == timeline["mime"] and items[timeline["deleted"]["id"]].name == timeline["original"]["subject"]
    # the expanded folder's delta (and its messages' MIME) came from the auxiliary archive through 308s
    assert timeline["redirects"] >= 1 + sum(1 for m in before["messages"] if m["mailbox_id"] == before["auxiliary_id"])
    # archived messages are not mail: the primary's mail category holds none of them
    mail = {v.item_id for v in tenant.services.catalog.as_of(f"exchange:{user}", "mail", timeline["first"])}
    assert not mail & set(items)


def test_an_incremental_records_the_added_the_edited_and_the_deleted(tenant: Tenant, timeline: dict):
    user = timeline["user"]
    first, second = _archived(tenant, user, timeline["first"]), _archived(tenant, user, timeline["second"])
    added, edited, deleted = timeline["added"]["id"], timeline["edited"]["id"], timeline["deleted"]["id"]
    assert set(second) == (set(first) - {deleted}) | {added}
    assert deleted in first and second[added].folder_path == "Archive 2023/Projects"
    assert first[edited].first_seen_run == timeline["first"] and second[edited].first_seen_run == timeline["second"]
    assert second[edited].is_read is (not timeline["edited"]["isRead"]) and "Red category" in second[edited].extra
    assert first[edited].content_hash == second[edited].content_hash  # a state change: no new content
    history = tenant.services.catalog.history(f"exchange:{user}", ARCHIVE, deleted)
    assert [v.deleted_run for v in history] == [timeline["second"]]


def test_a_mailbox_without_an_archive_backs_up_nothing_of_it_and_notes_nothing(tenant: Tenant, timeline: dict):
    shared = _user(tenant, "shared")
    resource = f"exchange:{shared}"
    assert not _archived(tenant, shared, timeline["second"])
    points = tenant.services.runs.points(resource)
    assert points and all(p["status"] == "succeeded" and not any("archive" in n for n in p["notes"]) for p in points)


def test_settings_exchange_failing_for_one_user_is_a_note_and_the_rest_backs_up(tenant: Tenant, timeline: dict):
    user, sibling = timeline["user"], _user(tenant, n=1)
    tenant.sim.control.set_faults({"kind": "not_found", "user": user, "endpoint": "exchange_settings", "count": 1})
    try:
        run = tenant.backup()
    finally:
        tenant.sim.control.clear_faults()
    point = next(p for p in tenant.services.runs.points(f"exchange:{user}") if p["run_id"] == run["run_id"])
    assert point["status"] == "succeeded" and any("settings/exchange answered 404" in n for n in point["notes"])
    assert tenant.services.catalog.as_of(f"exchange:{user}", "mail", run["run_id"])  # the mailbox backed up
    assert set(_archived(tenant, user, run["run_id"])) == set(_archived(tenant, user, timeline["second"]))
    sibling_point = next(p for p in tenant.services.runs.points(f"exchange:{sibling}") if p["run_id"] == run["run_id"])
    assert sibling_point["status"] == "succeeded" and not sibling_point["notes"]


def test_the_setting_off_sends_no_archive_request(tenant: Tenant, timeline: dict):
    services = build_services(load_settings({**tenant.env, "BACKUP_ARCHIVE_MAILBOXES": "false"}))
    [fault] = tenant.sim.control.set_faults({"kind": "not_found", "endpoint": "exchange_settings", "count": None})
    try:
        run = run_backup(services)
        hits = next(f for f in tenant.sim.control.faults() if f["id"] == fault["id"])["hits"]
    finally:
        tenant.sim.control.clear_faults()
        services.close()
    assert run["status"] == "succeeded" and hits == 0


def _restored(tenant: Tenant, user: str, path: str) -> list[dict]:
    """The messages of the primary mailbox's folder at `path` (display names from the top), as Graph reports them."""
    graph, parent = tenant.services.graph, None
    for name in path.split("/"):
        url = f"users/{user}/mailFolders/{parent}/childFolders" if parent else f"users/{user}/mailFolders"
        parent = next(f["id"] for page in graph.iter_pages(url, params={"$top": "100"}) for f in page
                      if f["displayName"] == name)  # fmt: skip
    return [m for page in graph.iter_pages(f"users/{user}/mailFolders/{parent}/messages") for m in page]


def _attachments(mime: bytes) -> list[tuple[str, bytes]]:
    message = email.message_from_bytes(mime, policy=default)
    assert isinstance(message, EmailMessage)
    return sorted((str(p.get_filename()), p.get_content()) for p in message.iter_attachments())


def test_a_deleted_message_is_restored_into_the_primary_once(tenant: Tenant, timeline: dict):
    user, original = timeline["user"], timeline["original"]
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["first"], category=ARCHIVE,
                             item_ids=(timeline["deleted"]["id"],))  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.skipped, report.failed) == (1, 0, 0), report.to_dict()
    assert report.items[0]["into"] == "primary" and report.destination == "Restored from archive"
    [restored] = _restored(tenant, user, "Restored from archive/Archive 2023")
    assert restored["isDraft"] is False
    for key in ("subject", "receivedDateTime", "sentDateTime", "from", "toRecipients", "isRead", "importance",
                "internetMessageId", "hasAttachments"):  # fmt: skip
        assert restored[key] == original[key], key
    graph = tenant.services.graph
    attachments = [a for page in graph.iter_pages(f"users/{user}/messages/{restored['id']}/attachments") for a in page]
    got = sorted((a["name"], base64.b64decode(a["contentBytes"])) for a in attachments)
    assert got and got == _attachments(timeline["mime"])
    again = restore(tenant.services, request)  # a rerun: the marker finds the copy
    assert (again.restored, again.skipped) == (0, 1)
    assert len(_restored(tenant, user, "Restored from archive/Archive 2023")) == 1


def test_a_message_still_in_the_archive_is_skipped(tenant: Tenant, timeline: dict):
    user = timeline["user"]
    present = [timeline["edited"]["id"], timeline["added"]["id"]]  # the second one through the auxiliary's 308
    request = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["second"], category=ARCHIVE,
                             item_ids=tuple(present))  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.skipped) == (0, 2) and {i["into"] for i in report.items} == {"archive"}
    both = RestoreRequest(resource=f"exchange:{user}", run_id=timeline["second"], category=ARCHIVE,
                          item_ids=(present[1],), conflict="keep-both")  # fmt: skip
    kept = restore(tenant.services, both)
    assert kept.restored == 1 and [m["subject"] for m in _restored(tenant, user, "Restored from archive/Archive 2023/"
                                                                   "Projects")] == ["Archived later"]  # fmt: skip


def test_download_and_export_are_eml_laid_out_by_archive_folder(tenant: Tenant, timeline: dict):
    resource = f"exchange:{timeline['user']}"
    download = open_download(tenant.services, resource, timeline["deleted"]["id"], run_id=timeline["first"],
                             category=ARCHIVE)  # fmt: skip
    data = b"".join(download.chunks)
    assert download.filename.endswith(".eml") and download.media_type == "message/rfc822"
    parsed = email.message_from_bytes(data, policy=default)
    assert parsed["Subject"] == timeline["original"]["subject"] and data == timeline["mime"]
    out = io.BytesIO()
    counts = open_zip(tenant.services, resource, run_id=timeline["first"], category=ARCHIVE).write_to(out)
    names = zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
    folders = sorted({n.rpartition("/")[0] for n in names if n.endswith(".eml")})
    assert folders == ["Archive 2023", "Archive 2023/Projects"] and counts["messages"] == len(
        timeline["before"]["messages"]
    )
