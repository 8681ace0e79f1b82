"""Restore of chat messages as of a run: back into the chat through migration mode where the docs allow it, else as
the export a user opens.

What a request selects: item ids (messages), a folder (a chat's path: its messages), or everything. Where it goes:
- one-on-one and group chats: into the same chat (read as the target user's, https://learn.microsoft.com/graph/api/
  chat-get under /users/{id}/chats/{id}: a user who is not in it finds no chat). What the chat holds is listed
  first (https://learn.microsoft.com/graph/api/chat-list-messages) and a message already there (same
  createdDateTime to the millisecond and same author) is skipped ('skip') or a failure ('fail'): Graph refuses a
  second message with the same createdDateTime in a conversation, and an imported message cannot be changed, so
  there is no 'keep-both' and no 'replace'; a rerun finds what an earlier attempt imported and imports nothing
  twice. A message soft-deleted in the chat since keeps its place there (its time and author), so its text comes
  back as an export (below). The rest is imported with its original author and time: chat startMigration
  (https://learn.microsoft.com/graph/api/chat-startmigration: group and one-on-one chats, new and existing), POST
  /chats/{id}/messages with createdDateTime and `from` (https://learn.microsoft.com/graph/teams-import-messages),
  then completeMigration (https://learn.microsoft.com/graph/api/chat-completemigration) always, even when a message
  failed. Importing sends no notification; reactions are not importable (the import takes none).
- where migration is not possible, the restore is an export: a meeting chat ("Meeting chats aren't supported" on
  both migration pages), a chat the target user is not in or that is gone, and a restore 'into a new folder' (a
  new chat would need members added, which Teams shows them, and "chat types aren't allowed in initial imports").
  Those messages of a chat, as of the run, become its HTML transcript and JSON in the user's OneDrive
  (`Restored chats/<folder>/<chat>.html`, transcript_restore.py): each reported with status 'exported' (counted as
  restored) and new_id the transcript's drive item id, the report's destination that folder; a rerun finds the
  files it left and uploads nothing twice. A user without a OneDrive gets a failure pointing to the zip export.
A soft-deleted version is not imported (a failure naming it: restore a point before the deletion)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import BackupError, GraphNotFound, InvalidRequestError, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.base import Selected
from core.workloads.chats.chat_messages import CHAT, CHAT_MESSAGE, chat_path
from core.workloads.chats.transcript_restore import TranscriptDrop
from core.workloads.folder_paths import is_within
from core.workloads.selection_reads import selected_by_id
from core.workloads.teams import migration

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient

CONFLICTS = ("skip", "fail")
MIGRATABLE = ("oneOnOne", "group")  # chat types chat startMigration documents


@dataclass
class ChatTarget(migration.Target):
    """A chat as the migration calls address it (migration.Target names a channel)."""

    @property
    def path(self) -> str:
        return chat_path(self.id)


def select_chat_messages(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, chat path as of the run) of every message the request selects; NotFoundError for a chat the run
    lacks."""
    if request.item_ids:
        return selected_by_id(services, request, CHAT_MESSAGE, CHAT, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, CHAT, run_id)}
    if request.folder is not None and request.folder not in paths.values():
        raise NotFoundError(f"no chat {request.folder!r} in the backup as of run {run_id}")
    selected = []
    for version in services.catalog.as_of(request.resource, CHAT_MESSAGE, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if request.whole or (request.folder is not None and is_within(path, request.folder)):
            selected.append((version, path))
    return selected


def restore_chat_messages(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` as of the run the request is pinned to (point, conflict policy and target checked once)."""
    if request.parts != 1:
        raise InvalidRequestError("a chat message restore runs as one part")
    owner = request.target_owner or request.key.owner
    report = RestoreReport(request.resource, str(request.run_id), owner, "")
    drop = TranscriptDrop(services, request, owner)
    by_chat: dict[str, list[Selected]] = {}
    for version, path in items:
        by_chat.setdefault(version.folder_id, []).append((version, path))
    for chat_id, selected in sorted(by_chat.items()):
        versions = {v.item_id: v for v, _path in selected}
        path = selected[0][1]
        if request.destination == "new-folder":
            drop.export(report, path, versions, sorted(versions))
            continue
        try:
            exported = _restore_chat(services, request, report, owner, chat_id, path, versions)
        except (BackupError, ValueError, KeyError) as exc:
            for key in sorted(versions):
                report.fail(key, exc)
            continue
        drop.export(report, path, versions, exported)
    return report


def _restore_chat(
    services: Services,
    request: RestoreRequest,
    report: RestoreReport,
    owner: str,
    chat_id: str,
    path: str,
    versions: dict[str, ItemVersion],
) -> list[str]:
    """Import what the chat takes; returns the messages that must be exported instead."""
    graph = services.graph
    stored = {k: json.loads(services.content.read(v.content_hash)) for k, v in versions.items()}
    try:
        chat = graph.get_json(f"users/{quote(owner, safe='')}/{chat_path(chat_id)}")
    except GraphNotFound:  # gone, or the target user is not in it: nothing to import into
        return sorted(versions)
    target = ChatTarget("", chat_id, str(chat.get("createdDateTime") or ""), chat.get("migrationMode") == "inProgress")
    deleted = _read_chat(graph, target)
    todo: list[str] = []
    exported: list[str] = []
    for key in sorted(versions, key=lambda k: (migration.when(stored[k]["createdDateTime"]), k)):
        message = stored[key]
        found = target.roots.get(migration.key_of(message))
        if found in deleted and not message.get("deletedDateTime"):
            # deleted in the chat since: it keeps its place (time and author), which Graph will not take again
            exported.append(key)
        elif found is not None:
            if request.conflict == "fail":
                report.fail(key, f"already in the chat (message {found})")
            else:
                report.skip({"item_id": key, "folder": path, "sha256": versions[key].content_hash})
        elif message.get("deletedDateTime"):
            report.fail(key, "a deleted message cannot be imported: restore a point before its deletion")
        else:
            todo.append(key)
    if todo and chat.get("chatType") not in MIGRATABLE:  # a meeting chat cannot enter migration mode
        return sorted(exported + todo)
    if todo:
        _import_all(services, report, target, path, versions, stored, todo)
    return exported


def _read_chat(graph: GraphClient, target: ChatTarget) -> set[str]:
    """What the chat holds now (target.roots: key -> id); returns the ids of its soft-deleted messages."""
    deleted = set()
    for page in graph.iter_pages(f"{target.path}/messages", params=migration.PAGE):
        for message in page:
            if isinstance(message.get("id"), str) and message.get("createdDateTime"):
                target.roots[migration.key_of(message)] = message["id"]
                if message.get("deletedDateTime"):
                    deleted.add(message["id"])
    return deleted


def _import_all(
    services: Services,
    report: RestoreReport,
    target: ChatTarget,
    path: str,
    versions: dict[str, ItemVersion],
    stored: dict[str, dict],
    todo: list[str],
) -> None:
    graph = services.graph
    try:
        migration.start(graph, target, min(migration.when(stored[k]["createdDateTime"]) for k in todo))
    except BackupError as exc:
        for key in todo:
            report.fail(key, exc)
        return
    try:
        for key in todo:
            entry = {"item_id": key, "folder": path, "sha256": versions[key].content_hash}
            try:
                body = migration.import_body(stored[key], _images(services, versions[key]))
                new_id = migration.post(graph, target, body, None)
            except (BackupError, ValueError, KeyError) as exc:
                report.fail(key, exc)
                continue
            report.done(entry, new_id)
    finally:
        try:
            migration.complete(graph, target)
        except BackupError as exc:
            report.fail(f"completeMigration of chat {target.id}", exc)


def _images(services: Services, version: ItemVersion) -> dict[str, bytes]:
    extra = json.loads(version.extra) if version.extra else {}
    return {h["id"]: services.content.read(h["sha256"]) for h in extra.get("hosted") or []}
