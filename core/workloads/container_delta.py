"""The delta engine of Outlook containers (mail folders, contact folders, calendars): a delta round per container,
content for new and changed items, removals recorded. What an item's content is (a message's MIME, a contact's
JSON and photo, an event's JSON and attachments) and which catalog fields describe it is the `ItemKind`'s business.

Order of durability, per folder round: each page's MIME blobs are stored, then that page's catalog changes are
committed, and only when the whole round is in does the folder's delta link get saved. A crash anywhere repeats
work from the last saved link and loses nothing; repeated items are recognised (same changeKey, or same content
hash) and cost no new blob or version.

A round without a link (first backup, or a link Graph no longer accepts) is a full enumeration; afterwards any
version still live in the catalog for that folder but absent from the enumeration is ended, so deletions missed
while the link was unusable are caught up.

Versions are points in time: a row, once an earlier run can read it, never changes what it describes. An item
with a new changeKey is fetched (its content is how a change shows), then recorded by one rule for every kind:
- new content or another folder: a new version (the previous one ends at this run);
- the same content in the same folder (a message's read state, flag, categories, importance; a recipient list
  or time the catalog keeps): the item's description, i.e. every field of the version the `ItemKind` describes
  plus its `extra` (everything but where the item sits: folder path, change key, run span), is compared with the
  live version's row, read from the catalog. If it differs, that is a new version first seen in this run with
  the same content hash and size (no new blob) and the previous one ends at this run. If it is the same, the
  change is one the catalog does not describe: only the live row's change key is updated in place, since it
  is what the next incremental round compares, not part of any point in time.
A version first seen in this run is not yet a point in time of another run: a change to it replaces it whole.
`report.items` counts the new versions a run creates (a state change is one, a change key update is none)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
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
        signature = folder_signature(folder)
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
                extra=json.dumps({"wellKnownName": folder.well_known}) if folder.well_known else "",
            ),
        )
    for folder_id, previous in folder_index.items():
        if folder_id not in current:
            job.writer.close(job.kind.folder_category, folder_id, previous.first_seen_run, job.run_id)
    job.writer.flush()


def folder_signature(folder: Container) -> str:
    """What makes a new folder version: parent and path, and for a mailbox's top folder its well-known name
    ('-' when it has none), so a backup knows which of its folders was the Inbox whatever its display name."""
    signature = f"{folder.parent_id}\n{folder.path}"
    return f"{signature}\n{folder.well_known or '-'}" if folder.well_known is not None else signature


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
    fetched = dict(zip(to_fetch, job.pool.map(lambda e: _fetch(job, folder, e), to_fetch.values()), strict=True))
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


@dataclass(frozen=True)
class _Stored:
    """An item's stored content, and the live version's row when only its description may have changed."""

    sha256: str
    size: int
    extra: str
    live: ItemVersion | None = None


def _fetch(job: MailboxJob, folder: Container, entry: dict) -> _Stored | str | Exception:
    """Store an item's content; 'gone' if it was deleted meanwhile. Runs in the pool, as does the catalog read of
    the live version when the content and folder are unchanged (the index is not written while the pool runs)."""
    try:
        sha, size, extra = job.kind.fetch(job, entry)
        known = job.index.get(entry["id"])
        live = None
        if (
            known is not None
            and known.content_hash == sha
            and known.folder_id == folder.id
            and known.first_seen_run != job.run_id
        ):
            live = job.writer.read(job.kind.category, entry["id"], known.first_seen_run)
        return _Stored(sha, size, extra, live)
    except GraphNotFound:
        return "gone"
    except (GraphError, StorageError) as exc:
        return exc


_PLACE = frozenset({"category", "item_id", "first_seen_run", "deleted_run", "folder_id", "folder_path", "change_key"})
_DESCRIPTION = tuple(f.name for f in fields(ItemVersion) if f.name not in _PLACE)


def _description(version: ItemVersion) -> tuple[Any, ...]:
    """What a version describes of its item as of its runs (content, state, metadata), not where it sits."""
    return tuple(getattr(version, name) for name in _DESCRIPTION)


def _record(job: MailboxJob, folder: Container, entry: dict, stored: _Stored | None) -> None:
    item_id = entry["id"]
    known = job.index.get(item_id)
    change_key = str(entry.get("changeKey") or "")
    if stored is None:  # not fetched: same changeKey
        if known is None or known.folder_id == folder.id:
            return
        version = _version(job, folder, entry, known.content_hash, known.size, None)  # moved: same content
    else:
        version = _version(job, folder, entry, stored.sha256, stored.size, stored.extra)
        if known is not None and known.content_hash == stored.sha256 and known.folder_id == folder.id:
            if known.change_key == change_key:
                return  # recorded already (the item came twice)
            if stored.live is not None and _description(stored.live) == _description(version):
                job.writer.touch(job.kind.category, item_id, known.first_seen_run, change_key=change_key)
                job.index[item_id] = replace(known, change_key=change_key)
                return
    job.writer.supersede(known, version)
    job.index[item_id] = OpenVersion(job.run_id, folder.id, version.content_hash, change_key, version.size)
    if known is None or known.first_seen_run != job.run_id:  # else it replaced this run's own version
        job.report.add(items=1)


def _version(job: MailboxJob, folder: Container, entry: dict, sha: str, size: int, extra: str | None) -> ItemVersion:
    described = job.kind.describe(entry)
    if extra is not None:
        described["extra"] = extra
    return ItemVersion(
        category=job.kind.category,
        item_id=entry["id"],
        first_seen_run=job.run_id,
        folder_id=folder.id,
        folder_path=folder.path,
        content_hash=sha,
        size=size,
        change_key=str(entry.get("changeKey") or ""),
        **described,
    )


def _remove(job: MailboxJob, folder: Container, item_id: str) -> None:
    known = job.index.get(item_id)
    if known is None or known.folder_id != folder.id:
        return  # never captured, or already recorded in the folder it moved to
    job.writer.close(job.kind.category, item_id, known.first_seen_run, job.run_id)
    del job.index[item_id]
    job.report.add(removed=1)
