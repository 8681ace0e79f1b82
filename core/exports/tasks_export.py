"""To Do tasks as standard files, as of a run: one task as JSON (what Graph reports of it, with its checklist
items, linked resources and attachments, each attachment's bytes as base64 `contentBytes` as Graph's own
taskFileAttachment carries them), and a task list (or all of them) as a zip of such files laid out by list, with a
manifest.json (core/exports/files_export.py).

JSON, not an iCalendar VTODO: a VTODO has no place for checklist items (with their checked state) or linked
resources, and carries recurrence and attachments only loosely; the JSON is the task exactly as backed up, readable
by people and by any tool, and what a restore reads."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from core.catalog_view import Scope, parse_time
from core.exports.files_export import selected, write_items_zip
from core.exports.mail_export import short_id
from core.storage.catalog import ItemVersion
from core.work_progress import counted
from core.workloads.base import Rendered

if TYPE_CHECKING:
    from core.bootstrap import Services

JSON_TYPE = "application/json"


def task_bytes(services: Services, version: ItemVersion) -> bytes:
    """The task's JSON with its attachments (metadata and base64 content), pretty-printed, UTF-8."""
    task = json.loads(services.content.read(version.content_hash))
    meta = json.loads(version.extra).get("attachments", []) if version.extra else []
    task["attachments"] = [
        {"@odata.type": "#microsoft.graph.taskFileAttachment", "id": m.get("id"), "name": m.get("name"),
         "contentType": m.get("contentType"), "size": m.get("size"),
         "contentBytes": base64.b64encode(services.content.read(m["sha256"])).decode("ascii")}
        for m in meta
    ]  # fmt: skip
    return json.dumps(task, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def task_file(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    data = task_bytes(services, version)
    return Rendered(iter([data]), len(data), hashlib.sha256(data).hexdigest())


def write_tasks_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """Tasks as .json, one file per task laid out by task list."""

    def render(version: ItemVersion) -> tuple[str, Iterator[bytes]]:
        name = f"{version.name or scope.category} {short_id(version.item_id)}.json"
        return name, iter([task_bytes(services, version)])

    head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
    items = iter(counted(lambda: selected(services, scope, folder)))  # watched: counted first
    return {"run_id": scope.run_id, **write_items_zip(out, items, render, head, when=lambda v: parse_time(v.modified))}
