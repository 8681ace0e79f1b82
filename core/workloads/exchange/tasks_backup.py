"""The To Do task item kind: task lists are the containers (`/users/{id}/todo/lists`, the default "Tasks" list
among them), tasks come through each list's task delta (https://learn.microsoft.com/graph/api/todotask-delta) on
the Outlook container engine (core/workloads/container_delta.py). A task's content is its canonical JSON with its
checklist items and linked resources (read beside it whenever delta lists it); each file attachment is stored as a
content blob of its own, named in the version's `extra`.

A task has no changeKey: its `@odata.etag` (or, lacking one, lastModifiedDateTime) stands for it. A task is
addressed under its list only (there is no read of a task by id alone), so the adapter (`TodoKind`) knows each
task's list: from the round that lists it, the catalog, or the quarantine's record of a held item."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.errors import GraphError, MalformedResponse
from core.graph.client import GraphClient
from core.storage.catalog import OpenVersion
from core.storage.content_store import Spool
from core.storage.quarantine import HeldItem
from core.workloads.container_delta import Fetched, ItemKind, MailboxJob
from core.workloads.container_folders import OutlookKind

TASK = "task"
TASK_LIST = "tasklist"
DEFAULT_LIST = "defaultList"  # wellknownListName of the default "Tasks" list
LIST_KEY = "@m365backup.list"  # the list a delta entry came from, kept on the entry (annotations are not stored)
CHILDREN = ("checklistItems", "linkedResources")


def canonical_json(task: dict) -> bytes:
    """The task as stored: Graph's JSON without OData annotations or our change key, keys sorted, UTF-8."""
    clean = {k: v for k, v in task.items() if not k.startswith("@") and k != "changeKey"}
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def lists_url(user: str) -> str:
    return f"users/{quote(user, safe='')}/todo/lists"


def task_url(user: str, list_id: str, task_id: str) -> str:
    return f"{lists_url(user)}/{quote(list_id, safe='')}/tasks/{quote(task_id, safe='')}"


def list_task_lists(graph: GraphClient, user: str) -> list[Container]:
    """Every task list of the user (To Do lists are flat), the default list's well-known name kept."""
    found: list[Container] = []
    for page in graph.iter_pages(lists_url(user), params={"$top": "100"}):
        for raw in page:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                continue
            name = str(raw.get("displayName") or "")
            well_known = DEFAULT_LIST if raw.get("wellknownListName") == DEFAULT_LIST else None
            found.append(Container(raw["id"], name, "", name, well_known))
    return found


def _delta_path(user: str, task_list: Container) -> str:
    return f"{lists_url(user)}/{quote(task_list.id, safe='')}/tasks/delta"


def _unknown_path(user: str, task_id: str) -> str:
    raise GraphError(f"task {task_id}: its list is not known")  # replaced per job by TodoKind


def with_change_key(entry: Any, list_id: str) -> Any:
    """A delta (or by-id) entry with the change key the engine compares and the list it is in."""
    if isinstance(entry, dict) and "@removed" not in entry:
        entry = {**entry, "changeKey": str(entry.get("@odata.etag") or entry.get("lastModifiedDateTime") or ""),
                 LIST_KEY: list_id}  # fmt: skip
    return entry


def _prepare(job: MailboxJob, task_list: Container, entries: list) -> list:
    lists: dict[str, str] = job.scratch.setdefault("lists", {})
    out = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            lists[entry["id"]] = task_list.id
        out.append(with_change_key(entry, task_list.id))
    return out


def _children(job: MailboxJob, url: str, name: str) -> list[dict]:
    items = [i for page in job.graph.iter_pages(f"{url}/{name}", params={"$top": "100"}) for i in page]
    if not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        raise MalformedResponse(f"{name}: an entry without an id")
    return items


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    """The task with its checklist items and linked resources as one JSON; each attachment's bytes stored beside
    it. A 404 on any of these is left to the engine (the task is read by id before it is taken as deleted)."""
    url = task_url(job.user, str(entry[LIST_KEY]), entry["id"])
    task = {k: v for k, v in entry.items() if k != LIST_KEY}
    for name in CHILDREN:
        task[name] = [{k: v for k, v in i.items() if not k.startswith("@")} for i in _children(job, url, name)]
    attachments = []
    for meta in _children(job, url, "attachments"):
        with Spool() as spool:
            job.graph.download(f"{url}/attachments/{quote(str(meta['id']), safe='')}/$value", spool)
            kind = str(meta.get("contentType") or "application/octet-stream")
            stored = store_content(job.content, job.report, spool, kind)
        attachments.append({"id": meta["id"], "name": meta.get("name"), "contentType": meta.get("contentType"),
                            "size": stored.size, "sha256": stored.sha256})  # fmt: skip
    content = store_content(job.content, job.report, canonical_json(task), "application/json")
    return content.sha256, content.size, json.dumps({"attachments": attachments}) if attachments else ""


def _describe(entry: dict) -> dict[str, Any]:
    return {
        "name": str(entry.get("title") or "")[:1000],
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "received": str(entry.get("createdDateTime") or ""),
        "has_attachments": bool(entry.get("hasAttachments")),
    }


TASK_KIND = ItemKind(
    category=TASK,
    folder_category=TASK_LIST,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    item_path=_unknown_path,
    prepare=_prepare,
)


class TodoKind(OutlookKind):
    """The Outlook adapter for To Do: a task is read by id under its list, which this job knows from the round
    that listed it (prepare), the catalog (a live version's folder) or the quarantine (a held item's container)."""

    def __init__(self, job: MailboxJob, folder_index: dict[str, OpenVersion], read_ahead: bool = False) -> None:
        job.kind = replace(job.kind, item_path=self._task_path)
        super().__init__(job, folder_index, read_ahead)

    def _list_of(self, task_id: str) -> str:
        known = self.job.scratch.get("lists", {}).get(task_id)
        if known is None and task_id in self.job.index:
            known = self.job.index[task_id].folder_id
        if known is None and task_id in self.job.held:
            known = self.job.held[task_id].container_id
        if not known:
            raise GraphError(f"task {task_id}: its list is not known")
        return str(known)

    def _task_path(self, user: str, task_id: str) -> str:
        return task_url(user, self._list_of(task_id), task_id)

    def read_held(self, item: HeldItem) -> dict | None:
        entry = super().read_held(item)
        return with_change_key(entry, item.container_id) if entry is not None else None


def attachment_bytes(content: Any, extra: str) -> list[tuple[dict, bytes]]:
    """(attachment metadata, bytes) of a version's attachments, read from the content store."""
    meta = json.loads(extra).get("attachments", []) if extra else []
    return [(m, content.read(m["sha256"])) for m in meta]


def attachment_refs(extra: str) -> tuple[str, ...]:
    return tuple(m["sha256"] for m in (json.loads(extra).get("attachments", []) if extra else []))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
