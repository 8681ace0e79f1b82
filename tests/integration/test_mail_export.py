"""Mail exports end to end (the simulator over loopback HTTPS, Azurite): a message as .eml equal to the simulator's
MIME, a mailbox as a zip streamed to a write-only pipe, and a 2,000-message mailbox exported in bounded memory."""

from __future__ import annotations

import email
import email.policy
import io
import json
import time
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Iterator

import pytest

from core.errors import InvalidRequestError, NotFoundError
from core.exports.mail_export import export_mail_zip, export_message
from core.exports.zip_stream import ZipStreamWriter, check_entry_name
from tests.integration.tenant import Tenant, open_tenant, sha256


class PipeLike:
    """Write-only and non-seekable, like a socket or an HTTP response body: only write() exists."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.writes = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.writes += 1
        return len(data)

    def getvalue(self) -> bytes:
        return bytes(self._buffer)


class CountingSink:
    """Write-only, keeping nothing but a count (so the measured memory is the exporter's own)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=40, seed=31)
    yield t
    t.close()


def _user_state(tenant: Tenant, user_id: str) -> dict:
    return next(u for u in tenant.sim.control.state()["users"] if u["id"] == user_id)


def test_one_message_exports_as_its_exact_mime(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    message = next(m for m in _user_state(tenant, user)["messages"] if m["subject"])
    original = tenant.sim.control.message_mime(user, message["id"])

    out = io.BytesIO()
    written = export_message(tenant.services, resource, message["id"], run["run_id"], out)
    assert written == len(original) and out.getvalue() == original
    parsed = email.message_from_bytes(out.getvalue(), policy=email.policy.default)
    assert parsed["Message-ID"] == message["internetMessageId"]
    assert str(parsed["Subject"]) == message["subject"]
    assert parsed.get_body(("plain", "html")) is not None

    latest = io.BytesIO()  # run_id None: the latest usable run
    export_message(tenant.services, resource, message["id"], None, latest)
    assert latest.getvalue() == original

    tenant.sim.control.delete_message(user, message["id"])
    second = tenant.backup()
    with pytest.raises(NotFoundError):  # gone as of the second run, still there as of the first
        export_message(tenant.services, resource, message["id"], second["run_id"], io.BytesIO())
    again = io.BytesIO()
    export_message(tenant.services, resource, message["id"], run["run_id"], again)
    assert again.getvalue() == original
    with pytest.raises(NotFoundError):
        export_message(tenant.services, resource, "AAMkA-no-such-id", run["run_id"], io.BytesIO())
    with pytest.raises(NotFoundError):
        export_message(tenant.services, resource, message["id"], "20990101T000000Z-nope", io.BytesIO())

    edited = next(m for m in _user_state(tenant, user)["messages"] if m["subject"] and m["id"] != message["id"])
    before_edit = tenant.sim.control.message_mime(user, edited["id"])
    tenant.sim.control.update_message(user, edited["id"], subject="Edited after the first run")
    assert tenant.backup()["status"] == "succeeded"  # a second version of it
    tenant.services.catalog.reads.reset()
    as_first = io.BytesIO()
    export_message(tenant.services, resource, edited["id"], run["run_id"], as_first)
    assert as_first.getvalue() == before_edit
    assert tenant.services.catalog.reads.snapshot()["rows"] == {"mail": 1}  # its version as of the run, no history


def test_mailbox_zip_streams_to_a_pipe_with_the_folder_tree(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    # Names that must not escape the archive or break a file system
    odd = control.create_folder(user, 'Q1/Q2: "plans"? <draft>|*')
    tricky = [
        control.add_message(user, odd["id"], subject="../../etc/passwd"),
        control.add_message(user, "inbox", subject="CON"),
        control.add_message(user, "inbox", subject="  dots and spaces ... "),
        control.add_message(user, "inbox", subject="Ünïcödé — 日本語の件名 ✓" * 8),
        control.add_message(user, "inbox", subject="same subject"),
        control.add_message(user, "inbox", subject="same subject"),
    ]
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    catalog = {v.item_id: v for v in tenant.services.catalog.as_of(resource, "mail", run["run_id"])}
    state = _user_state(tenant, user)
    folder_paths = {f["id"]: f["path"].lstrip("/") for f in state["folders"]}

    pipe = PipeLike()
    started = time.monotonic()
    counts = export_mail_zip(tenant.services, resource, run["run_id"], pipe)
    print(f"\nzip of {counts['messages']} messages: {counts['zip_bytes']} bytes in {time.monotonic() - started:.2f}s")
    assert counts["messages"] == len(catalog) == len(state["messages"]) and counts["failed"] == 0
    assert counts["zip_bytes"] == len(pipe.getvalue()) and pipe.writes > len(catalog)

    archive = zipfile.ZipFile(io.BytesIO(pipe.getvalue()))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == len(set(names)) == len(catalog) + 1
    assert len({n.casefold() for n in names}) == len(names)  # unique on case-insensitive file systems too
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["run_id"] == run["run_id"] and manifest["failures"] == []
    entries = {m["id"]: m for m in manifest["messages"]}
    assert set(entries) == set(catalog)  # every message present once
    for item_id, entry in entries.items():
        data = archive.read(entry["path"])
        assert sha256(data) == entry["sha256"] == catalog[item_id].content_hash
        assert entry["size"] == len(data)
        check_entry_name(entry["path"])
        assert entry["path"].endswith(".eml") and ":" not in entry["path"] and "\\" not in entry["path"]
        assert not any(s.startswith(".") or s.endswith((".", " ")) for s in entry["path"].split("/")[:-1])
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert parsed["Message-ID"] == catalog[item_id].internet_message_id
    # Folder paths are the zip's directories
    for message in state["messages"]:
        directory = entries[message["id"]]["path"].rsplit("/", 1)[0]
        expected = folder_paths[message["folder_id"]]
        if message["folder_id"] != odd["id"]:
            assert directory == expected, (directory, expected)
        assert entries[message["id"]]["folder"] == expected or message["folder_id"] == odd["id"]
    by_dir = Counter(entries[m["id"]]["path"].rsplit("/", 1)[0] for m in state["messages"])
    assert by_dir["Inbox/Projects/2026"] >= 1 and by_dir["Inbox"] >= 1

    odd_path = entries[tricky[0]["id"]]["path"]
    assert odd_path.startswith("Q1_Q2_ _plans__ _draft___/_.._etc_passwd ")  # from 'Q1/Q2: "plans"? <draft>|*'
    assert entries[tricky[1]["id"]]["path"].split("/")[-1].startswith("_CON ")
    assert entries[tricky[2]["id"]]["path"].split("/")[-1].startswith("dots and spaces ")
    assert len(entries[tricky[3]["id"]]["path"].split("/")[-1].encode()) <= 120
    assert entries[tricky[4]["id"]]["path"] != entries[tricky[5]["id"]]["path"]

    # A folder export: that folder and the folders below it, nothing else
    sub = PipeLike()
    counts = export_mail_zip(tenant.services, resource, run["run_id"], sub, folder="Inbox/Projects")
    inner = zipfile.ZipFile(io.BytesIO(sub.getvalue()))
    ids = {m["id"] for m in json.loads(inner.read("manifest.json"))["messages"]}
    expected_ids = {m["id"] for m in state["messages"] if folder_paths[m["folder_id"]].startswith("Inbox/Projects")}
    assert ids == expected_ids and counts["messages"] == len(expected_ids) > 0
    assert all(n.startswith("Inbox/Projects/") for n in inner.namelist() if n != "manifest.json")
    with pytest.raises(NotFoundError):
        export_mail_zip(tenant.services, resource, run["run_id"], PipeLike(), folder="No such folder")


def test_zip_stream_writer_on_a_write_only_stream():
    pipe = PipeLike()
    with ZipStreamWriter(pipe) as zw:
        zw.write_stream("a/unknown size.bin", (bytes([n]) * 65536 for n in range(20)))  # ZIP64 records up front
        zw.write_bytes("a/b.txt", "ünïcode ✓".encode())
        for bad in ("../x", "/abs", "C:/x", "a//b", "a/./b", "a\\b", "a/b.txt"):
            with pytest.raises(InvalidRequestError):
                zw.write_bytes(bad, b"")
    archive = zipfile.ZipFile(io.BytesIO(pipe.getvalue()))
    assert archive.testzip() is None
    assert archive.read("a/unknown size.bin") == b"".join(bytes([n]) * 65536 for n in range(20))
    assert archive.read("a/b.txt").decode() == "ünïcode ✓"

    broken = PipeLike()  # a failure half way leaves no central directory: the archive is visibly incomplete
    with pytest.raises(RuntimeError), ZipStreamWriter(broken) as zw:
        zw.write_bytes("first.txt", b"complete")
        zw.write_stream("second.txt", (b"x" if n < 3 else _fail() for n in range(5)))
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(broken.getvalue()))


def _fail() -> bytes:
    raise RuntimeError("storage went away")


LARGE = 100  # messages carrying a ~1 MB attachment, among the 2,000


@pytest.mark.timeout(900)
def test_a_2000_message_mailbox_exports_in_bounded_memory(tmp_path, storage_env):
    """2,000 messages: 1,900 seeded (a few KB each) and 100 with a ~1 MB attachment, so the mailbox's MIME
    (~150 MB) dwarfs the fixed cost of reading the catalog (the Tables SDK holds a page of 1,000 entities, ~12 MB
    traced; the seeded messages alone total ~4.8 MB, less than that page)."""
    tenant = open_tenant(tmp_path / "sim", storage_env, users=1, messages=2000 - LARGE, seed=5)
    try:
        user = tenant.user(0)["id"]
        resource = f"exchange:{user}"
        for n in range(LARGE):
            tenant.sim.control.add_message(
                user, "archive", subject=f"large {n}", attachments=1, attachment_size=1 << 20
            )
        started = time.monotonic()
        run = tenant.backup()
        backup_seconds = time.monotonic() - started
        assert run["status"] == "succeeded", run
        versions = list(tenant.services.catalog.as_of(resource, "mail", run["run_id"]))
        total = sum(v.size for v in versions)
        largest = max(v.size for v in versions)
        assert len(versions) == 2000
        export_message(tenant.services, resource, versions[0].item_id, run["run_id"], io.BytesIO())  # warm up
        del versions

        sink = CountingSink()
        tracemalloc.start()
        try:
            started = time.monotonic()
            counts = export_mail_zip(tenant.services, resource, run["run_id"], sink)
            traced_seconds = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        print(
            f"\n2000 messages: backup {backup_seconds:.1f}s, export {traced_seconds:.1f}s (under tracemalloc); "
            f"MIME total {total} bytes, largest message {largest}, "
            f"zip {sink.bytes} bytes; peak traced memory {peak} bytes ({peak / total:.1%} of the MIME)"
        )
        assert counts["messages"] == 2000 and counts["bytes"] == total and counts["failed"] == 0
        assert peak < total / 4
    finally:
        tenant.close()
