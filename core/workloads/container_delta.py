"""The delta engine of Outlook containers (mail folders, contact folders, calendars): a delta round per container,
content for new and changed items, removals recorded. What an item's content is (a message's MIME, a contact's
JSON and photo, an event's JSON and attachments) and which catalog fields describe it is the `ItemKind`'s business.

Order of durability, per folder round: each page's MIME blobs are stored, then that page's catalog changes are
committed, and only when the whole round is in does the folder's delta link get saved. A crash anywhere repeats
work from the last saved link and loses nothing; repeated items are recognised (same changeKey, or same content
hash) and cost no new blob or version.

A round without a link (first backup, or a link Graph no longer accepts) is a full enumeration; afterwards any
version still live in the catalog for that folder but absent from the enumeration is ended, so deletions missed
while the link was unusable are caught up."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from core.errors import DeltaExpired, GraphError, GraphNotFound, MalformedResponse, StorageError
from core.graph.client import GraphClient
from core.models import BackupReport
from core.storage.catalog import CatalogWriter, ItemVersion, OpenVersion
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.workloads.mail_folders import MailFolder as Container

Fetched = tuple[str, int, str]  # (content sha256, size, extra metadata JSON)


@dataclass(frozen=True)
class ItemKind:
    """One kind of item kept in Outlook containers."""

    category: str  # catalog category of the items ('mail', 'contact', 'event')
    folder_category: str  # catalog category of their containers
    delta_path: Callable[[str, Container], str]  # (user, container) -> the delta URL path, without a token
    fetch: Callable[[MailboxJob, dict], Fetched]  # store the item's content; GraphNotFound if it is gone
    describe: Callable[[dict], dict[str, Any]]  # ItemVersion fields read from the delta entry
    params: Callable[[], dict[str, str]] = dict  # query of the first page ($select, a date window)
    prefer_page_size: bool = True  # Prefer: odata.maxpagesize is honoured
    # turns a delta page's entries into the items to keep (events: occurrences become their series master)
    prepare: Callable[[MailboxJob, Container, list], list] | None = None


@dataclass
class MailboxJob:
    """Everything one container kind's backup of one mailbox touches."""

    user: str
    resource: str
    run_id: str
    graph: GraphClient
    content: BlobContentStore
    delta_state: DeltaStateStore
    writer: CatalogWriter
    index: dict[str, OpenVersion]
    report: BackupReport
    pool: ThreadPoolExecutor
    page_size: int
    kind: ItemKind
    scratch: dict[str, Any] = field(default_factory=dict)  # per-kind working state of this backup


@dataclass
class RoundOutcome:
    delta_link: str
    seen: set[str]
    failed: int


def _prefer(job: MailboxJob) -> dict[str, str]:
    if job.kind.prefer_page_size:
        return {"Prefer": f'odata.maxpagesize={job.page_size}, IdType="ImmutableId"'}
    return {"Prefer": 'IdType="ImmutableId"'}


def record_folders(job: MailboxJob, folders: list[Container], folder_index: dict[str, OpenVersion]) -> None:
    """Folder versions: a new version when a folder appears, is renamed or moved; ended when it disappears."""
    current = {f.id for f in folders}
    for folder in folders:
        previous = folder_index.get(folder.id)
        signature = f"{folder.parent_id}\n{folder.path}"
        if previous is not None and previous.change_key == signature:
            continue
        job.writer.supersede(
            previous,
            ItemVersion(
                category=job.kind.folder_category,
                item_id=folder.id,
                first_seen_run=job.run_id,
                folder_id=folder.parent_id,
                folder_path=folder.path,
                name=folder.display_name,
                change_key=signature,
            ),
        )
    for folder_id, previous in folder_index.items():
        if folder_id not in current:
            job.writer.close(job.kind.folder_category, folder_id, previous.first_seen_run, job.run_id)
    job.writer.flush()


def backup_folder(job: MailboxJob, folder: Container, state: DeltaState | None) -> None:
    """One container's delta round (or full enumeration), then its delta link, if every item made it."""
    start = job.kind.delta_path(job.user, folder)
    full = state is None
    try:
        outcome = _run_round(job, folder, state.delta_link if state else start)
    except DeltaExpired as exc:
        job.report.note(f"{folder.path}: delta link no longer valid ({exc.code or exc.status}); full enumeration")
        full = True
        outcome = _run_round(job, folder, start)
    if full:
        _end_unseen(job, folder, outcome.seen)
    job.writer.flush()
    if outcome.failed:
        job.report.note(f"{folder.path}: {outcome.failed} item(s) failed; delta link kept at the previous round")
        return
    job.delta_state.save(
        job.resource, DeltaState(job.kind.category, folder.id, outcome.delta_link, folder.path, job.run_id)
    )


def end_removed_folder(job: MailboxJob, folder_id: str) -> None:
    """A folder gone from the mailbox: its live messages are ended and its delta link cleared."""
    for item_id, version in list(job.index.items()):
        if version.folder_id == folder_id:
            job.writer.close(job.kind.category, item_id, version.first_seen_run, job.run_id)
            del job.index[item_id]
            job.report.add(removed=1)
    job.writer.flush()
    job.delta_state.forget(job.resource, job.kind.category, folder_id, job.run_id)


def _end_unseen(job: MailboxJob, folder: Container, seen: set[str]) -> None:
    for item_id, version in list(job.index.items()):
        if version.folder_id == folder.id and item_id not in seen:
            job.writer.close(job.kind.category, item_id, version.first_seen_run, job.run_id)
            del job.index[item_id]
            job.report.add(removed=1)


def _run_round(job: MailboxJob, folder: Container, url: str) -> RoundOutcome:
    params = None if "?" in url else (job.kind.params() or None)  # a saved link carries its own query
    next_url: str | None = url
    seen: set[str] = set()
    failed = 0
    while next_url:
        page = job.graph.get_json(next_url, params=params, headers=_prefer(job))
        params = None  # links carry their own query
        entries = page.get("value")
        if not isinstance(entries, list):
            raise MalformedResponse("delta page has no 'value' list", url=job.graph.url(next_url))
        failed += _apply_page(job, folder, entries, seen)
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if isinstance(delta_link, str) and delta_link:
            return RoundOutcome(delta_link, seen, failed)
        if not isinstance(next_link, str) or not next_link:
            raise MalformedResponse("delta page has neither @odata.nextLink nor @odata.deltaLink", url=next_url)
        next_url = next_link
    raise AssertionError("unreachable")


def _apply_page(job: MailboxJob, folder: Container, entries: list, seen: set[str]) -> int:
    """Store the page's new content in parallel, then apply its changes to the catalog in page order."""
    if job.kind.prepare is not None:
        entries = job.kind.prepare(job, folder, entries)
    to_fetch: dict[str, dict] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            job.report.fail(f"{folder.path}: entry", MalformedResponse(f"delta entry without an id: {entry!r:.200}"))
            continue
        if "@removed" in entry:
            to_fetch.pop(entry["id"], None)
            continue
        known = job.index.get(entry["id"])
        if known is None or known.change_key != entry.get("changeKey"):
            to_fetch[entry["id"]] = entry
    fetched = dict(zip(to_fetch, job.pool.map(lambda e: _fetch(job, e), to_fetch.values()), strict=True))
    failed = 0
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            failed += 1
            continue
        item_id = entry["id"]
        if "@removed" in entry:
            seen.discard(item_id)
            _remove(job, folder, item_id)
            continue
        seen.add(item_id)
        outcome = fetched.get(item_id)
        if isinstance(outcome, Exception):
            failed += 1
            job.report.fail(f"{folder.path}: {entry.get('subject', '')!s:.80} ({item_id})", outcome)
            continue
        if outcome == "gone":
            continue
        _record(job, folder, entry, outcome)
    return failed


def _fetch(job: MailboxJob, entry: dict) -> Fetched | str | Exception:
    """Store an item's content: (sha256, size, extra); 'gone' if it was deleted meanwhile."""
    try:
        return job.kind.fetch(job, entry)
    except GraphNotFound:
        return "gone"
    except (GraphError, StorageError) as exc:
        return exc


def _record(job: MailboxJob, folder: Container, entry: dict, stored: Fetched | None) -> None:
    item_id = entry["id"]
    known = job.index.get(item_id)
    if stored is None:  # not fetched: same changeKey
        if known is None or known.folder_id == folder.id:
            return
        sha, size, extra = known.content_hash, known.size, None  # moved without a change: same content
    else:
        sha, size, extra = stored
    if known is not None and known.content_hash == sha and known.folder_id == folder.id:
        if known.change_key != entry.get("changeKey"):  # metadata-only change (read state, flag, recipients)
            described = job.kind.describe(entry)
            job.writer.touch(
                job.kind.category,
                item_id,
                known.first_seen_run,
                change_key=entry.get("changeKey", ""),
                is_read=bool(described.get("is_read", False)),
                **({"recipients": described["recipients"]} if "recipients" in described else {}),
                **({"extra": extra} if extra is not None else {}),
            )
            job.index[item_id] = OpenVersion(
                known.first_seen_run, folder.id, sha, entry.get("changeKey", ""), known.size
            )
        return
    job.writer.supersede(known, _version(job, folder, entry, sha, size, extra))
    job.index[item_id] = OpenVersion(job.run_id, folder.id, sha, entry.get("changeKey", ""), size)
    job.report.add(items=1)


def _version(job: MailboxJob, folder: Container, entry: dict, sha: str, size: int, extra: str | None) -> ItemVersion:
    fields = job.kind.describe(entry)
    if extra is not None:
        fields["extra"] = extra
    return ItemVersion(
        category=job.kind.category,
        item_id=entry["id"],
        first_seen_run=job.run_id,
        folder_id=folder.id,
        folder_path=folder.path,
        content_hash=sha,
        size=size,
        change_key=str(entry.get("changeKey") or ""),
        **fields,
    )


def _remove(job: MailboxJob, folder: Container, item_id: str) -> None:
    known = job.index.get(item_id)
    if known is None or known.folder_id != folder.id:
        return  # never captured, or already recorded in the folder it moved to
    job.writer.close(job.kind.category, item_id, known.first_seen_run, job.run_id)
    del job.index[item_id]
    job.report.add(removed=1)
