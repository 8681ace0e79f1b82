"""What a restore into the archive needs, captured with each archived message's backup: its full-fidelity export
stream from the mailbox import/export API (core/workloads/exchange/mailbox_api.py), stored in the content store as a
second blob beside the MIME and named in the version's `extra` as `fts` (the archive category's `content_refs` lists
it, so verify and purge see it).

Incremental and budgeted: only the messages a delta page brings as new or changed (the ones the engine fetches) are
exported, at most 20 per exportItems call; the archive's folders are listed once per run, a folder's items (to match
a message to this API's item id by internetMessageId) once per run per folder that has such messages (again only if a
message is missing from that listing, i.e. it arrived since).

A message whose export fails keeps its MIME backup as ever, without `fts`; the run notes it, and a restore into the
archive then restores it into the primary mailbox (archive_restore.py). A message that is not changed is not exported
again, so a failed export is retried only when the message changes. Without the permission (403), exports stop for
the rest of the run with one note."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.delta.containers import Container
from core.delta.content import store_content
from core.errors import GraphAuthError, GraphError, StorageError
from core.workloads.container_delta import Fetched, MailboxJob
from core.workloads.exchange import mailbox_api
from core.workloads.exchange.mail_backup import MAIL_KIND

STREAM = "fts"  # the key of the export stream's hash in an archived version's `extra`
STREAM_MEDIA_TYPE = "application/vnd.ms-exchange.fts"  # the stored blob's content type (opaque bytes)
_SCRATCH = "archive_exports"


@dataclass
class _Exports:
    """One run's export state for one archive (in the job's scratch)."""

    archive_id: str
    folders: dict[str, str] | None = None  # folder path -> this API's folder id
    items: dict[str, dict[str, str]] = field(default_factory=dict)  # folder id -> internetMessageId -> item id
    streams: dict[str, str] = field(default_factory=dict)  # Mail API message id -> stored stream sha256
    stopped: str = ""  # why exports stopped for this run ('' : they did not)


def _state(job: MailboxJob, archive_id: str) -> _Exports:
    state = job.scratch.get(_SCRATCH)
    if not isinstance(state, _Exports) or state.archive_id != archive_id:
        state = job.scratch[_SCRATCH] = _Exports(archive_id)
    return state


def _changed(job: MailboxJob, entries: list) -> list[dict]:
    """The page's entries the engine will fetch: new, changed (another changeKey) or held."""
    out = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and "@removed" not in entry:
            known = job.index.get(entry["id"])
            if known is None or known.change_key != entry.get("changeKey") or entry["id"] in job.held:
                out.append(entry)
    return out


def _item_ids(job: MailboxJob, state: _Exports, folder: Container, wanted: set[str]) -> dict[str, str]:
    """internetMessageId -> item id in the folder (listed again when one wanted is not in the cached listing)."""
    assert state.folders is not None
    folder_id = state.folders.get(folder.path.strip("/"))
    if folder_id is None:  # a folder made since the listing: listed again, once per page that needs it
        state.folders = mailbox_api.folder_paths(job.graph, state.archive_id)
        folder_id = state.folders.get(folder.path.strip("/"))
    if folder_id is None:
        return {}
    if folder_id not in state.items or not wanted <= set(state.items[folder_id]):
        state.items[folder_id] = mailbox_api.items_by_message_id(job.graph, state.archive_id, folder_id)
    return state.items[folder_id]


def export_page(job: MailboxJob, archive_id: str, folder: Container, entries: list) -> list:
    """The archive kind's `prepare`: export the page's new and changed messages and store their streams; returns the
    entries unchanged (what is fetched and recorded is the engine's business)."""
    state = _state(job, archive_id)
    changed = _changed(job, entries)
    if not changed or state.stopped:
        return entries
    by_message = {str(e.get("internetMessageId") or ""): e["id"] for e in changed}
    by_message.pop("", None)
    failed: dict[str, str] = {e["id"]: "no internetMessageId to find its item by" for e in changed
                              if not e.get("internetMessageId")}  # fmt: skip
    try:
        if state.folders is None:
            state.folders = mailbox_api.folder_paths(job.graph, archive_id)
        items = _item_ids(job, state, folder, set(by_message))
        to_export = {items[imid]: mid for imid, mid in by_message.items() if imid in items}
        failed.update({mid: "no such item in the mailbox API's folder" for imid, mid in by_message.items()
                       if imid not in items})  # fmt: skip
        exported = mailbox_api.export_items(job.graph, archive_id, to_export) if to_export else {}
        for item_id, message_id in to_export.items():
            stream = exported.get(item_id, "not exported")
            if isinstance(stream, bytes):
                state.streams[message_id] = store_content(job.content, job.report, stream, STREAM_MEDIA_TYPE).sha256
            else:
                failed[message_id] = stream
    except GraphAuthError as exc:
        state.stopped = f"the mailbox export API refused ({exc.status}; MailboxItem.ImportExport.All)"
        job.report.note(f"archive export streams: {state.stopped}; not exported this run")
        return entries
    except (GraphError, StorageError) as exc:
        failed.update({e["id"]: str(exc)[:200] for e in changed if e["id"] not in state.streams})
    if failed:
        reason = next(iter(failed.values()))
        job.report.note(f"{folder.path}: {len(failed)} archived message(s) without an export stream ({reason}); their "
                        "MIME is kept, a restore into the archive puts them into the primary mailbox")  # fmt: skip
    return entries


def fetch_with_stream(job: MailboxJob, entry: dict) -> Fetched:
    """The archive kind's `fetch`: the MIME as mail's, and the export stream's hash (if exported) in `extra`."""
    sha, size, extra = MAIL_KIND.fetch(job, entry)
    state = job.scratch.get(_SCRATCH)
    stream = state.streams.get(entry["id"]) if isinstance(state, _Exports) else None
    if stream:
        merged: dict[str, Any] = json.loads(extra) if extra else {}
        merged[STREAM] = stream
        extra = json.dumps(merged, separators=(",", ":"))
    return sha, size, extra


def stream_of(extra: str) -> str:
    """The export stream's hash an archived version's `extra` names ('' : none)."""
    try:
        value = json.loads(extra).get(STREAM, "") if extra else ""
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
