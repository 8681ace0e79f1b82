"""Backup of one drive (a OneDrive, or a SharePoint document library): one delta round per drive, content for new
and changed files, permissions when they changed, folders and files tracked by id, removals recorded.

Drive delta gives no paths, so the catalog never stores them for drive items: a file version records its parent
folder's id, and folders are versioned themselves (name + parent), so the path of anything as of any run is
rebuilt from the folder versions of that run. A rename, a move or a sharing change is a new version (same content,
no download); a content change (new hash or cTag) is a new version with new content.

Ids in the catalog are `<drive id>/<item id>`, so one SharePoint site with several libraries is one resource.
A round's pages are all received (core.delta.rounds: links sent exactly as Graph gave them) before any of it is
applied (drive_round.apply_round). The delta engine (core.delta.lifecycle, driven through files/drives.py) then
commits the catalog changes and saves the drive's delta link — only once every item of the round is stored, or
held in quarantine (core/storage/quarantine.py) with its error: an item that keeps failing does not hold the link
back, and is retried by id at every later run (drive_held.py). 410 resync (resyncChangesApplyDifferences /
resyncChangesUploadDifferences) starts a full enumeration from the Location Graph gives; versions not seen in a
full enumeration are ended afterwards (`end_unseen`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

from core.delta.lifecycle import RoundDone, Settlement
from core.delta.rounds import follow_round
from core.errors import DeltaExpired, MalformedResponse
from core.graph.client import GraphClient
from core.models import BackupReport
from core.storage.catalog import CatalogWriter, OpenVersion
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaState, DeltaStates
from core.storage.live_index import LiveIndex
from core.storage.quarantine import HeldItem, QuarantineStore
from core.workloads.files.drive_capture import EMPTY_SHA256, RECHECK, slim
from core.workloads.files.drive_round import DRIVE_FOLDER, FILE, apply_round, composite, end_versions

__all__ = ["DRIVE", "DRIVE_FOLDER", "EMPTY_SHA256", "FILE", "DriveJob", "composite", "end_drive", "run_round"]

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
    delta_state: DeltaStates
    writer: CatalogWriter
    files: LiveIndex  # composite id -> live file version (all drives of the resource), read as the run asks
    folders: dict[str, OpenVersion]  # composite id -> live folder version
    report: BackupReport
    pool: ThreadPoolExecutor
    page_size: int
    quarantine: QuarantineStore
    held: dict[str, HeldItem] = field(default_factory=dict)  # composite id -> held before this run (this drive)
    permissions: bool = True
    empty_stored: bool = False  # the empty content is stored once per job, not once per empty file


def run_round(job: DriveJob, state: DeltaState | None) -> RoundDone:
    """The drive's round: every page received first, then applied as a whole (drive_round.apply_round); the engine
    (core.delta.lifecycle) ends what a full round did not list, flushes, settles the quarantine, saves the link."""
    from core.workloads.files.drive_held import settlement

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
    keep_link = ""
    if malformed:  # an entry without an id cannot be held or retried: the round must be listed again
        keep_link = f"{job.drive_name}: {malformed} malformed entries; delta link kept at the previous round"
    listed = set(entries)
    return RoundDone(delta_link, full, result.seen, listed, settlement(job, result, listed), keep_link=keep_link)


def _receive_round(job: DriveJob, url: str, start: str) -> tuple[dict[str, dict], str, int]:
    """Every page of one round: (composite id -> the item's last listing, the delta link, malformed entries).
    Only the round's very first request, which we build, asks for a page size; links are followed as received."""
    entries: dict[str, dict] = {}
    malformed = 0

    def receive(values: list) -> None:
        nonlocal malformed
        for entry in values:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
                malformed += 1
                error = MalformedResponse(f"drive item without an id: {entry!r:.200}")
                job.report.fail(f"{job.drive_name}: entry", error)
                continue
            key = composite(job.drive_id, entry["id"])
            entries.pop(key, None)  # the last occurrence wins, in its place
            entries[key] = slim(entry)

    params = {"$top": str(job.page_size)} if url == start else None
    delta_link = follow_round(job.graph, url, params=params, headers={"Prefer": DELTA_PREFER}, on_page=receive)
    return entries, delta_link, malformed


def end_unseen(job: DriveJob, seen: set[str]) -> None:
    """After a full enumeration: what it did not list is gone (held items are settled by id, not here)."""
    prefix = f"{job.drive_id}/"
    keep = seen | set(job.held)
    folders = {k for k in job.folders if k.startswith(prefix) and k not in keep}
    files = {k for k in job.files if k.startswith(prefix) and k not in keep}
    end_versions(job, folders, files)


def end_drive(job: DriveJob) -> Settlement:
    """The drive is gone from the tenant: every live version of it ends at this run and its delta link is
    forgotten; its held items are to be released as deleted (once the ends are committed)."""
    prefix = f"{job.drive_id}/"
    end_versions(job, {k for k in job.folders if k.startswith(prefix)}, {k for k in job.files if k.startswith(prefix)})
    job.writer.flush()
    job.delta_state.forget(job.resource, DRIVE, job.drive_id, job.run_id)
    return Settlement(released=[(key, "deleted") for key in sorted(job.held)])
