"""Restore of mail as of a run: messages, a folder tree or a whole mailbox, into the original folders or a new
'Restored <time>' folder, in the same or another mailbox, skipping or keeping both on conflict.

Everything that can be checked is checked once, before the first write, by core.restore_plan.validate_restore:
the restore point, the scope (unknown item ids or folders are errors), the conflict policy, the target mailbox.
Each message's MIME is verified against its SHA-256 address before it is used; one failing message is reported and
does not stop the others.

A message comes back as the owner saw it, not as a draft: it is created from JSON built from its stored MIME, with
its read state, flag, categories and importance as of the chosen run and its delivery and sent times set at creation
(core.workloads.exchange.message_json), with its first file attachments under 3 MB in the same create while the
request stays within CREATE_BUDGET (one request for most messages), then the rest of its attachments in order (under
3 MB by POST, larger through an attachment upload session in 4 MB parts, attached messages by POST). A message
whose attachments cannot all be added is removed again and reported failed, so a re-run restores it whole. Every
create is marked (core.workloads.exchange.restore_marker): it is never sent twice after an ambiguous failure, and
"skip" recognises copies restored before from one listing per target folder (a folder this restore just created
holds nothing, and costs no listing). A well-known folder of the backup (Inbox,
Sent Items, ...) is the target mailbox's folder of that well-known name, whatever its display name there.

A large restore runs as several parts at once (request.part of request.parts, see RestoreRequest.select_part): each
part restores its share of the selection, which the job kept when it was planned and the part reads by id, and
every folder (the 'Restored <time>' folder and each folder below it) is found or created, so parts racing to create
the same folder still end up in one copy of it."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError, GraphNotFound, NotFoundError, StorageError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import FOLDER, ItemVersion
from core.workloads.base import Pick, Selected
from core.workloads.exchange import mail_folders, message_json, outlook_attachments, restore_marker
from core.workloads.exchange.mail_targets import ROOT, MailTargets, Resolved, messages_url
from core.workloads.folder_paths import is_within, join_path, split_path
from core.workloads.selection_reads import selected_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services

MAIL = "mail"
CONFLICTS = ("skip", "keep-both")  # for mail, contacts and events alike
# bytes of JSON a create may carry with its files in it: Graph refuses a request over 4 MB (the simulator too, 413);
# what does not fit is added after the create, as before
CREATE_BUDGET = 3_500_000


def require_user(services: Services, user: str) -> None:
    """NotFoundError unless `user` is a user of the tenant (the mailbox to restore into)."""
    try:
        services.graph.get_json(f"users/{quote(user, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        raise NotFoundError(f"no user {user!r} in the tenant to restore into") from None


def well_known_of(folders: list[ItemVersion]) -> dict[str, str]:
    """top folder path -> its well-known name, as recorded by the backup (or known by its English name)."""
    names = {}
    for folder in folders:
        segments = split_path(folder.folder_path)
        if len(segments) != 1:
            continue
        recorded = json.loads(folder.extra).get("wellKnownName", "") if folder.extra else ""
        name = recorded or mail_folders.ENGLISH_NAMES.get(segments[0], "")
        if name:
            names[folder.folder_path] = name
    return names


def select_versions(
    services: Services, request: RestoreRequest, run_id: str, category: str = MAIL, folder_category: str = FOLDER
) -> list[Selected]:
    """(version, folder path as of the run) for every message the request selects; NotFoundError when the
    scope names something the backup does not hold. Item ids are read by id (each message and its folder: two rows
    for one message), a folder or the whole mailbox by a scan of the folders and the messages. `category`,
    `folder_category`: the catalog categories of the messages and their folders (an archive's are its own)."""
    if request.item_ids:
        return selected_by_id(services, request, category, folder_category, run_id)
    resource = request.resource
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, folder_category, run_id)}
    selected = []
    for version in services.catalog.as_of(resource, category, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if request.whole or (request.folder is not None and is_within(path, request.folder)):
            selected.append((version, path))
    if request.folder is not None and not any(is_within(p, request.folder) for p in paths.values()):
        raise NotFoundError(f"no folder {request.folder!r} in the backup as of run {run_id}")
    return selected


def _targets(
    services: Services, request: RestoreRequest, folders: list[ItemVersion], prepared: dict[str, Resolved] | None
) -> tuple[MailTargets, str]:
    """The target folders of a restore (and the name of the new folder it goes under, '' for the original
    folders): from `prepared` when the job resolved them already, else found out as the restore goes."""
    target = request.target_owner or request.key.owner
    graph, destination, under = services.graph, "", None
    if request.destination == "new-folder":
        destination = request.new_folder_name()
        if prepared is None or ROOT not in prepared:
            top = MailTargets(graph, target, same_mailbox=False, well_known={})
            under = top.resolve(join_path([destination]))  # found (another part made it) or made
    return MailTargets(graph, target, same_mailbox=target == request.key.owner, well_known=well_known_of(folders),
                       under=under, prepared=prepared), destination  # fmt: skip


def _top_folders(services: Services, request: RestoreRequest) -> list[ItemVersion]:
    """The folder versions of the run a restore finding its own target folders needs (the top folders' well-known
    names): the folder category, read once (folders, not messages)."""
    return [v for v in services.catalog.as_of(request.resource, FOLDER, str(request.run_id))
            if len(split_path(v.folder_path)) == 1]  # fmt: skip


def prepare_targets(services: Services, request: RestoreRequest, picks: list[Pick]) -> dict[str, Resolved]:
    """Find or make the target folder of every message of the job's selection (a job does this once, when it is
    planned, and its parts start from the result). Reads the folder category once, no message."""
    targets, _ = _targets(services, request, _top_folders(services, request), None)
    for folder_id, path in sorted({(p.folder_id, p.path) for p in picks}, key=lambda fp: (fp[1], fp[0])):
        targets.folder(folder_id, path)
    return targets.resolved()


def restore_mail(
    services: Services, request: RestoreRequest, prepared: dict[str, Resolved] | None, items: list[Selected]
) -> RestoreReport:
    """Restore `items`, messages the request selects (its part of them), as of the run it is pinned to (the point,
    the conflict policy and the target were checked once, by validate_restore). `prepared`: the target folders the
    job resolved when it was planned (prepare_targets); without it they are found out here."""
    run_id = str(request.run_id)
    target = request.target_owner or request.key.owner
    folders = [] if prepared is not None else _top_folders(services, request)
    targets, destination = _targets(services, request, folders, prepared)
    report = RestoreReport(request.resource, run_id, target, destination)
    for version, path in sorted(items, key=lambda vp: (vp[1], vp[0].received, vp[0].item_id)):
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash}
        source = restore_marker.source_key(request.resource, MAIL, version.item_id)
        try:
            restore_into(services, targets, target, request.conflict, (version, path), source, version.item_id,
                         report, entry)  # fmt: skip
        except (GraphError, StorageError, NotFoundError, ValueError) as exc:
            report.fail(version.item_id, exc)
    return report


def restore_into(
    services: Services,
    targets: MailTargets,
    user: str,
    conflict: str,
    item: Selected,
    source: str,
    original_id: str,
    report: RestoreReport,
    entry: dict,
) -> None:
    """One message into its target folder (found or made by path): under 'skip', not when the folder holds it
    already (the original by `original_id` or internetMessageId, or a copy by its marker `source`); reported."""
    version, path = item
    folder_id = targets.folder(version.folder_id, path)
    if conflict == "skip" and targets.keys(folder_id).holds(source, original_id, version.internet_message_id):
        report.skip(entry)
        return
    new_id = restore_message(services, user, folder_id, version, source)
    if conflict == "skip":
        targets.keys(folder_id).add(source, new_id, version.internet_message_id)
    report.done(entry, new_id)


def restore_message(services: Services, user: str, folder_id: str, version: ItemVersion, source: str) -> str:
    """Create the message as of its version (not a draft), then its attachments; the id of the new message
    (archived messages are restored into the primary mailbox this way too: archive_restore.py)."""
    graph = services.graph
    state = json.loads(version.extra) if version.extra else {}
    create = message_json.from_mime(
        services.content.read(version.content_hash), is_read=version.is_read, received=version.received, state=state
    )
    body, later = with_small_files(create)
    new_id = str(restore_marker.create_once(graph, messages_url(user, folder_id), body, source)["id"])
    added: Counter[str] = Counter()
    try:
        for part in later:
            _attach(services, user, new_id, part, added[part.name])
            added[part.name] += 1
    except (GraphError, StorageError) as exc:
        graph.request("DELETE", f"users/{quote(user, safe='')}/messages/{quote(new_id, safe='')}")
        raise GraphError(f"attachment {part.name!r} could not be added (message not kept): {exc}") from exc
    return new_id


def with_small_files(create: message_json.MessageCreate) -> tuple[dict, list[message_json.AttachmentPart]]:
    """The create body with the message's first file attachments in it, as many of them in order as are under 3 MB
    each and keep the request within CREATE_BUDGET ("Create message": "When using JSON format, you can include an
    attachment"), and the attachments left to add after the create, in order (so they keep the original's order):
    a message with small files is one request, not one plus one per file."""
    size, inline = len(json.dumps(create.body)), []
    for n, part in enumerate(create.attachments):
        if part.kind != "file" or len(part.data) >= outlook_attachments.SMALL:
            return _with(create.body, inline), create.attachments[n:]
        attachment = outlook_attachments.file_json(_file_meta(part), part.data)
        size += len(json.dumps(attachment)) + 2
        if size > CREATE_BUDGET:
            return _with(create.body, inline), create.attachments[n:]
        inline.append(attachment)
    return _with(create.body, inline), []


def _with(body: dict, attachments: list[dict]) -> dict:
    return {**body, "attachments": attachments} if attachments else body


def _file_meta(part: message_json.AttachmentPart) -> dict:
    return {"name": part.name, "contentType": part.content_type, "isInline": part.is_inline,
            **({"contentId": part.content_id} if part.content_id else {})}  # fmt: skip


def _attachments_url(user: str, message_id: str) -> str:
    return f"users/{quote(user, safe='')}/messages/{quote(message_id, safe='')}/attachments"


def _attach(services: Services, user: str, message_id: str, part: message_json.AttachmentPart, before: int) -> None:
    """Add one attachment once; `before` = attachments of that name this restore already added to the message."""
    graph, url = services.graph, _attachments_url(user, message_id)
    if part.kind == "item":
        body = {"@odata.type": "#microsoft.graph.itemAttachment", "name": part.name, "item": part.item_json()}
        outlook_attachments.post_once(graph, url, body, before)
        return
    meta = _file_meta(part)
    parts = (part.data[i : i + outlook_attachments.PART] for i in range(0, len(part.data), outlook_attachments.PART))
    outlook_attachments.add_file(graph, url, meta, len(part.data), parts, before)
