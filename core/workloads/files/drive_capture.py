"""Capturing one drive item for a new version: its content (downloaded, hash-checked, stored) when it changed, and
its permissions when Graph says they may have.

A 404 on `/content` proves nothing by itself (a replica behind, a file being checked in): the item is read by id,
and only a 404 there, or a `deleted` facet, makes it gone. An item that still exists is fetched once more, by the
listing just read; if that fails too, the failure is the item's (held in quarantine by the caller)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.delta.content import store_content
from core.errors import ContentIntegrityError, GraphError, GraphNotFound, StorageError
from core.graph.drive_download import download_item
from core.graph.quickxor import QuickXorHash
from core.signals.content_rules import SampleSink
from core.storage.catalog import OpenVersion
from core.storage.content_store import Spool
from core.workloads.files.drive_metadata import NO_PERMISSIONS, canonical_permissions

if TYPE_CHECKING:
    from core.workloads.files.drive_backup import DriveJob

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHARED_CHANGED = "@microsoft.graph.sharedChanged"  # Prefer: deltashowsharingchanges
RECHECK = "@backup.recheck"  # our mark on a held item's entry: captured again even if its listing looks unchanged
GONE = "gone"


@dataclass(frozen=True)
class Captured:
    entry: dict  # the listing the content matches (the delta entry, or the item as read again by id)
    sha256: str
    size: int
    permissions: str  # canonical JSON, NO_PERMISSIONS when none were read


Outcome = Captured | str | Exception  # Captured, GONE, or the item's failure


_KEPT = ("id", "name", "size", "eTag", "cTag", "createdDateTime", "lastModifiedDateTime", "parentReference", "file",
         "folder", "root", "deleted", "shared", "createdBy", "lastModifiedBy", "fileSystemInfo",
         SHARED_CHANGED)  # fmt: skip


def slim(entry: dict) -> dict:
    """What the backup uses of a listing (a whole round is held until it is applied)."""
    kept = {k: entry[k] for k in _KEPT if k in entry}
    if isinstance(kept.get("parentReference"), dict):
        kept["parentReference"] = {"id": kept["parentReference"].get("id")}
    return kept


def _hashes(entry: dict) -> dict:
    return (entry.get("file") or {}).get("hashes") or {}


def content_tag(entry: dict) -> str:
    """What identifies a file's content: its QuickXorHash (with the size) when Graph gives one, as OneDrive for
    Business does in delta (where it omits cTag), else the cTag, else the eTag (which a rename changes too)."""
    quick_xor = _hashes(entry).get("quickXorHash")
    if quick_xor:
        return f"qx:{quick_xor}:{entry.get('size', '')}"
    return str(entry.get("cTag") or entry.get("eTag") or "")


def wants_permissions(job: DriveJob, entry: dict, known_digest: str) -> bool:
    """Read an item's permissions only when they may be its own and may have changed: it is shared (the `shared`
    facet), delta flags a sharing change, or its last version had permissions of its own (they may be gone now).
    An unshared item holds just what it inherits (5 resource units a read, so a drive of 100,000 unshared files
    does not pay 500,000 units for nothing)."""
    if not job.permissions:
        return False
    return "shared" in entry or bool(entry.get(SHARED_CHANGED)) or bool(known_digest)


def capture(job: DriveJob, entry: dict, known: OpenVersion | None, fetch: bool, permissions: bool) -> Outcome:
    """Content (when `fetch`, else the known version's) and permissions (when `permissions`) of one item."""
    try:
        try:
            return _capture(job, entry, known, fetch, permissions)
        except GraphNotFound:
            fresh = read_item(job, entry["id"])
            if fresh is None:
                return GONE
            return _capture(job, fresh, known, fetch, permissions)  # it exists: once more, by what it is now
    except (GraphError, StorageError) as exc:
        return exc


def _capture(job: DriveJob, entry: dict, known: OpenVersion | None, fetch: bool, permissions: bool) -> Captured:
    grants = read_permissions(job, entry) if permissions else NO_PERMISSIONS
    if fetch:
        sha, size = _store_content(job, entry)
    else:
        sha, size = (known.content_hash, known.size) if known is not None else ("", 0)
    return Captured(entry, sha, size, grants)


def read_item(job: DriveJob, item_id: str) -> dict | None:
    """The item as Graph has it now, or None when it is gone (404, or a `deleted` facet)."""
    url = f"drives/{quote(job.drive_id, safe='')}/items/{quote(item_id, safe='')}"
    try:
        item = job.graph.get_json(url)
    except GraphNotFound:
        return None
    return None if "deleted" in item else item


def read_permissions(job: DriveJob, entry: dict) -> str:
    """The item's permissions, or NO_PERMISSIONS when it has none of its own (all inherited: as for an item that
    was never shared, whose permissions are not read)."""
    url = f"drives/{quote(job.drive_id, safe='')}/items/{quote(entry['id'], safe='')}/permissions"
    grants = [p for page in job.graph.iter_pages(url) for p in page]
    if all(isinstance(p, dict) and p.get("inheritedFrom") for p in grants):
        return NO_PERMISSIONS
    return canonical_permissions(grants)


class _HashingSink:
    """Spool (SHA-256, spills to disk), QuickXorHash and the first bytes the ransomware signal judges
    (core/signals/content_rules.py), in one pass over the bytes."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.quickxor = QuickXorHash()
        self.head = SampleSink()

    def write(self, chunk: bytes) -> int:
        self.quickxor.update(chunk)
        self.head.feed(chunk)
        return self.spool.write(chunk)

    def restart(self) -> None:
        self.spool.restart()
        self.quickxor = QuickXorHash()
        self.head.restart()


def _store_content(job: DriveJob, entry: dict) -> tuple[str, int]:
    """Download and store the content the entry describes: (sha256, size). An empty file (size 0) needs no
    download: its content is known, and stored once per job."""
    expected = entry.get("size") if isinstance(entry.get("size"), int) else None
    reported = _hashes(entry).get("quickXorHash")
    if expected == 0:
        if not job.empty_stored:
            store_content(job.content, job.report, b"", "application/octet-stream")
            job.empty_stored = True
        return EMPTY_SHA256, 0
    with Spool() as spool:
        sink = _HashingSink(spool)
        download_item(job.graph, job.drive_id, entry["id"], sink, expected_size=expected)
        if reported and sink.quickxor.base64() != reported:
            raise ContentIntegrityError(f"quickXorHash {sink.quickxor.base64()} != Graph's {reported}")
        content_type = str((entry.get("file") or {}).get("mimeType") or "")
        stored = store_content(job.content, job.report, spool, content_type)
    job.report.signals.content(str(entry.get("name") or ""), sink.head.sample)
    return stored.sha256, stored.size
