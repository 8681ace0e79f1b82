"""Delta rounds of Outlook containers (mail folders, contact folders, calendars), for the delta engine (core/delta/:
it follows the round, runs the container lifecycle and saves the link): each page applied as it comes, content
for new and changed items, removals recorded. What an item's content is (a message's MIME, a contact's JSON and
photo, an event's JSON and attachments) and which catalog fields describe it is the `ItemKind`'s business.

Order of durability, per folder round: each page's content is stored, then that page's catalog changes are
written, and only when the whole round is in and committed does the engine save the folder's delta link. A crash
anywhere repeats work from the last saved link and loses nothing; repeated items are recognised (same changeKey,
or same content hash) and cost no new blob or version.

A round without a link (first backup, or a link Graph no longer accepts) is a full enumeration; afterwards any version
still live in that folder but not listed is ended (`end_unseen`): deletions missed meanwhile are caught up.

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
`report.items` counts the new versions a run creates (a state change is one, a change key update is none).

A 404 on an item's content is no proof that it was deleted: the item is read by id, and only a 404 there is a
deletion. An item that fails (after the Graph client's own retries) is held in the quarantine (a failure of the
run, listed by id with its error) and its container's round is saved anyway, so one bad item never holds a delta
link back; held items are retried by id at every later run (held_items.py, through the engine). A hold is durable
before the link moves on, a release only after the version it stands for is committed."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from functools import partial
from typing import Any

from core.config import Settings
from core.delta.containers import Container
from core.delta.lifecycle import Failure, RoundDone, Settlement
from core.delta.pipeline import InFlight, PagePipeline, SubmittedPage
from core.delta.rounds import follow_round
from core.errors import DeltaExpired, GraphError, GraphNotFound, MalformedResponse, StorageError
from core.graph.client import GraphClient
from core.models import BackupReport
from core.storage.catalog import Catalog, CatalogWriter, ItemVersion, OpenVersion
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaState, DeltaStates
from core.storage.live_index import LiveIndex
from core.storage.quarantine import HeldItem, QuarantineStore

Fetched = tuple[str, int, str]  # (content sha256, size, extra metadata JSON)
IMMUTABLE_IDS = {"Prefer": 'IdType="ImmutableId"'}


def _no_params(job: MailboxJob) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class ItemKind:
    """One kind of item kept in Outlook containers."""

    category: str  # catalog category of the items ('mail', 'contact', 'event')
    folder_category: str  # catalog category of their containers
    delta_path: Callable[[str, Container], str]  # (user, container) -> the delta URL path, without a token
    fetch: Callable[[MailboxJob, dict], Fetched]  # store the item's content; GraphNotFound if it is gone
    describe: Callable[[dict], dict[str, Any]]  # ItemVersion fields read from the delta entry
    item_path: Callable[[str, str], str]  # (user, item id) -> the item's URL path, to read it by id
    select: str = ""  # $select of a read by id ('' : every property, as delta lists them)
    params: Callable[[MailboxJob], dict[str, str]] = _no_params  # query of a round chain's first page
    prefer_page_size: bool = True  # Prefer: odata.maxpagesize is honoured
    # turns a delta page's entries into the items to keep (events: occurrences become their series master); an
    # item it cannot turn into one to keep is a `Failed` in its output
    prepare: Callable[[MailboxJob, Container, list], list] | None = None
    # why a saved round chain must give way to a new full round now ('' : it need not); events: the window moves
    reanchor: Callable[[MailboxJob, DeltaState], str] | None = None
    # a full round's unseen live items are read by id before they are ended (calendarView: one out of the window
    # is not listed, yet still there)
    confirm_unseen: bool = False


@dataclass(frozen=True)
class Failed:
    """An item that failed: held in the quarantine, a failure of the run."""

    item_id: str
    label: str
    error: Exception


@dataclass
class MailboxJob:
    """Everything one container kind's backup of one mailbox touches."""

    user: str
    resource: str
    run_id: str
    graph: GraphClient
    content: BlobContentStore
    delta_state: DeltaStates
    writer: CatalogWriter
    index: LiveIndex  # the kind's live versions: read as the run asks for them
    report: BackupReport
    pool: ThreadPoolExecutor
    page_size: int
    kind: ItemKind
    settings: Settings
    catalog: Catalog
    quarantine: QuarantineStore
    held: dict[str, HeldItem] = field(default_factory=dict)  # this kind's items held when the run began, by id
    tried: set[str] = field(default_factory=set)  # items this run fetched (or found gone) in its delta rounds
    scratch: dict[str, Any] = field(default_factory=dict)  # per-kind working state of this backup
    anchor: dict[str, str] = field(default_factory=dict)  # the query the current container's round chain began with


@dataclass
class RoundOutcome:
    delta_link: str
    seen: set[str]
    failed: int  # entries that could not even be named (no id): these keep the link back
    failures: list[Failed] = field(default_factory=list)  # items to hold
    released: list[tuple[str, str]] = field(default_factory=list)  # (item id, 'captured' | 'deleted')


def prefer_headers(kind: ItemKind, page_size: int) -> dict[str, str]:  # every page's (and a $batch read ahead's)
    if kind.prefer_page_size:
        return {"Prefer": f'odata.maxpagesize={page_size}, IdType="ImmutableId"'}
    return dict(IMMUTABLE_IDS)


def graph_bool(value: Any, name: str) -> bool:
    """A Graph boolean read strictly: JSON true/false (or their spelling as a string); null is false; anything
    else is a malformed answer, never a guess (`bool("false")` is True)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedResponse(f"{name} is not a boolean: {value!r:.50}")


def run_round(job: MailboxJob, folder: Container, state: DeltaState | None) -> RoundDone:
    """One container's delta round (or full enumeration), applied page by page; the engine (core.delta.lifecycle)
    ends what a full round did not list, flushes, holds the failed items and saves the link."""
    reason = job.kind.reanchor(job, state) if state is not None and job.kind.reanchor is not None else ""
    if reason:
        job.report.note(f"{folder.path}: {reason}; full round")
        state = None
    full = state is None
    try:
        outcome, query = _run_round(job, folder, state)
    except DeltaExpired as exc:
        job.report.note(f"{folder.path}: delta link no longer valid ({exc.code or exc.status}); full enumeration")
        full = True
        outcome, query = _run_round(job, folder, None)
    keep_link = ""
    if outcome.failed:
        keep_link = f"{folder.path}: {outcome.failed} entries without an id; delta link kept at the previous round"
    elif outcome.failures:
        job.report.note(f"{folder.path}: {len(outcome.failures)} item(s) held, to be retried by id next run")
    return RoundDone(outcome.delta_link, full, outcome.seen, set(job.tried), settlement(job, folder.id, outcome),
                     query, keep_link)  # fmt: skip


def settlement(job: MailboxJob, container_id: str, outcome: RoundOutcome) -> Settlement:
    """The quarantine changes of an outcome: its failures held (in `container_id`), its captured items released."""
    failures = [Failure(f.item_id, job.kind.category, container_id, f.error) for f in outcome.failures]
    return Settlement(failures, list(outcome.released))


def end_unseen(job: MailboxJob, folder: Container, seen: set[str]) -> None:
    """After a full round: the folder's live items it did not list are ended (read by id first when the kind
    must confirm them)."""
    unseen = [i for i, _ in job.index.in_folder(folder.id) if i not in seen]
    if job.kind.confirm_unseen:
        unseen = [i for i, gone in zip(unseen, job.pool.map(lambda i: is_gone(job, i), unseen), strict=True) if gone]
    for item_id in unseen:
        remove_item(job, folder, item_id)


def is_gone(job: MailboxJob, item_id: str) -> bool:
    """True only when a read of the item by id answers 404: any other answer (the item, or an error) is no proof
    that it was deleted."""
    try:
        job.graph.get_json(job.kind.item_path(job.user, item_id), params={"$select": "id"}, headers=IMMUTABLE_IDS)
    except GraphNotFound:
        return True
    except GraphError:
        return False
    return False


def _run_round(job: MailboxJob, folder: Container, state: DeltaState | None) -> tuple[RoundOutcome, str]:
    """A round from the saved link, or a new round chain from the delta path with the kind's query, each page applied
    as it comes; returns the outcome and the query the chain began with (JSON)."""
    if state is None:
        job.anchor = job.kind.params(job)
        url = job.kind.delta_path(job.user, folder)
        params: dict[str, str] | None = job.anchor or None
        query = json.dumps(job.anchor, sort_keys=True) if job.anchor else ""
    else:
        job.anchor = anchor_of(state)
        url, params, query = state.delta_link, None, state.query
    outcome = RoundOutcome("", set(), 0)
    pipeline, in_flight, headers = PagePipeline(), InFlight(), prefer_headers(job.kind, job.page_size)
    try:  # each page's downloads run while the next page is read; pages are applied in order (core/delta/pipeline)
        outcome.delta_link = follow_round(job.graph, url, params=params, headers=headers,
            on_page=lambda entries: pipeline.add(submit_page(job, folder, entries, outcome, in_flight)))  # fmt: skip
    except Exception:
        pipeline.drain()  # the pages received before the round broke off are applied, as one by one
        raise
    pipeline.drain()  # the whole round is applied before it is returned: its link is saved after that
    return outcome, query


def anchor_of(state: DeltaState) -> dict[str, str]:
    """The query a saved round chain began with ({} when not recorded)."""
    try:
        anchor = json.loads(state.query) if state.query else {}
    except ValueError:
        return {}
    return anchor if isinstance(anchor, dict) else {}


def apply_page(job: MailboxJob, folder: Container, entries: list, outcome: RoundOutcome) -> None:
    """Store the page's new content in parallel, then apply its changes to the catalog in page order."""
    submit_page(job, folder, entries, outcome, InFlight()).finish()


def submit_page(
    job: MailboxJob, folder: Container, entries: list, outcome: RoundOutcome, in_flight: InFlight
) -> SubmittedPage:
    """Submit the downloads of the page's new content to the pool; the page is applied by `finish()`."""
    if job.kind.prepare is not None:
        entries = job.kind.prepare(job, folder, entries)
    to_fetch: dict[str, dict] = {}
    for entry in entries:
        if isinstance(entry, Failed):
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            job.report.fail(f"{folder.path}: entry", MalformedResponse(f"delta entry without an id: {entry!r:.200}"))
            continue
        if "@removed" in entry:
            to_fetch.pop(entry["id"], None)
            continue
        known = job.index.get(entry["id"])
        stale = known is None or known.change_key != entry.get("changeKey") or entry["id"] in job.held
        if stale or in_flight.is_pending(entry["id"]):  # a page ahead names it: the index may be about to change
            to_fetch[entry["id"]] = entry
    fetches: dict[str, Future] = {}
    for item_id, entry in to_fetch.items():
        change_key = str(entry.get("changeKey") or "")
        future = in_flight.shared(item_id, change_key)  # the same change, being downloaded for a page ahead
        if future is None:
            future = in_flight.track(item_id, change_key, job.pool.submit(fetch_item, job, folder, entry))
        fetches[item_id] = future
    job.tried.update(to_fetch)
    return SubmittedPage(fetches, entries, in_flight, partial(_apply_entries, job, folder, entries, outcome))


def _apply_entries(job: MailboxJob, folder: Container, entries: list, outcome: RoundOutcome, fetched: dict) -> None:
    """Apply a page's changes to the catalog in page order, its downloads done."""
    for entry in entries:
        if isinstance(entry, Failed):
            fail_item(job, outcome, entry)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            outcome.failed += 1
            continue
        item_id = entry["id"]
        if "@removed" in entry:
            outcome.seen.discard(item_id)
            remove_item(job, folder, item_id)
            continue
        outcome.seen.add(item_id)
        record_outcome(job, folder, entry, fetched.get(item_id), outcome)


def record_outcome(job: MailboxJob, folder: Container, entry: dict, fetched: Any, outcome: RoundOutcome) -> None:
    """Apply what fetching one item gave: a failure (held), a confirmed deletion, or its content recorded."""
    item_id = entry["id"]
    label = f"{folder.path}: {entry.get('subject') or entry.get('displayName') or ''!s:.80} ({item_id})"
    if isinstance(fetched, Exception):
        fail_item(job, outcome, Failed(item_id, label, fetched))
        return
    if fetched == "gone":  # read by id: 404, deleted meanwhile
        remove_item(job, folder, item_id)
        outcome.released.append((item_id, "deleted"))
        return
    try:
        described = job.kind.describe(entry)
    except MalformedResponse as exc:
        fail_item(job, outcome, Failed(item_id, label, exc))
        return
    record_item(job, folder, entry, fetched, described)
    if fetched is not None:
        outcome.released.append((item_id, "captured"))


def fail_item(job: MailboxJob, outcome: RoundOutcome, failure: Failed) -> None:
    job.report.fail(failure.label, failure.error)
    outcome.failures.append(failure)


@dataclass(frozen=True)
class _Stored:
    """An item's stored content, and the live version's row when only its description may have changed."""

    sha256: str
    size: int
    extra: str
    live: ItemVersion | None = None


def fetch_item(job: MailboxJob, folder: Container, entry: dict) -> _Stored | str | Exception:
    """Store an item's content; 'gone' if it was deleted meanwhile (its content answered 404 and so did a read of
    it by id: only that is a deletion). Runs in the pool, as does the catalog read of the live version when the
    content and folder are unchanged (the index is not written while the pool runs)."""
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
    except GraphNotFound as exc:
        return "gone" if is_gone(job, entry["id"]) else exc
    except (GraphError, StorageError) as exc:
        return exc


_PLACE = frozenset({"category", "item_id", "first_seen_run", "deleted_run", "folder_id", "folder_path", "change_key"})
_DESCRIPTION = tuple(f.name for f in fields(ItemVersion) if f.name not in _PLACE)


def _description(version: ItemVersion) -> tuple[Any, ...]:
    """What a version describes of its item as of its runs (content, state, metadata), not where it sits."""
    return tuple(getattr(version, name) for name in _DESCRIPTION)


def record_item(job: MailboxJob, folder: Container, entry: dict, stored: _Stored | None, described: dict) -> None:
    item_id = entry["id"]
    known = job.index.get(item_id)
    change_key = str(entry.get("changeKey") or "")
    if stored is None:  # not fetched: same changeKey
        if known is None or known.folder_id == folder.id:
            return
        version = _version(job, folder, entry, known.content_hash, known.size, None, described)  # moved
    else:
        version = _version(job, folder, entry, stored.sha256, stored.size, stored.extra, described)
        if known is not None and known.content_hash == stored.sha256 and known.folder_id == folder.id:
            if known.change_key == change_key:
                return  # recorded already (the item came twice)
            live = stored.live if stored.live and stored.live.first_seen_run == known.first_seen_run else None
            if live is not None and _description(live) == _description(version):  # read when fetched, still live
                job.writer.touch(job.kind.category, item_id, known.first_seen_run, change_key=change_key)
                job.index[item_id] = replace(known, change_key=change_key)
                return
    job.writer.supersede(known, version)
    job.index[item_id] = OpenVersion(job.run_id, folder.id, version.content_hash, change_key, version.size)
    if known is None or known.first_seen_run != job.run_id:  # else it replaced this run's own version
        job.report.add(items=1)


def _version(
    job: MailboxJob, folder: Container, entry: dict, sha: str, size: int, extra: str | None, described: dict
) -> ItemVersion:
    described = dict(described)
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


def remove_item(job: MailboxJob, folder: Container | None, item_id: str) -> None:
    """End the item's live version (in `folder`; in any folder when None)."""
    known = job.index.get(item_id)
    if known is None or (folder is not None and known.folder_id != folder.id):
        return  # never captured, or already recorded in the folder it moved to
    job.writer.close(job.kind.category, item_id, known.first_seen_run, job.run_id)
    del job.index[item_id]
    job.report.add(removed=1)
