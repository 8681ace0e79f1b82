"""Restore of mail as of a run: messages, a folder tree or a whole mailbox, into the original folders or a new
'Restored <time>' folder, in the same or another mailbox, skipping or keeping both on conflict.

Everything that can be checked is checked before the first write: the restore point, the scope (unknown item
ids or folders are errors), the target mailbox. Each message's MIME is verified against its SHA-256 address
before it is sent back; one failing message is reported and does not stop the others.

A large restore runs as several parts at once (request.part of request.parts, see RestoreRequest.select_part): each
part restores its share of the selection, and every folder (the 'Restored <time>' folder and each folder below it)
is found or created, so parts racing to create the same folder still end up in one copy of it."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError, GraphNotFound, InvalidRequestError, NotFoundError, StorageError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import FOLDER, ItemVersion
from core.workloads import mail_folders
from core.workloads.folder_paths import is_within, join_path

if TYPE_CHECKING:
    from core.bootstrap import Services

MAIL = "mail"
CONFLICTS = ("skip", "keep-both")  # for mail, contacts and events alike


def require_user(services: Services, user: str) -> None:
    """NotFoundError unless `user` is a user of the tenant (the mailbox to restore into)."""
    try:
        services.graph.get_json(f"users/{quote(user, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        raise NotFoundError(f"no user {user!r} in the tenant to restore into") from None


def select_versions(services: Services, request: RestoreRequest, run_id: str) -> list[tuple[ItemVersion, str]]:
    """(version, folder path as of the run) for every message the request selects; NotFoundError when the
    scope names something the backup does not hold."""
    resource = request.resource
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, FOLDER, run_id)}
    wanted = set(request.item_ids)
    selected = []
    for version in services.catalog.as_of(resource, MAIL, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if (
            request.whole
            or (wanted and version.item_id in wanted)
            or (request.folder is not None and is_within(path, request.folder))
        ):
            selected.append((version, path))
    if wanted:
        missing = wanted - {v.item_id for v, _ in selected}
        if missing:
            raise NotFoundError(f"not in the backup as of run {run_id}: {', '.join(sorted(missing))}")
    if request.folder is not None and not any(is_within(p, request.folder) for p in paths.values()):
        raise NotFoundError(f"no folder {request.folder!r} in the backup as of run {run_id}")
    return selected


def restore_mail(services: Services, request: RestoreRequest) -> RestoreReport:
    if request.conflict not in CONFLICTS:
        raise InvalidRequestError(f"conflict must be 'skip' or 'keep-both' for mail, got {request.conflict!r}")
    owner = request.key.owner
    run_id = services.runs.resolve_point(request.resource, request.run_id, request.at)
    selected = request.select_part(select_versions(services, request, run_id), key=lambda vp: vp[0].item_id)
    target = request.target_owner or owner
    graph = services.graph
    require_user(services, target)
    report = RestoreReport(request.resource, run_id, target, "")
    under: str | None = None
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        under = mail_folders.ensure_path(graph, target, join_path([report.destination]))  # found or created
    folder_ids: dict[str, str] = {}

    def target_folder(version: ItemVersion, path: str) -> str:
        key = path
        if key not in folder_ids:
            if under is None and target == owner and mail_folders.folder_exists(graph, target, version.folder_id):
                folder_ids[key] = version.folder_id
            else:
                folder_ids[key] = mail_folders.ensure_path(graph, target, path, under)
        return folder_ids[key]

    for version, path in sorted(selected, key=lambda vp: (vp[1], vp[0].received, vp[0].item_id)):
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash}
        try:
            folder_id = target_folder(version, path)
            if request.conflict == "skip" and _already_there(services, target, folder_id, version):
                report.skip(entry)
                continue
            mime = services.content.read(version.content_hash)
            created = graph.post_content(
                f"users/{quote(target, safe='')}/mailFolders/{quote(folder_id, safe='')}/messages",
                base64.b64encode(mime),
                content_type="text/plain",
            )
        except (GraphError, StorageError, NotFoundError) as exc:
            report.fail(version.item_id, exc)
            continue
        new_id = str(created.get("id", ""))
        try:
            _put_back_state(services, target, new_id, version)
        except GraphError as exc:  # the message is back; only its read state, flag or categories are not
            report.failures.append({"item_id": version.item_id, "error": f"restored without its state: {exc}"[:500]})
        report.done(entry, new_id)
    return report


def _put_back_state(services: Services, user: str, message_id: str, version: ItemVersion) -> None:
    """Read state, flag, categories and importance, which a message created from MIME does not carry."""
    changes: dict = {"isRead": version.is_read}
    if version.extra:
        changes.update(json.loads(version.extra))
    url = f"users/{quote(user, safe='')}/messages/{quote(message_id, safe='')}"
    services.graph.request("PATCH", url, json=changes)


def _already_there(services: Services, user: str, folder_id: str, version: ItemVersion) -> bool:
    if not version.internet_message_id:
        return False
    literal = version.internet_message_id.replace("'", "''")
    url = f"users/{quote(user, safe='')}/mailFolders/{quote(folder_id, safe='')}/messages"
    params = {"$filter": f"internetMessageId eq '{literal}'", "$select": "id", "$top": "1"}
    page = services.graph.get_json(url, params=params)
    return bool(page.get("value"))
