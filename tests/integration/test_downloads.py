"""Downloads end to end (the simulator over loopback HTTPS, Azurite): a file byte for byte, a message as its exact
MIME, a contact as .vcf and an event as .ics that parse back; zips of a drive (the tree byte for byte, in bounded
memory), a mail folder, contacts and calendars; unknown items and folders refused before any byte is written."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import zipfile
from collections.abc import Iterator

import icalendar
import pytest
import vobject

from core.errors import InvalidRequestError, NotFoundError
from core.exports.downloads import open_download, open_zip
from core.exports.mail_export import safe_segment
from tests.integration.tenant import Tenant, open_tenant

DRIVES = {"BACKUP_WORKLOADS": "onedrive", "GRAPH_PAGE_SIZE": "20"}


class Sink:
    """Write-only and non-seekable, like an HTTP response body."""

    def __init__(self, keep: bool = True) -> None:
        self.data, self.bytes, self.keep = bytearray(), 0, keep

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        if self.keep:
            self.data += data
        return len(data)


@pytest.fixture
def mailbox(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=12, seed=47, contacts=4, events=1)
    yield t
    t.close()


@pytest.fixture
def drive_tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, DRIVES, users=1, messages=1, seed=53, sites=0, events=0)
    yield t
    t.close()


def _read(download) -> bytes:
    return b"".join(download.chunks)


def _safe_path(path: str) -> str:
    return "/".join(safe_segment(s) for s in path.split("/"))


def test_message_contact_and_event_downloads(mailbox: Tenant):
    user = mailbox.user(0)
    resource = f"exchange:{user['id']}"
    control = mailbox.sim.control
    message = control.add_message(user["id"], "inbox", subject='Q3: "plans"? <final>', attachments=1)
    run = mailbox.backup()
    assert run["status"] == "succeeded", run
    services = mailbox.services

    got = open_download(services, resource, message["id"])
    original = control.message_mime(user["id"], message["id"])
    assert _read(got) == original and got.size == len(original) and got.sha256 == hashlib.sha256(original).hexdigest()
    assert got.media_type == "message/rfc822" and got.filename == "Q3_ _plans__ _final_.eml"
    assert _read(open_download(services, resource, message["id"], run_id=run["run_id"], category="mail")) == original

    contact = next((c for c in user["contacts"] if c["photo_sha256"]), user["contacts"][0])
    vcf = open_download(services, resource, contact["id"])
    card = vobject.readOne(_read(vcf).decode())
    assert vcf.media_type == "text/vcard" and vcf.filename.endswith(".vcf")
    again = _read(open_download(services, resource, contact["id"], category="contact"))
    assert card.fn.value == contact["displayName"] and vcf.sha256 == hashlib.sha256(again).hexdigest()

    master = next(e for e in user["events"] if e["type"] == "seriesMaster" and e["exception_ids"])
    ics = open_download(services, resource, master["id"], category="event")
    assert ics.media_type == "text/calendar" and ics.filename == f"{safe_segment(master['subject'])}.ics"
    calendar = icalendar.Calendar.from_ical(_read(ics))
    vevents = [c for c in calendar.walk("VEVENT")]
    assert len(vevents) == 1 + len(master["exception_ids"])  # the series and its exceptions
    assert str(vevents[0]["summary"]) == master["subject"] and "rrule" in vevents[0]
    assert all("recurrence-id" in v for v in vevents[1:])

    with pytest.raises(NotFoundError):
        open_download(services, resource, "AAMkA-no-such-item")
    with pytest.raises(NotFoundError):
        open_download(services, resource, message["id"], category="contact")
    with pytest.raises(InvalidRequestError):
        open_download(services, resource, message["id"], category="file")
    control.delete_message(user["id"], message["id"])
    assert mailbox.backup()["status"] == "succeeded"
    with pytest.raises(NotFoundError):  # gone as of the latest run, still there as of the first
        open_download(services, resource, message["id"])
    assert _read(open_download(services, resource, message["id"], run_id=run["run_id"])) == original

    control.update_contact(user["id"], contact["id"], {"jobTitle": "Edited after the first run"})
    assert mailbox.backup()["status"] == "succeeded"  # a second version of the contact
    services.catalog.reads.reset()
    first = _read(open_download(services, resource, contact["id"], run_id=run["run_id"], category="contact"))
    assert first == again and services.catalog.reads.snapshot()["rows"].get("contact") == 1  # no history read


def test_mailbox_zips_of_mail_contacts_and_events(mailbox: Tenant):
    user = mailbox.user(0)
    resource = f"exchange:{user['id']}"
    run = mailbox.backup()
    assert run["status"] == "succeeded", run
    services = mailbox.services

    export = open_zip(services, resource, folder="Inbox")
    sink = Sink()
    counts = export.write_to(sink)
    inbox = [m for m in user["messages"] if m["folder_path"].lstrip("/") == "Inbox"]
    assert export.filename.endswith(".zip") and export.run_id == run["run_id"] and counts["messages"] == len(inbox)
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["messages"]:
            assert archive.read(entry["path"]) == mailbox.sim.control.message_mime(user["id"], entry["id"])

    sink = Sink()
    counts = open_zip(services, resource, category="contact").write_to(sink)
    assert counts["items"] == len(user["contacts"]) and counts["failed"] == 0
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        cards = [vobject.readOne(archive.read(n).decode()) for n in archive.namelist() if n.endswith(".vcf")]
    assert sorted(c.fn.value for c in cards) == sorted(c["displayName"] for c in user["contacts"])

    sink = Sink()
    counts = open_zip(services, resource, category="event").write_to(sink)
    kept = [e for e in user["events"] if e["type"] != "occurrence"]
    exceptions = [e for e in kept if e["type"] == "exception"]
    assert counts["items"] == len(kept) - len(exceptions) and counts["failed"] == 0  # exceptions go with their series
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        events = [icalendar.Calendar.from_ical(archive.read(n)) for n in archive.namelist() if n.endswith(".ics")]
    assert sum(len(list(c.walk("VEVENT"))) for c in events) == len(kept)

    for folder, category in (("No such folder", "mail"), ("Nope", "contact"), ("Inbox/Nope", None)):
        untouched = Sink()
        with pytest.raises(NotFoundError):
            open_zip(services, resource, folder=folder, category=category).write_to(untouched)
        assert untouched.bytes == 0
    with pytest.raises(NotFoundError):
        open_zip(services, resource, run_id="20990101T000000Z-nope")


def test_file_downloads_and_a_drive_zip_byte_for_byte(drive_tenant: Tenant):
    tenant = drive_tenant
    user = tenant.user(0)["id"]
    resource = f"onedrive:{user}"
    control = tenant.sim.control
    drive = control.drive(user)
    big = [control.add_drive_item(drive["id"], f"big {n}.bin", parent="/Photos", size=1_000_000) for n in range(40)]
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    drive = control.drive(user)
    files = {f"{drive['id']}/{i['id']}": i for i in drive["items"] if not i["folder"]}
    services = tenant.services

    pdf_key, pdf = next((k, i) for k, i in files.items() if i["name"].endswith(".pdf"))
    got = open_download(services, resource, pdf_key)
    content = control.drive_item_content(drive["id"], pdf["id"])
    assert _read(got) == content and got.size == len(content) and got.sha256 == pdf["sha256"]
    assert got.media_type == "application/pdf" and got.filename == safe_segment(pdf["name"])
    assert open_download(services, resource, f"{drive['id']}/{big[0]['id']}").media_type == "application/octet-stream"
    with pytest.raises(NotFoundError):
        open_download(services, resource, f"{drive['id']}/no-such-item")

    export = open_zip(services, resource)
    sink = Sink()
    counts = export.write_to(sink)
    assert counts["items"] == len(files) and counts["failed"] == 0
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        names = set(archive.namelist()) - {"manifest.json"}
        assert names == {_safe_path(i["path"].lstrip("/")) for i in files.values()}
        for item in files.values():
            data = archive.read(_safe_path(item["path"].lstrip("/")))
            assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert archive.read("Photos/big 3.bin") == control.drive_item_content(drive["id"], big[3]["id"])
        manifest = json.loads(archive.read("manifest.json"))
        assert {e["id"] for e in manifest["items"]} == set(files) and manifest["failures"] == []

    sink = Sink()
    open_zip(services, resource, folder="Documents").write_to(sink)
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        inside = {_safe_path(i["path"].lstrip("/")) for i in files.values() if i["path"].startswith("/Documents/")}
        assert set(archive.namelist()) - {"manifest.json"} == inside and inside
    untouched = Sink()
    with pytest.raises(NotFoundError):
        open_zip(services, resource, folder="Documents/nope").write_to(untouched)
    assert untouched.bytes == 0

    photos = sum(i["size"] for i in files.values() if i["path"].startswith("/Photos/"))
    tracemalloc.start()
    try:  # the floor: one blob read through the storage SDK (it holds several copies of a 4 MiB read at once)
        assert len(_read(open_download(services, resource, f"{drive['id']}/{big[0]['id']}"))) == 1_000_000
        _, floor = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        counting = Sink(keep=False)
        open_zip(services, resource, folder="Photos").write_to(counting)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nzip of {photos} bytes of photos: {counting.bytes} bytes; peak traced memory {peak} (one read: {floor})")
    assert counting.bytes > 40_000_000 and peak < floor + 3_000_000 and peak < photos / 3
