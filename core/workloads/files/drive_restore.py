"""Restore of OneDrive / SharePoint files as of a run: a file, a folder tree or a whole drive (library); into the
original place, a new 'Restored <time>' folder, or another user's OneDrive / another site; on a name conflict
skip, fail, replace or keep both (Graph's conflictBehavior fail / replace / rename).

Paths are rebuilt from the folder versions of the run and recreated by name under the destination; a name that
could step out of its folder ('..', '/', '\\') is refused for that item. Content is read back from the write-once
store hash-verified (SHA-256), uploaded in one PUT (small) or an upload session (large, resumable), with the
original timestamps, and the restored file is checked against its QuickXorHash when Graph reports one. Sharing is
not re-applied: each restored file's report entry says how many links and grants of its own it had
(`sharing_omitted`), read back whole from the version (inline, or the content store for long lists).

A large restore runs as several parts at once (request.part of request.parts, see RestoreRequest.select_part): each
part uploads its share of the files; only part 0 recreates the folder trees (empty folders too). Every folder is
found or created, so parts racing to create the same folder still end up in one copy of it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import (
    BackupError,
    ContentIntegrityError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    NotFoundError,
)
from core.graph.drive_upload import create_folder, upload_file
from core.graph.quickxor import QuickXorHash
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.storage.content_store import Spool
from core.workloads.base import Selected
from core.workloads.ensure_container import ensure_child
from core.workloads.files.drive_backup import DRIVE_FOLDER, FILE
from core.workloads.files.drive_metadata import recorded_permissions
from core.workloads.folder_paths import is_within, join_path, split_path
from core.workloads.selection_reads import items_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services

BEHAVIOUR = {"skip": "fail", "fail": "fail", "replace": "replace", "keep-both": "rename"}


def folder_paths(folders: dict[str, ItemVersion]) -> dict[str, str]:
    """composite folder id -> path from its drive's root ('' for the root)."""
    paths: dict[str, str] = {}

    def path_of(key: str, depth: int = 0) -> str:
        if key in paths:
            return paths[key]
        folder = folders.get(key)
        if folder is None or not folder.folder_id or depth > 500:
            paths[key] = ""
            return ""
        parent = path_of(folder.folder_id, depth + 1)
        paths[key] = join_path([*split_path(parent), folder.name])
        return paths[key]

    for key in folders:
        path_of(key)
    return paths


def select_files(services: Services, request: RestoreRequest, run_id: str) -> tuple[list[Selected], list[str]]:
    """(file version, parent path) for every selected file, and the folder paths to recreate (empty ones too).
    Item ids are read by id (each file, and each folder above it once); a folder or the whole drive by a scan."""
    if request.item_ids:
        versions = items_by_id(services, request, FILE, run_id)
        paths = folder_paths(_ancestors(services, request.resource, run_id, {v.folder_id for v in versions}))
        return [(v, paths.get(v.folder_id, "")) for v in versions], []
    folders = {v.item_id: v for v in services.catalog.as_of(request.resource, DRIVE_FOLDER, run_id)}
    paths = folder_paths(folders)
    selected = []
    for version in services.catalog.as_of(request.resource, FILE, run_id):
        parent = paths.get(version.folder_id, "")
        full = join_path([*split_path(parent), version.name])
        within = request.folder is not None and (is_within(parent, request.folder) or full == request.folder)
        if request.whole or within:
            selected.append((version, parent))
    folder = request.folder
    if folder is not None and not selected and not any(is_within(p, folder) for p in paths.values() if p):
        raise NotFoundError(f"no folder or file {request.folder!r} in the backup as of run {run_id}")
    return selected, [path for _, path in _trees(request, folders, paths)]


def _ancestors(services: Services, resource: str, run_id: str, folder_ids: set[str]) -> dict[str, ItemVersion]:
    """The folder versions of `folder_ids` and of every folder above them, as of the run: read by id, each once."""
    found: dict[str, ItemVersion] = {}
    wanted = {f for f in folder_ids if f}
    for _ in range(500):  # deeper than any drive
        if not wanted:
            break
        read = services.catalog.versions_as_of(resource, DRIVE_FOLDER, sorted(wanted), run_id)
        found.update(read)
        wanted = {v.folder_id for v in read.values() if v.folder_id and v.folder_id not in found}
    return found


def _trees(request: RestoreRequest, folders: dict[str, ItemVersion], paths: dict[str, str]) -> list[tuple[str, str]]:
    """(drive, folder path) of every folder a folder or whole-drive restore recreates (empty ones too), sorted."""
    if request.item_ids:
        return []
    return sorted({(folders[key].container_id, path) for key, path in paths.items()
                   if path and key in folders and (request.whole or is_within(path, request.folder or ""))},
                  key=lambda dp: (dp[1], dp[0]))  # fmt: skip


def _target_drive(services: Services, request: RestoreRequest, library: str) -> str:
    """The drive to restore into when it is not the original one: the other user's OneDrive, or the other site's
    library of the same name (else its default library)."""
    graph, target = services.graph, request.target_owner or ""
    try:
        if request.key.workload == "onedrive":
            return str(graph.get_json(f"users/{quote(target, safe='')}/drive", params={"$select": "id"})["id"])
        drives = [d for page in graph.iter_pages(f"sites/{quote(target, safe=',')}/drives") for d in page]
    except GraphNotFound:
        raise NotFoundError(f"no {request.key.workload} {target!r} to restore into") from None
    for drive in drives:
        if drive.get("name") == library:
            return str(drive["id"])
    if not drives:
        raise NotFoundError(f"site {target!r} has no document library to restore into")
    return str(drives[0]["id"])


class _Folders:
    """Finds or creates folders by path under a base folder of one drive, remembering what it found."""

    def __init__(self, services: Services, drive_id: str, base_id: str) -> None:
        self.services, self.drive_id, self.known = services, drive_id, {"": base_id}

    def ensure(self, path: str) -> str:
        if path in self.known:
            return self.known[path]
        segments = split_path(path)
        parent = self.ensure(join_path(segments[:-1]))
        name = segments[-1]
        graph = self.services.graph
        drive, parent_seg = quote(self.drive_id, safe=""), quote(parent, safe="")

        def find() -> str | None:
            try:
                return str(graph.get_json(f"drives/{drive}/items/{parent_seg}:/{quote(name, safe='')}:")["id"])
            except GraphNotFound:
                return None

        self.known[path], _made = ensure_child(
            find,
            lambda: create_folder(graph, self.drive_id, parent, name, "fail"),  # "fail": a repeat answers 409
            look_first=False,  # a create costs what a lookup does, and most restored folders are new
            what="drive folder",
        )
        return self.known[path]


def ensure_drive_folder(services: Services, drive_id: str, path: str) -> str:
    """The id of folder `path` (from the root of drive `drive_id`), each folder on the way found or created as a
    restore's are: for restores of other kinds that leave files in a OneDrive (chats' transcripts)."""
    root = services.graph.get_json(f"drives/{quote(drive_id, safe='')}/root", params={"$select": "id"})
    return _Folders(services, drive_id, str(root["id"])).ensure(path)


def restore_files(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` (the request's part of what it selects) as of the run the request is pinned to; the point,
    the conflict policy and the target were checked once, by validate_restore. Part 0 of a folder or whole-drive
    restore also recreates the folder trees (reading the drive folders of the run once)."""
    run_id = str(request.run_id)
    trees: list[tuple[str, str]] = []
    if request.part == 0 and not request.item_ids:
        folders = {v.item_id: v for v in services.catalog.as_of(request.resource, DRIVE_FOLDER, run_id)}
        trees = _trees(request, folders, folder_paths(folders))
    graph = services.graph
    report = RestoreReport(request.resource, run_id, request.target_owner or request.key.owner, "")
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
    by_drive: dict[str, _Folders] = {}

    def folders_for(source_drive: str, library: str) -> _Folders:
        if source_drive not in by_drive:
            drive = _target_drive(services, request, library) if request.target_owner else source_drive
            root = str(graph.get_json(f"drives/{quote(drive, safe='')}/root", params={"$select": "id"})["id"])
            folders = _Folders(services, drive, root)
            if request.destination == "new-folder":
                folders.known = {"": folders.ensure(join_path([report.destination]))}
            by_drive[source_drive] = folders
        return by_drive[source_drive]

    states = services.delta_state.load(request.resource)
    libraries = {d: states.get(("drive", d)) for d in {v.container_id for v, _ in items} | {d for d, _ in trees}}
    for source_drive, path in trees:  # the folder tree first, so empty folders come back too
        if source_drive:
            library = libraries[source_drive]
            folders_for(source_drive, library.container_path if library else "").ensure(path)
    for version, parent in sorted(items, key=lambda vp: (vp[1], vp[0].name)):
        state = libraries.get(version.container_id)
        entry = {"item_id": version.item_id, "folder": parent, "sha256": version.content_hash, "new_id": ""}
        try:
            folders = folders_for(version.container_id, state.container_path if state else "")
            created = _upload(services, folders, parent, version, BEHAVIOUR[request.conflict])
        except GraphConflict:
            if request.conflict == "skip":
                report.skip(entry)
                continue
            report.fail(version.item_id, f"{version.name!r} already exists")
            continue
        except (BackupError, OSError) as exc:
            report.fail(version.item_id, exc)
            continue
        shared = _own_permissions(services, version)
        if shared:  # sharing is captured with each version, not re-applied: say how much the copy lacks
            entry["sharing_omitted"] = str(shared)
        report.done(entry, str(created.get("id", "")))
    return report


def _own_permissions(services: Services, version: ItemVersion) -> int:
    """Links and grants the file had of its own (not inherited) as of its version, read back whole (inline or
    from the content store, see drive_metadata)."""
    try:
        permissions = recorded_permissions(services.content, version.extra)
    except (BackupError, ValueError):
        return 0
    return sum(1 for p in permissions if isinstance(p, dict) and "inheritedFrom" not in p)


def _upload(services: Services, folders: _Folders, parent: str, version: ItemVersion, behaviour: str) -> dict:
    extra = json.loads(version.extra) if version.extra else {}
    times = {k: extra[f] for k, f in (("createdDateTime", "fs_created"), ("lastModifiedDateTime", "fs_modified"))
             if extra.get(f)}  # fmt: skip
    with Spool() as spool:
        quickxor = QuickXorHash()
        for chunk in services.content.iter_chunks(version.content_hash):  # raises if it does not hash right
            spool.write(chunk)
            quickxor.update(chunk)
        parent_id = folders.ensure(parent)
        created = upload_file(
            services.graph,
            folders.drive_id,
            parent_id,
            version.name,
            spool.reader(),
            spool.size,
            conflict=behaviour,
            file_system_info=times or None,
        )
    reported = ((created.get("file") or {}).get("hashes") or {}).get("quickXorHash")
    if reported and reported != quickxor.base64():
        raise ContentIntegrityError(f"restored {version.name!r} hashes to {reported}, expected {quickxor.base64()}")
    if isinstance(created.get("size"), int) and created["size"] != version.size:
        raise GraphError(f"restored {version.name!r} has {created['size']} bytes, expected {version.size}")
    return created
