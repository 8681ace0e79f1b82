"""Backup of one drive (a OneDrive, or a SharePoint document library): one delta round per drive, content for new
and changed files, folders and files tracked by id, removals recorded.

Drive delta gives no paths, so the catalog never stores them for drive items: a file version records its parent
folder's id, and folders are versioned themselves (name + parent), so the path of anything as of any run is
rebuilt from the folder versions of that run. A rename or move is a new version (same content, no download);
a content change (new cTag) is a new version with new content.

Ids in the catalog are `<drive id>/<item id>`, so one SharePoint site with several libraries is one resource.
Durability order is the mail workload's: content stored, then the page's catalog changes committed, then, when the
round is complete with no failed item, the drive's delta link saved. 410 resync (resyncChangesApplyDifferences /
resyncChangesUploadDifferences) starts a full enumeration from the Location Graph gives; versions not seen in a
full enumeration are ended afterwards.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from core.errors import ContentIntegrityError, DeltaExpired, GraphError, GraphNotFound, MalformedResponse, StorageError
from core.graph.client import GraphClient
from core.graph.drive_download import download_item
from core.graph.quickxor import QuickXorHash
from core.models import BackupReport
from core.storage.catalog import CatalogWriter, ItemVersion, OpenVersion
from core.storage.content_store import BlobContentStore, Spool
from core.storage.delta_state import DeltaState, DeltaStateStore

FILE = "file"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DRIVE_FOLDER = "dfolder"
DRIVE = "drive"  # delta-state category


def composite(drive_id: str, item_id: str) -> str:
    return f"{drive_id}/{item_id}"


@dataclass
class DriveJob:
    resource: str
    run_id: str
    drive_id: str
    drive_name: str
    graph: GraphClient
    content: BlobContentStore
    delta_state: DeltaStateStore
    writer: CatalogWriter
    files: dict[str, OpenVersion]  # composite id -> live file version (all drives of the resource)
    folders: dict[str, OpenVersion]  # composite id -> live folder version
    report: BackupReport
    pool: ThreadPoolExecutor
    page_size: int
    permissions: bool = True
    empty_stored: bool = False  # the empty content is stored once per job, not once per empty file


class _HashingSink:
    """Spool (SHA-256, spills to disk) and QuickXorHash in one pass over the bytes."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.quickxor = QuickXorHash()

    def write(self, chunk: bytes) -> int:
        self.quickxor.update(chunk)
        return self.spool.write(chunk)

    def restart(self) -> None:
        self.spool.restart()
        self.quickxor = QuickXorHash()


def backup_drive(job: DriveJob, state: DeltaState | None) -> None:
    start = f"drives/{quote(job.drive_id, safe='')}/root/delta"
    full = state is None
    try:
        delta_link, seen, failed = _run_round(job, state.delta_link if state else start)
    except DeltaExpired as exc:
        job.report.note(f"{job.drive_name}: delta needs a resync ({exc.code or exc.status}); full enumeration")
        full = True
        delta_link, seen, failed = _run_round(job, exc.location or start)
    if full:
        _end_unseen(job, seen)
    job.writer.flush()
    if failed:
        job.report.note(f"{job.drive_name}: {failed} item(s) failed; delta link kept at the previous round")
        return
    job.delta_state.save(job.resource, DeltaState(DRIVE, job.drive_id, delta_link, job.drive_name, job.run_id))


def _run_round(job: DriveJob, url: str) -> tuple[str, set[str], int]:
    next_url: str | None = url
    params = None if "?" in url else {"$top": str(job.page_size)}
    seen: set[str] = set()
    failed = 0
    while next_url:
        page = job.graph.get_json(next_url, params=params)
        params = None
        entries = page.get("value")
        if not isinstance(entries, list):
            raise MalformedResponse("drive delta page has no 'value' list", url=job.graph.url(next_url))
        failed += _apply_page(job, entries, seen)
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if isinstance(delta_link, str) and delta_link:
            return delta_link, seen, failed
        if not isinstance(next_link, str) or not next_link:
            raise MalformedResponse("drive delta page has neither nextLink nor deltaLink", url=job.graph.url(next_url))
        next_url = next_link
    raise AssertionError("unreachable")


def _apply_page(job: DriveJob, entries: list, seen: set[str]) -> int:
    to_fetch: dict[str, dict] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        key = composite(job.drive_id, entry["id"])
        if "deleted" in entry:
            to_fetch.pop(key, None)
        elif "file" in entry:
            known = job.files.get(key)
            if known is None or _tag_of(known) != _content_tag(entry):
                to_fetch[key] = entry
    fetched = dict(zip(to_fetch, job.pool.map(lambda e: _fetch(job, e), to_fetch.values()), strict=True))
    failed = 0
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            failed += 1
            job.report.fail(f"{job.drive_name}: entry", MalformedResponse(f"drive item without an id: {entry!r:.200}"))
            continue
        key = composite(job.drive_id, entry["id"])
        if "deleted" in entry:
            seen.discard(key)
            _remove(job, key)
        elif "folder" in entry or "root" in entry:
            seen.add(key)
            _record_folder(job, key, entry)
        elif "file" in entry:
            seen.add(key)
            outcome = fetched.get(key)
            if isinstance(outcome, Exception):
                failed += 1
                job.report.fail(f"{job.drive_name}: {entry.get('name', '')} ({entry['id']})", outcome)
            elif outcome != "gone":
                _record_file(job, key, entry, outcome)
        # other items (OneNote packages, remote items shared from elsewhere) hold no content of this drive
    return failed


def _content_tag(entry: dict) -> str:
    """What identifies a file's content: its QuickXorHash (with the size) when Graph gives one, as OneDrive for
    Business does in delta (where it omits cTag), else the cTag, else the eTag (which a rename changes too)."""
    file = entry.get("file") or {}
    quick_xor = (file.get("hashes") or {}).get("quickXorHash")
    if quick_xor:
        return f"qx:{quick_xor}:{entry.get('size', '')}"
    return str(entry.get("cTag") or entry.get("eTag") or "")


def _tag_of(version: OpenVersion) -> str:
    """A file version's change key is `cTag\nparent\nname`: its content tag is the first line."""
    return version.change_key.split("\n", 1)[0]


def _parent(job: DriveJob, entry: dict) -> str:
    parent = (entry.get("parentReference") or {}).get("id")
    return composite(job.drive_id, parent) if isinstance(parent, str) and parent else ""


def _fetch(job: DriveJob, entry: dict) -> tuple[str, int, str] | str | Exception:
    """Download a file's content and store it: (sha256, size, permissions JSON); 'gone' if deleted meanwhile.
    An empty file (size == 0) needs no download: its content is known, and stored once."""
    expected = entry.get("size") if isinstance(entry.get("size"), int) else None
    reported = ((entry.get("file") or {}).get("hashes") or {}).get("quickXorHash")
    try:
        permissions = _permissions(job, entry) if job.permissions else "[]"
        if expected == 0:
            if not job.empty_stored:
                job.content.put_bytes(b"")
                job.empty_stored = True
            return EMPTY_SHA256, 0, permissions
        with Spool() as spool:
            sink = _HashingSink(spool)
            download_item(job.graph, job.drive_id, entry["id"], sink, expected_size=expected)
            if reported and sink.quickxor.base64() != reported:
                raise ContentIntegrityError(f"quickXorHash {sink.quickxor.base64()} != Graph's {reported}")
            stored = job.content.put(spool, content_type=str((entry.get("file") or {}).get("mimeType") or ""))
    except GraphNotFound:
        return "gone"
    except (GraphError, StorageError) as exc:
        return exc
    if stored.written:
        job.report.add(bytes=stored.size)
    else:
        job.report.add(deduplicated=1)
    return stored.sha256, stored.size, permissions


def _permissions(job: DriveJob, entry: dict) -> str:
    """The item's sharing links and grants, as captured with this version. Read only for items Graph marks with a
    `shared` facet: the others hold just what they inherit from the drive or site (5 resource units a read, so a
    drive of 100,000 unshared files does not pay 500,000 units for nothing)."""
    if "shared" not in entry:
        return "[]"
    url = f"drives/{quote(job.drive_id, safe='')}/items/{quote(entry['id'], safe='')}/permissions"
    grants = [p for page in job.graph.iter_pages(url) for p in page]
    return json.dumps(grants, separators=(",", ":"))[:30_000]


def _extra(entry: dict, permissions: str) -> str:
    def who(field: str) -> str:
        return str(((entry.get(field) or {}).get("user") or {}).get("displayName") or "")

    info = entry.get("fileSystemInfo") or {}
    return json.dumps(
        {
            "created": entry.get("createdDateTime", ""),
            "created_by": who("createdBy"),
            "modified_by": who("lastModifiedBy"),
            "etag": entry.get("eTag", ""),
            "ctag": entry.get("cTag", ""),
            "quick_xor": ((entry.get("file") or {}).get("hashes") or {}).get("quickXorHash", ""),
            "fs_created": info.get("createdDateTime", ""),
            "fs_modified": info.get("lastModifiedDateTime", ""),
            "permissions": json.loads(permissions) if permissions else [],
        },
        separators=(",", ":"),
    )[:60_000]


def _record_folder(job: DriveJob, key: str, entry: dict) -> None:
    parent = "" if "root" in entry else _parent(job, entry)
    name = "" if "root" in entry else str(entry.get("name") or "")
    signature = f"{parent}\n{name}"
    known = job.folders.get(key)
    if known is not None and known.change_key == signature:
        return
    job.writer.supersede(
        known,
        ItemVersion(
            category=DRIVE_FOLDER,
            item_id=key,
            first_seen_run=job.run_id,
            folder_id=parent,
            name=name,
            modified=str(entry.get("lastModifiedDateTime") or ""),
            change_key=signature,
            container_id=job.drive_id,
        ),
    )
    job.folders[key] = OpenVersion(job.run_id, parent, "", signature)


def _record_file(job: DriveJob, key: str, entry: dict, stored: tuple[str, int, str] | None) -> None:
    known = job.files.get(key)
    parent, name = _parent(job, entry), str(entry.get("name") or "")
    signature = f"{_content_tag(entry)}\n{parent}\n{name}"
    if known is not None and known.change_key == signature:
        return  # nothing changed (or a repeat of this item in the round)
    if stored is None:  # same content tag: renamed or moved, content unchanged
        if known is None:
            return
        sha, size = known.content_hash, known.size
        try:
            permissions = _permissions(job, entry) if job.permissions else "[]"
        except GraphError as exc:
            job.report.fail(f"{job.drive_name}: permissions of {name} ({entry['id']})", exc)
            permissions = "[]"
    else:
        sha, size, permissions = stored
    job.writer.supersede(
        known,
        ItemVersion(
            category=FILE,
            item_id=key,
            first_seen_run=job.run_id,
            folder_id=parent,
            content_hash=sha,
            size=size,
            name=name,
            modified=str(entry.get("lastModifiedDateTime") or ""),
            change_key=signature,
            container_id=job.drive_id,
            extra=_extra(entry, permissions),
        ),
    )
    job.files[key] = OpenVersion(job.run_id, parent, sha, signature, size)
    job.report.add(items=1)


def _remove(job: DriveJob, key: str) -> None:
    """A deleted file or folder; a folder takes everything below it along (delta may not list each child)."""
    if key in job.files:
        job.writer.close(FILE, key, job.files.pop(key).first_seen_run, job.run_id)
        job.report.add(removed=1)
        return
    if key not in job.folders:
        return
    doomed = {key}
    parents = {k: v.folder_id for k, v in job.folders.items()}
    for candidate in list(job.folders):
        node = candidate
        while node and node not in doomed:
            node = parents.get(node, "")
        if node:
            doomed.add(candidate)
    for folder_key in doomed & set(job.folders):
        job.writer.close(DRIVE_FOLDER, folder_key, job.folders.pop(folder_key).first_seen_run, job.run_id)
    for file_key, version in list(job.files.items()):
        if file_key in doomed or version.folder_id in doomed:
            job.writer.close(FILE, file_key, version.first_seen_run, job.run_id)
            del job.files[file_key]
            job.report.add(removed=1)


def _end_unseen(job: DriveJob, seen: set[str]) -> None:
    prefix = f"{job.drive_id}/"
    for key, version in list(job.files.items()):
        if key.startswith(prefix) and key not in seen:
            job.writer.close(FILE, key, version.first_seen_run, job.run_id)
            del job.files[key]
            job.report.add(removed=1)
    for key, version in list(job.folders.items()):
        if key.startswith(prefix) and key not in seen:
            job.writer.close(DRIVE_FOLDER, key, version.first_seen_run, job.run_id)
            del job.folders[key]
