"""Backup of one drive (a OneDrive, or a SharePoint document library): one delta round per drive, content for new
and changed files, permissions when they changed, folders and files tracked by id, removals recorded.

Drive delta gives no paths, so the catalog never stores them for drive items: a file version records its parent
folder's id, and folders are versioned themselves (name + parent), so the path of anything as of any run is
rebuilt from the folder versions of that run. A rename, a move or a sharing change is a new version (same content,
no download); a content change (new hash or cTag) is a new version with new content.

Ids in the catalog are `<drive id>/<item id>`, so one SharePoint site with several libraries is one resource.
A round's pages are all received before any of it is applied (drive_round.apply_round); links are sent exactly as
Graph gave them. Durability order: content stored, then the catalog changes committed, then the drive's delta link
saved — only once every item of the round is stored, or held in quarantine (core/storage/quarantine.py) with its
error: an item that keeps failing does not hold the link back, and is retried by id at every later run
(drive_held.py). 410 resync (resyncChangesApplyDifferences / resyncChangesUploadDifferences) starts a full
enumeration from the Location Graph gives; versions not seen in a full enumeration are ended afterwards.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

from core.errors import DeltaExpired, MalformedResponse
from core.graph.client import GraphClient
from core.models import BackupReport
from core.storage.catalog import CatalogWriter, OpenVersion
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.storage.quarantine import HeldItem, QuarantineStore
from core.workloads.drive_capture import EMPTY_SHA256, RECHECK, slim
from core.workloads.drive_round import DRIVE_FOLDER, FILE, RoundResult, apply_round, composite, end_versions

__all__ = ["DRIVE", "DRIVE_FOLDER", "EMPTY_SHA256", "FILE", "DriveJob", "backup_drive", "composite", "end_drive"]

DRIVE = "drive"  # delta-state category
# Deletions as `deleted` facets, items that became visible or hidden as the app's access changed, and items listed
# for a sharing change flagged with @microsoft.graph.sharedChanged ("Scanning permissions hierarchies",
# https://learn.microsoft.com/graph/api/driveitem-delta: the three go together).
DELTA_PREFER = "deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges"


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
    quarantine: QuarantineStore
    held: dict[str, HeldItem] = field(default_factory=dict)  # composite id -> held before this run (this drive)
    permissions: bool = True
    empty_stored: bool = False  # the empty content is stored once per job, not once per empty file


def backup_drive(job: DriveJob, state: DeltaState | None) -> None:
    from core.workloads.drive_held import retry_held, settle

    start = f"drives/{quote(job.drive_id, safe='')}/root/delta"
    full = state is None
    try:
        entries, delta_link, malformed = _receive_round(job, state.delta_link if state else start, start)
    except DeltaExpired as exc:
        job.report.note(f"{job.drive_name}: delta needs a resync ({exc.code or exc.status}); full enumeration")
        full = True
        entries, delta_link, malformed = _receive_round(job, exc.location or start, start)
    for key in job.held.keys() & entries.keys():
        entries[key] = {**entries[key], RECHECK: True}
    result = apply_round(job, entries)
    if full:
        _end_unseen(job, result)
    job.writer.flush()
    settle(job, result, listed=set(entries))
    retry_held(job, skip=set(entries))
    job.writer.flush()
    if malformed:  # an entry without an id cannot be held or retried: the round must be listed again
        job.report.note(f"{job.drive_name}: {malformed} malformed entries; delta link kept at the previous round")
        return
    job.delta_state.save(job.resource, DeltaState(DRIVE, job.drive_id, delta_link, job.drive_name, job.run_id))


def _receive_round(job: DriveJob, url: str, start: str) -> tuple[dict[str, dict], str, int]:
    """Every page of one round: (composite id -> the item's last listing, the delta link, malformed entries).
    Links (a nextLink, a saved deltaLink, a resync Location) are sent exactly as received; only the round's very
    first request, which we build, asks for a page size."""
    params = {"$top": str(job.page_size)} if url == start else None
    headers = {"Prefer": DELTA_PREFER}
    entries: dict[str, dict] = {}
    malformed = 0
    next_url: str | None = url
    while next_url:
        page = job.graph.get_json(next_url, params=params, headers=headers)
        params = None
        values = page.get("value")
        if not isinstance(values, list):
            raise MalformedResponse("drive delta page has no 'value' list", url=job.graph.url(next_url))
        for entry in values:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
                malformed += 1
                error = MalformedResponse(f"drive item without an id: {entry!r:.200}")
                job.report.fail(f"{job.drive_name}: entry", error)
                continue
            key = composite(job.drive_id, entry["id"])
            entries.pop(key, None)  # the last occurrence wins, in its place
            entries[key] = slim(entry)
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if isinstance(delta_link, str) and delta_link:
            return entries, delta_link, malformed
        if not isinstance(next_link, str) or not next_link:
            raise MalformedResponse("drive delta page has neither nextLink nor deltaLink", url=job.graph.url(next_url))
        next_url = next_link
    raise AssertionError("unreachable")


def _end_unseen(job: DriveJob, result: RoundResult) -> None:
    """After a full enumeration: what it did not list is gone (held items are settled by id, not here)."""
    prefix = f"{job.drive_id}/"
    keep = result.seen | set(job.held)
    folders = {k for k in job.folders if k.startswith(prefix) and k not in keep}
    files = {k for k in job.files if k.startswith(prefix) and k not in keep}
    end_versions(job, folders, files)


def end_drive(job: DriveJob) -> None:
    """The drive is gone from the tenant: every live version of it ends at this run, its held items are released
    as deleted and its delta link is forgotten."""
    prefix = f"{job.drive_id}/"
    end_versions(job, {k for k in job.folders if k.startswith(prefix)}, {k for k in job.files if k.startswith(prefix)})
    job.writer.flush()
    for item in job.held.values():
        job.quarantine.release(job.resource, item.category, item.item_id, job.run_id, released_as="deleted")
    job.delta_state.forget(job.resource, DRIVE, job.drive_id, job.run_id)
