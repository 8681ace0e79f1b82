"""Backup of one mailbox's mail: a delta round per folder, MIME for new and changed messages, removals recorded.

Order of durability, per folder round: each page's MIME blobs are stored, then that page's catalog changes are
committed, and only when the whole round is in does the folder's delta link get saved. A crash anywhere repeats
work from the last saved link and loses nothing; repeated items are recognised (same changeKey, or same content
hash) and cost no new blob or version.

A round without a link (first backup, or a link Graph no longer accepts) is a full enumeration; afterwards any
version still live in the catalog for that folder but absent from the enumeration is ended, so deletions missed
while the link was unusable are caught up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from core.errors import DeltaExpired, GraphError, GraphNotFound, MalformedResponse, StorageError
from core.graph.client import GraphClient
from core.models import BackupReport
from core.storage.catalog import FOLDER, CatalogWriter, ItemVersion, OpenVersion
from core.storage.content_store import BlobContentStore, Spool
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.workloads.mail_folders import MailFolder

MAIL = "mail"
MESSAGE_SELECT = (
    "id,changeKey,subject,from,receivedDateTime,lastModifiedDateTime,hasAttachments,internetMessageId,"
    "parentFolderId,isRead"
)


@dataclass
class MailboxJob:
    """Everything one mailbox backup touches."""

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


@dataclass
class RoundOutcome:
    delta_link: str
    seen: set[str]
    failed: int


def _prefer(page_size: int) -> dict[str, str]:
    return {"Prefer": f'odata.maxpagesize={page_size}, IdType="ImmutableId"'}


def record_folders(job: MailboxJob, folders: list[MailFolder], folder_index: dict[str, OpenVersion]) -> None:
    """Folder versions: a new version when a folder appears, is renamed or moved; ended when it disappears."""
    current = {f.id for f in folders}
    for folder in folders:
        previous = folder_index.get(folder.id)
        signature = f"{folder.parent_id}\n{folder.path}"
        if previous is not None and previous.change_key == signature:
            continue
        if previous is not None and previous.first_seen_run != job.run_id:
            job.writer.close(FOLDER, folder.id, previous.first_seen_run, job.run_id)
        job.writer.put(
            ItemVersion(
                category=FOLDER,
                item_id=folder.id,
                first_seen_run=job.run_id,
                folder_id=folder.parent_id,
                folder_path=folder.path,
                name=folder.display_name,
                change_key=signature,
            )
        )
    for folder_id, previous in folder_index.items():
        if folder_id not in current:
            job.writer.close(FOLDER, folder_id, previous.first_seen_run, job.run_id)
    job.writer.flush()


def backup_folder(job: MailboxJob, folder: MailFolder, state: DeltaState | None) -> None:
    """One folder's delta round (or full enumeration), then its delta link, if every item made it."""
    start = f"users/{quote(job.user, safe='')}/mailFolders/{quote(folder.id, safe='')}/messages/delta"
    full = state is None
    try:
        outcome = _run_round(job, folder, state.delta_link if state else start, full)
    except DeltaExpired as exc:
        job.report.note(f"{folder.path}: delta link no longer valid ({exc.code or exc.status}); full enumeration")
        full = True
        outcome = _run_round(job, folder, start, full)
    if full:
        _end_unseen(job, folder, outcome.seen)
    job.writer.flush()
    if outcome.failed:
        job.report.note(f"{folder.path}: {outcome.failed} item(s) failed; delta link kept at the previous round")
        return
    job.delta_state.save(job.resource, DeltaState(MAIL, folder.id, outcome.delta_link, folder.path, job.run_id))


def end_removed_folder(job: MailboxJob, folder_id: str) -> None:
    """A folder gone from the mailbox: its live messages are ended and its delta link cleared."""
    for item_id, version in list(job.index.items()):
        if version.folder_id == folder_id:
            job.writer.close(MAIL, item_id, version.first_seen_run, job.run_id)
            del job.index[item_id]
            job.report.add(removed=1)
    job.writer.flush()
    job.delta_state.forget(job.resource, MAIL, folder_id, job.run_id)


def _end_unseen(job: MailboxJob, folder: MailFolder, seen: set[str]) -> None:
    for item_id, version in list(job.index.items()):
        if version.folder_id == folder.id and item_id not in seen:
            job.writer.close(MAIL, item_id, version.first_seen_run, job.run_id)
            del job.index[item_id]
            job.report.add(removed=1)


def _run_round(job: MailboxJob, folder: MailFolder, url: str, full: bool) -> RoundOutcome:
    params = {"$select": MESSAGE_SELECT} if full or ("$deltatoken" not in url and "$skiptoken" not in url) else None
    next_url: str | None = url
    seen: set[str] = set()
    failed = 0
    while next_url:
        page = job.graph.get_json(next_url, params=params, headers=_prefer(job.page_size))
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


def _apply_page(job: MailboxJob, folder: MailFolder, entries: list, seen: set[str]) -> int:
    """Store the page's new content in parallel, then apply its changes to the catalog in page order."""
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


def _fetch(job: MailboxJob, entry: dict) -> tuple[str, int] | str | Exception:
    """Download a message's MIME into a spool and store it: (sha256, size); 'gone' if deleted meanwhile."""
    url = f"users/{quote(job.user, safe='')}/messages/{quote(entry['id'], safe='')}/$value"
    try:
        with Spool() as spool:
            job.graph.download(url, spool)
            stored = job.content.put(spool, content_type="message/rfc822")
    except GraphNotFound:
        return "gone"
    except (GraphError, StorageError) as exc:
        return exc
    if stored.written:
        job.report.add(bytes=stored.size)
    else:
        job.report.add(deduplicated=1)
    return stored.sha256, stored.size


def _record(job: MailboxJob, folder: MailFolder, entry: dict, stored: tuple[str, int] | None) -> None:
    item_id = entry["id"]
    known = job.index.get(item_id)
    if stored is None:  # not fetched: same changeKey
        if known is None or known.folder_id == folder.id:
            return
        sha, size = known.content_hash, known.size  # moved without a change: same content
    else:
        sha, size = stored
    if known is not None and known.content_hash == sha and known.folder_id == folder.id:
        if known.change_key != entry.get("changeKey"):  # metadata-only change (read state, flag)
            job.writer.touch(
                MAIL,
                item_id,
                known.first_seen_run,
                change_key=entry.get("changeKey", ""),
                is_read=bool(entry.get("isRead")),
            )
            job.index[item_id] = OpenVersion(
                known.first_seen_run, folder.id, sha, entry.get("changeKey", ""), known.size
            )
        return
    if known is not None and known.first_seen_run != job.run_id:
        job.writer.close(MAIL, item_id, known.first_seen_run, job.run_id)
    job.writer.put(_version(job, folder, entry, sha, size))
    job.index[item_id] = OpenVersion(job.run_id, folder.id, sha, entry.get("changeKey", ""), size)
    job.report.add(items=1)


def _version(job: MailboxJob, folder: MailFolder, entry: dict, sha: str, size: int) -> ItemVersion:
    sender = ((entry.get("from") or {}).get("emailAddress") or {}) if isinstance(entry.get("from"), dict) else {}
    return ItemVersion(
        category=MAIL,
        item_id=entry["id"],
        first_seen_run=job.run_id,
        folder_id=folder.id,
        folder_path=folder.path,
        content_hash=sha,
        size=size,
        name=str(entry.get("subject") or "")[:1000],
        sender=str(sender.get("address") or "")[:320],
        received=str(entry.get("receivedDateTime") or ""),
        modified=str(entry.get("lastModifiedDateTime") or ""),
        change_key=str(entry.get("changeKey") or ""),
        internet_message_id=str(entry.get("internetMessageId") or "")[:1000],
        has_attachments=bool(entry.get("hasAttachments")),
        is_read=bool(entry.get("isRead")),
    )


def _remove(job: MailboxJob, folder: MailFolder, item_id: str) -> None:
    known = job.index.get(item_id)
    if known is None or known.folder_id != folder.id:
        return  # never captured, or already recorded in the folder it moved to
    job.writer.close(MAIL, item_id, known.first_seen_run, job.run_id)
    del job.index[item_id]
    job.report.add(removed=1)
