"""Restore of contacts as of a run: contacts, a contact folder or all of them, into the original folders or a new
'Restored <time>' contact folder, in the same or another mailbox; skip those already there, or keep both. Each
contact is recreated from its stored JSON (read-only properties left out) and gets its photo back (a PUT: safe to
repeat). Never split into parts (request.parts must be 1); the 'Restored <time>' folder is found or created by name.

Never twice: every contact is created through restore_marker.create_once (marked with its identity in the backup; a
create whose outcome is unknown is looked up before it is sent again), and "skip" reads each target folder's keys
once, so an original still there, or a copy an earlier restore made, is skipped, in the original folders, a
'Restored <time>' folder or another mailbox alike."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import BackupError, InvalidRequestError, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.base import Selected
from core.workloads.ensure_container import child_named, ensure_child
from core.workloads.exchange.contacts_backup import CONTACT, CONTACT_FOLDER, DEFAULT_FOLDER, DEFAULT_NAME
from core.workloads.exchange.restore_marker import ExistingKeys, create_once, existing_keys, source_key
from core.workloads.folder_paths import is_within, join_path, split_path
from core.workloads.selection_reads import selected_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient

READ_ONLY = {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId"}


def _children(graph: GraphClient, user: str, parent: str | None) -> list[dict]:
    base = f"users/{quote(user, safe='')}/contactFolders"
    url = f"{base}/{quote(parent, safe='')}/childFolders" if parent else base
    return [f for page in graph.iter_pages(url, params={"$top": "100"}) for f in page]


def _ensure_folder(graph: GraphClient, user: str, path: str, under: str | None, known: dict[str, str]) -> str:
    """The id of the contact folder at `path` (below `under`, or the mailbox), made if missing; the default
    folder's contacts go to the default folder itself."""
    segments = split_path(path)
    if under is None and segments[:1] == [DEFAULT_NAME]:
        parent, segments = DEFAULT_FOLDER, segments[1:]
    else:
        parent = under
    for name in segments:
        cache_key = f"{parent}/{name}"
        if cache_key not in known:
            base = f"users/{quote(user, safe='')}/contactFolders"
            url = f"{base}/{quote(parent, safe='')}/childFolders" if parent else base
            known[cache_key], _made = ensure_child(
                lambda parent=parent, name=name: child_named(_children(graph, user, parent), name),
                lambda url=url, name=name: graph.post_json(url, {"displayName": name}, replay_safe=True),
                what="contact folder",
            )
        parent = known[cache_key]
    return parent or DEFAULT_FOLDER


def select_contacts(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, folder path as of the run) for every contact the request selects; NotFoundError when the scope
    names something the backup does not hold. Item ids are read by id (each contact and its folder), a folder or
    all contacts by a scan of the contact folders and the contacts."""
    if request.item_ids:
        return selected_by_id(services, request, CONTACT, CONTACT_FOLDER, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, CONTACT_FOLDER, run_id)}
    selected = []
    for version in services.catalog.as_of(request.resource, CONTACT, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if request.whole or (request.folder and is_within(path, request.folder)):
            selected.append((version, path))
    if request.folder is not None and not any(is_within(p, request.folder) for p in paths.values()):
        raise NotFoundError(f"no contact folder {request.folder!r} in the backup as of run {run_id}")
    return selected


def restore_contacts(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` (what the request selects) as of the run the request is pinned to; the point, the conflict
    policy and the target were checked once, by validate_restore."""
    if request.parts != 1:
        raise InvalidRequestError("a contacts restore runs as one part")
    graph, owner = services.graph, request.key.owner
    target = request.target_owner or owner
    report = RestoreReport(request.resource, str(request.run_id), target, "")
    under = None
    known: dict[str, str] = {}
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        under = _ensure_folder(graph, target, join_path([report.destination]), None, known)
    keys: dict[str, ExistingKeys] = {}  # skip: what each target folder holds, read once
    for version, path in sorted(items, key=lambda vp: (vp[1], vp[0].name, vp[0].item_id)):
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash, "new_id": ""}
        source = source_key(request.resource, CONTACT, version.item_id)
        try:
            folder = _ensure_folder(graph, target, path, under, known)
            collection = _contacts_url(target, folder)
            if request.conflict == "skip" and folder not in keys:
                keys[folder] = existing_keys(graph, collection)
            if folder in keys and keys[folder].holds(source, version.item_id):
                report.skip(entry)
                continue
            new_id = _create(services, target, collection, source, version)
        except (BackupError, ValueError) as exc:
            report.fail(version.item_id, exc)
            continue
        if folder in keys:
            keys[folder].add(source, new_id)
        report.done(entry, new_id)
    return report


def _contacts_url(user: str, folder: str) -> str:
    base = f"users/{quote(user, safe='')}"
    return (
        f"{base}/contacts" if folder == DEFAULT_FOLDER else f"{base}/contactFolders/{quote(folder, safe='')}/contacts"
    )


def _create(services: Services, user: str, collection: str, source: str, version: ItemVersion) -> str:
    body = json.loads(services.content.read(version.content_hash))
    body = {k: v for k, v in body.items() if k not in READ_ONLY and not k.startswith("@")}
    new_id = str(create_once(services.graph, collection, body, source)["id"])
    extra = json.loads(version.extra) if version.extra else {}
    if extra.get("photo"):
        photo = services.content.read(extra["photo"])
        services.graph.request(
            "PUT", f"users/{quote(user, safe='')}/contacts/{quote(new_id, safe='')}/photo/$value", content=photo,
            headers={"Content-Type": "image/jpeg"},
        )  # fmt: skip
    return new_id
