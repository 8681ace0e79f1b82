"""Restore of To Do tasks as of a run: tasks, a task list or all of them, into their original lists (the default
list by its well-known name, others by name, made if missing) or into one new list ('Restored <time> UTC', To Do
lists do not nest), in the same or another mailbox; skip those already there, or keep both.

Each task is created from its stored JSON with every property Graph lets a client set (title, body, importance,
status, completedDateTime, dueDateTime, startDateTime, isReminderOn, reminderDateTime, recurrence, categories) and
its linked resources in the same create ("Create todoTask", https://learn.microsoft.com/graph/api/todotasklist-post-tasks),
then its checklist items (isChecked kept) and its file attachments under 3 MB ("Create taskFileAttachment",
https://learn.microsoft.com/graph/api/todotask-post-attachments). Larger attachments need an upload session, which
Graph does not allow with application permissions: the task is restored without them and the report's item names
them (`attachments_omitted`). If a checklist item or attachment cannot be added, the task is deleted again and
reported failed, so a re-run restores it whole.

Never twice: every task is created with an open extension of ours (`restoredFrom` = its identity in the backup,
`restoreAttempt` = random per create; https://learn.microsoft.com/graph/api/opentypeextension-post-opentypeextension
lists POST .../tasks among the creates that take one). "skip" lists each target list once with its extensions
expanded and skips the original (by id) and any copy an earlier restore made; a create whose answer was lost is
looked up by its attempt before it is sent again. Never split into parts (request.parts must be 1)."""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import BackupError, GraphAmbiguousWrite, InvalidRequestError, MalformedResponse, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.workloads.base import Selected
from core.workloads.exchange.restore_marker import CREATE_ATTEMPTS, source_key
from core.workloads.exchange.tasks_backup import DEFAULT_LIST, TASK, TASK_LIST, attachment_bytes, b64, lists_url
from core.workloads.folder_paths import is_within
from core.workloads.selection_reads import selected_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.storage.catalog import ItemVersion

SETTABLE = ("title", "body", "importance", "status", "completedDateTime", "dueDateTime", "startDateTime",
            "isReminderOn", "reminderDateTime", "recurrence", "categories")  # fmt: skip
LINK_SETTABLE = ("webUrl", "applicationName", "displayName", "externalId")
EXTENSION = "com.m365backup.restore"  # our open extension's extensionName (reverse DNS, as the docs advise)
EXTENSION_ID = f"Microsoft.OutlookServices.OpenTypeExtension.{EXTENSION}"  # its id: the fully qualified name
SMALL_ATTACHMENT = 3 * 1024 * 1024  # a POST takes "under 3 MB"


@dataclass
class ListKeys:
    """What a target list holds, read once: task ids, and the backup identities (and attempts) of our copies."""

    ids: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    attempts: dict[str, str] = field(default_factory=dict)  # restoreAttempt -> task id


def list_keys(graph: GraphClient, tasks_url: str) -> ListKeys:
    """One paged listing of a list's tasks with our extension expanded ("Get open extension": a todoTask expanded
    with the extension whose id matches, https://learn.microsoft.com/graph/api/opentypeextension-get)."""
    keys = ListKeys()
    params = {"$top": "1000", "$expand": f"extensions($filter=id eq '{EXTENSION_ID}')"}
    for page in graph.iter_pages(tasks_url, params=params):
        for task in page:
            if not isinstance(task, dict) or not isinstance(task.get("id"), str):
                continue
            keys.ids.add(task["id"])
            for ext in task.get("extensions") or []:
                if isinstance(ext, dict) and ext.get("extensionName") == EXTENSION:
                    keys.sources.add(str(ext.get("restoredFrom") or ""))
                    keys.attempts[str(ext.get("restoreAttempt") or "")] = task["id"]
    return keys


def select_tasks(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, list name as of the run) of every task the request selects; NotFoundError when the scope names
    a list the backup does not hold."""
    if request.item_ids:
        return selected_by_id(services, request, TASK, TASK_LIST, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, TASK_LIST, run_id)}
    selected = []
    for version in services.catalog.as_of(request.resource, TASK, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if request.whole or (request.folder and is_within(path, request.folder)):
            selected.append((version, path))
    if request.folder is not None and not any(is_within(p, request.folder) for p in paths.values()):
        raise NotFoundError(f"no task list {request.folder!r} in the backup as of run {run_id}")
    return selected


class _Lists:
    """The target user's task lists, listed once, found or made by name (the default list by its well-known name)."""

    def __init__(self, graph: GraphClient, user: str) -> None:
        self.graph, self.user = graph, user
        self.listed = [t for page in graph.iter_pages(lists_url(user), params={"$top": "100"}) for t in page]
        self.made: set[str] = set()  # lists this restore created: they hold only what it adds

    def _named(self, name: str) -> str | None:
        return next((str(t["id"]) for t in self.listed if t.get("displayName") == name), None)

    def default(self) -> str:
        found = next((str(t["id"]) for t in self.listed if t.get("wellknownListName") == DEFAULT_LIST), None)
        if found is None:
            raise NotFoundError(f"user {self.user} has no default task list")
        return found

    def ensure(self, name: str) -> str:
        found = self._named(name)
        if found is not None:
            return found
        try:
            made = self.graph.post_json(lists_url(self.user), {"displayName": name})
        except GraphAmbiguousWrite:  # lists may share a name, so a lost create is looked for before anything else
            self.listed = [t for page in self.graph.iter_pages(lists_url(self.user)) for t in page]
            found = self._named(name)
            if found is None:
                raise
            return found
        self.listed.append(made)
        self.made.add(str(made["id"]))
        return str(made["id"])


def _well_known(services: Services, request: RestoreRequest, list_id: str, seen: dict[str, str]) -> str:
    """The well-known name of a backed-up list as of the run ('' for none), read once per list."""
    if list_id not in seen:
        found = services.catalog.versions_as_of(request.resource, TASK_LIST, [list_id], str(request.run_id))
        extra = json.loads(found[list_id].extra) if list_id in found and found[list_id].extra else {}
        seen[list_id] = str(extra.get("wellKnownName") or "")
    return seen[list_id]


def restore_tasks(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` as of the run the request is pinned to (validate_restore checked the rest)."""
    if request.parts != 1:
        raise InvalidRequestError("a tasks restore runs as one part")
    graph, owner = services.graph, request.key.owner
    target = request.target_owner or owner
    report = RestoreReport(request.resource, str(request.run_id), target, "")
    lists = _Lists(graph, target)
    into = None
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        into = lists.ensure(report.destination)
    keys: dict[str, ListKeys] = {}
    well_known: dict[str, str] = {}
    for version, path in sorted(items, key=lambda vp: (vp[1], vp[0].name, vp[0].item_id)):
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash, "new_id": ""}
        source = source_key(request.resource, TASK, version.item_id)
        try:
            if into is not None:
                list_id = into
            elif _well_known(services, request, version.folder_id, well_known) == DEFAULT_LIST:
                list_id = lists.default()
            else:
                list_id = lists.ensure(path)
            tasks_url = f"{lists_url(target)}/{quote(list_id, safe='')}/tasks"
            if request.conflict == "skip" and list_id not in keys:  # read once; a list made here holds nothing
                keys[list_id] = ListKeys() if list_id in lists.made else list_keys(graph, tasks_url)
            held = keys.get(list_id)
            if held is not None and (source in held.sources or version.item_id in held.ids):
                report.skip(entry)
                continue
            new_id, omitted = _create(services, tasks_url, source, version)
        except (BackupError, ValueError) as exc:
            report.fail(version.item_id, exc)
            continue
        if held is not None:
            held.sources.add(source)
            held.ids.add(new_id)
        if omitted:
            entry["attachments_omitted"] = ", ".join(omitted)
        report.done(entry, new_id)
    return report


def create_body(task: dict[str, Any]) -> dict[str, Any]:
    """What a create may set of a stored task: its settable properties and its linked resources."""
    body = {k: task[k] for k in SETTABLE if task.get(k) is not None}
    links = [{k: r[k] for k in LINK_SETTABLE if r.get(k) is not None} for r in task.get("linkedResources") or []]
    if links:
        body["linkedResources"] = links
    return body


def _create(services: Services, tasks_url: str, source: str, version: ItemVersion) -> tuple[str, list[str]]:
    """The new task's id and the names of attachments Graph gives no app-only way to add."""
    graph = services.graph
    task = json.loads(services.content.read(version.content_hash))
    files = attachment_bytes(services.content, version.extra)
    attempt = uuid.uuid4().hex
    body = {**create_body(task), "extensions": [{"@odata.type": "#microsoft.graph.openTypeExtension",
            "extensionName": EXTENSION, "restoredFrom": source, "restoreAttempt": attempt}]}  # fmt: skip
    new_id = ""
    for tries in range(1, CREATE_ATTEMPTS + 1):
        try:
            created = graph.post_json(tasks_url, body)
        except GraphAmbiguousWrite:
            found = list_keys(graph, tasks_url).attempts.get(attempt)
            if found is not None:
                new_id = found
                break
            if tries == CREATE_ATTEMPTS:
                raise
            continue
        if not isinstance(created.get("id"), str):
            raise MalformedResponse("create answered without an id", url=graph.url(tasks_url))
        new_id = created["id"]
        break
    url = f"{tasks_url}/{quote(new_id, safe='')}"
    omitted = [str(meta.get("name") or "") for meta, data in files if len(data) >= SMALL_ATTACHMENT]
    checklist = [{"displayName": i.get("displayName") or "", "isChecked": bool(i.get("isChecked"))}
                 for i in task.get("checklistItems") or []]  # fmt: skip
    uploads = [{"@odata.type": "#microsoft.graph.taskFileAttachment", "name": meta.get("name") or "attachment",
                "contentBytes": b64(data), "contentType": meta.get("contentType") or "application/octet-stream"}
               for meta, data in files if len(data) < SMALL_ATTACHMENT]  # fmt: skip
    try:
        for collection, bodies in ((f"{url}/checklistItems", checklist), (f"{url}/attachments", uploads)):
            for added, body in enumerate(bodies):
                _add_child(graph, collection, body, added)
    except BackupError:
        with contextlib.suppress(BackupError):  # the first failure is the one reported
            graph.request("DELETE", url)  # not half a task: a re-run restores it whole
        raise
    return new_id, omitted


def _add_child(graph: GraphClient, collection: str, body: dict[str, Any], added: int) -> None:
    """POST one checklist item or attachment to a task this restore just made, exactly once: the task holds only
    what this restore added, so after a lost answer a listing longer than `added` means the POST landed."""
    for tries in range(1, CREATE_ATTEMPTS + 1):
        try:
            graph.post_json(collection, body)
            return
        except GraphAmbiguousWrite:
            listed = [c for page in graph.iter_pages(collection, params={"$select": "id"}) for c in page]
            if len(listed) > added:
                return
            if tries == CREATE_ATTEMPTS:
                raise
