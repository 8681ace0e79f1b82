"""Restore of channel messages as of a run, through migration mode (core/workloads/teams/migration.py).

What a request selects: item ids (messages; a reply brings its root when the target thread lacks it, since a reply
can only be imported under its root), a folder (a channel's path: every message of it), a thread (`<channel
path>/<root id>`: the root and its replies), or everything. Where it goes: the original channel (the same team, or
a channel of the same name in another team, made if missing), or a new channel ('Restored <time>' or
destination_name) made in migration mode, one per source channel when several are restored.

Per target channel: what it holds is read first (roots, and the replies of each thread it adds to); a message
already there (same createdDateTime to the millisecond and same author) is skipped ('skip') or a failure ('fail'):
Graph refuses a second message with the same createdDateTime in a conversation, so there is no 'keep-both', and an
imported message cannot be changed afterwards, so there is no 'replace'. A rerun finds what an earlier attempt
imported the same way and imports nothing twice. Then startMigration (unless migrating already), the roots in
createdDateTime order, then the replies in createdDateTime order, and completeMigration always, even when a part
failed. A soft-deleted version is not imported (a failure naming it: restore a point before the deletion). A
restored message's shared files keep their links; one no longer at its link is named in the message's report entry
(`missing_files`: the sharepoint resource and item to restore), never restored from here."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from core.errors import BackupError, GraphNotFound, InvalidRequestError, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.base import Selected
from core.workloads.folder_paths import is_within, join_path, split_path
from core.workloads.selection_reads import selected_by_id
from core.workloads.teams import migration
from core.workloads.teams.file_refs import note_missing_files
from core.workloads.teams.messages_backup import CHANNEL, CHANNEL_MESSAGE, message_key, split_key

if TYPE_CHECKING:
    from core.bootstrap import Services

CONFLICTS = ("skip", "fail")


def select_messages(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, channel path as of the run) of every message the request selects; NotFoundError when the scope
    names a channel or thread the run lacks."""
    if request.item_ids:
        return selected_by_id(services, request, CHANNEL_MESSAGE, CHANNEL, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, CHANNEL, run_id)}
    channel_path, thread = request.folder, None
    if request.folder is not None and request.folder not in paths.values():
        segments = split_path(request.folder)
        channel_path, thread = join_path(segments[:-1]), segments[-1] if len(segments) > 1 else None
        if channel_path not in paths.values() or thread is None:
            raise NotFoundError(f"no channel or thread {request.folder!r} in the backup as of run {run_id}")
    selected = []
    for version in services.catalog.as_of(request.resource, CHANNEL_MESSAGE, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if not (request.whole or (channel_path is not None and is_within(path, channel_path))):
            continue
        if thread is not None and split_key(version.item_id)[1] != thread:
            continue
        selected.append((version, path))
    if thread is not None and not selected:
        raise NotFoundError(f"no thread {thread!r} in channel {channel_path!r} as of run {run_id}")
    return selected


def _channel_meta(services: Services, request: RestoreRequest, channel_id: str) -> tuple[str, dict]:
    version = services.catalog.version_as_of(request.resource, CHANNEL, channel_id, str(request.run_id))
    if version is None:
        return channel_id, {}
    return version.name, json.loads(version.extra) if version.extra else {}


def restore_messages(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` as of the run the request is pinned to (point, conflict policy and target checked once)."""
    if request.parts != 1:
        raise InvalidRequestError("a channel message restore runs as one part")
    team = request.target_owner or request.key.owner
    report = RestoreReport(request.resource, str(request.run_id), team, "")
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
    by_channel: dict[str, list[Selected]] = {}
    for version, path in items:
        by_channel.setdefault(version.folder_id, []).append((version, path))
    for channel_id, selected in sorted(by_channel.items()):
        _restore_channel(services, request, report, team, channel_id, selected, len(by_channel) > 1)
    return report


def _messages(services: Services, request: RestoreRequest, selected: list[Selected]) -> dict[str, ItemVersion]:
    """Catalog id -> version of each selected message, plus the roots of selected replies (as of the run)."""
    versions = {v.item_id: v for v, _path in selected}
    for key in list(versions):
        channel, root, reply = split_key(key)
        root_key = message_key(channel, root)
        if reply and root_key not in versions:
            found = services.catalog.version_as_of(request.resource, CHANNEL_MESSAGE, root_key, str(request.run_id))
            if found is None:
                raise NotFoundError(f"the thread of reply {key} is not in the backup as of run {request.run_id}")
            versions[root_key] = found
    return versions


def _restore_channel(
    services: Services,
    request: RestoreRequest,
    report: RestoreReport,
    team: str,
    channel_id: str,
    selected: list[Selected],
    several: bool,
) -> None:
    graph = services.graph
    chosen = {v.item_id for v, _path in selected}
    path = selected[0][1]
    try:
        versions = _messages(services, request, selected)
        stored = {k: json.loads(services.content.read(v.content_hash)) for k, v in versions.items()}
        name, meta = _channel_meta(services, request, channel_id)
        earliest = min(migration.when(m["createdDateTime"]) for m in stored.values())
        if meta.get("createdDateTime"):
            earliest = min(earliest, migration.when(meta["createdDateTime"]))
        target = _target(services, request, team, channel_id, name, meta, report, several, earliest)
        migration.read_roots(graph, target)
    except (BackupError, ValueError, KeyError) as exc:
        for key in sorted(chosen):
            report.fail(key, exc)
        return
    order = sorted(
        versions, key=lambda k: (split_key(k)[2] is not None, migration.when(stored[k]["createdDateTime"]), k)
    )
    imported: dict[str, str] = {}  # source root id -> target root id
    todo: list[tuple[str, str | None]] = []  # (catalog id, target root id or None for a root)
    for key in order:
        message = stored[key]
        entry = {"item_id": key, "folder": path, "sha256": versions[key].content_hash, "new_id": ""}
        channel, root, reply = split_key(key)
        if message.get("deletedDateTime"):
            if key in chosen:
                report.fail(key, "a deleted message cannot be imported: restore a point before its deletion")
            continue
        try:
            where = None
            if reply:
                where = imported.get(root) or target.roots.get(migration.key_of(stored[message_key(channel, root)]))
                present = migration.read_replies(graph, target, where) if where else {}
            else:
                present = target.roots
            found = present.get(migration.key_of(message))
        except (BackupError, ValueError, KeyError) as exc:
            report.fail(key, exc)
            continue
        if found is not None:
            if not reply:
                imported[root] = found
            if key in chosen and request.conflict == "fail":
                report.fail(key, f"already in the target channel (message {found})")
            elif key in chosen:
                report.skip(entry)
            continue
        todo.append((key, where))
    if todo:
        _import_all(services, request, report, target, versions, stored, chosen, todo, imported, path)
    note_missing_files(services, report, versions, str(request.run_id))  # a file gone from its link: named


def _target(
    services: Services,
    request: RestoreRequest,
    team: str,
    channel_id: str,
    name: str,
    meta: dict,
    report: RestoreReport,
    several: bool,
    earliest: dt.datetime,
) -> migration.Target:
    graph = services.graph
    description = str(meta.get("description") or "")
    if request.destination == "new-folder":
        new_name = f"{report.destination} {name}"[:50] if several else report.destination[:50]
        return migration.channel_named(graph, team, new_name, description, earliest)
    if team == request.key.owner:
        try:
            return migration.channel_by_id(graph, team, channel_id)
        except GraphNotFound:
            pass  # the channel is gone: one of its name is found or made
    return migration.channel_named(graph, team, name[:50], description, earliest)


def _import_all(
    services: Services,
    request: RestoreRequest,
    report: RestoreReport,
    target: migration.Target,
    versions: dict[str, ItemVersion],
    stored: dict[str, dict],
    chosen: set[str],
    todo: list[tuple[str, str | None]],
    imported: dict[str, str],
    path: str,
) -> None:
    graph = services.graph
    try:
        migration.start(graph, target, min(migration.when(stored[k]["createdDateTime"]) for k, _w in todo))
    except BackupError as exc:
        for key, _where in todo:
            report.fail(key, exc)
        return
    try:
        for key, where in todo:
            _channel, root, reply = split_key(key)
            entry = {"item_id": key, "folder": path, "sha256": versions[key].content_hash, "new_id": ""}
            try:
                parent = where or (imported.get(root) if reply else None)
                if reply and parent is None:
                    raise NotFoundError(f"its thread {root} could not be restored")
                new_id = migration.post(
                    graph, target, migration.import_body(stored[key], _images(services, versions[key])), parent
                )
            except (BackupError, ValueError, KeyError) as exc:
                report.fail(key, exc)
                continue
            if not reply:
                imported[root] = new_id
            report.done(entry, new_id)  # a root brought for its selected replies is restored too
    finally:
        try:
            migration.complete(graph, target)
        except BackupError as exc:
            report.fail(f"completeMigration of channel {target.id}", exc)


def _images(services: Services, version: ItemVersion) -> dict[str, bytes]:
    extra = json.loads(version.extra) if version.extra else {}
    return {h["id"]: services.content.read(h["sha256"]) for h in extra.get("hosted") or []}
