"""To Do state of one mailbox user: task lists (the default "Tasks" list and others), tasks with their checklist
items, linked resources, file attachments and open extensions, and the change log task delta reads.

Modelled on the documented resources: todoTaskList (https://learn.microsoft.com/graph/api/resources/todotasklist),
todoTask (https://learn.microsoft.com/graph/api/resources/todotask), checklistItem
(https://learn.microsoft.com/graph/api/resources/checklistitem), linkedResource
(https://learn.microsoft.com/graph/api/resources/linkedresource), taskFileAttachment
(https://learn.microsoft.com/graph/api/resources/taskfileattachment). createdDateTime, lastModifiedDateTime,
bodyLastModifiedDateTime and hasAttachments of a task, createdDateTime and checkedDateTime of a checklist item and
lastModifiedDateTime/size of an attachment are the service's: a body that names them is accepted and they are
ignored. A change to a task's checklist items, linked resources or attachments is a change of the task (its
lastModifiedDateTime and etag move, and task delta lists it again): the docs do not say so either way; the
simulator makes the choice a backup must survive (the backup reads those collections whenever a task is listed)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from graphsim.errors import GraphError
from graphsim.pim.common import ChangeLog, iso_z, parse_graph_dt

STATUSES = ("notStarted", "inProgress", "completed", "waitingOnOthers", "deferred")
IMPORTANCES = ("low", "normal", "high")
DATE_PROPS = ("dueDateTime", "startDateTime", "reminderDateTime", "completedDateTime")
READ_ONLY = ("id", "createdDateTime", "lastModifiedDateTime", "bodyLastModifiedDateTime", "hasAttachments")
LINK_PROPS = ("webUrl", "applicationName", "displayName", "externalId")
# a POST takes "under 3 MB" (https://learn.microsoft.com/graph/api/todotask-post-attachments)
SMALL_ATTACHMENT = 3 * 1024 * 1024


def iso_fraction(value: dt.datetime) -> str:
    """DateTimeOffset as To Do writes it: UTC with seven fractional digits."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _dt_tz(value: Any, what: str) -> dict[str, str] | None:
    """A dateTimeTimeZone as stored: UTC, To Do's precision."""
    if value is None:
        return None
    parsed = parse_graph_dt(value, what)
    return {"dateTime": parsed.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def normalize_task_prop(name: str, value: Any) -> Any:
    if name == "title":
        return None if value is None else str(value)
    if name == "body":
        value = value if isinstance(value, dict) else {}
        kind = str(value.get("contentType") or "text").lower()
        if kind not in ("text", "html"):
            raise GraphError(400, "invalidRequest", f"Invalid body contentType '{kind}'.")
        return {"content": str(value.get("content") or ""), "contentType": kind}
    if name == "importance":
        if value not in IMPORTANCES:
            raise GraphError(400, "invalidRequest", f"Invalid importance value '{value}'.")
        return value
    if name == "status":
        if value not in STATUSES:
            raise GraphError(400, "invalidRequest", f"Invalid status value '{value}'.")
        return value
    if name == "isReminderOn":
        if not isinstance(value, bool):
            raise GraphError(400, "invalidRequest", "isReminderOn must be a boolean.")
        return value
    if name == "categories":
        return [str(c) for c in value or []]
    if name in DATE_PROPS:
        return _dt_tz(value, name)
    if name == "recurrence":
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("pattern"), dict):
            raise GraphError(400, "invalidRequest", "The recurrence property is invalid.")
        return copy.deepcopy(value)
    raise GraphError(400, "invalidRequest", f"The property '{name}' does not exist on type 'microsoft.graph.todoTask'.")


TASK_PROPS = ("title", "body", "importance", "status", "isReminderOn", "categories", "recurrence", *DATE_PROPS)
DEFAULTS: dict[str, Any] = {"title": None, "body": {"content": "", "contentType": "text"}, "importance": "normal",
                            "status": "notStarted", "isReminderOn": False, "categories": [], "recurrence": None,
                            "dueDateTime": None, "startDateTime": None, "reminderDateTime": None,
                            "completedDateTime": None}  # fmt: skip


@dataclass
class ChecklistItem:
    id: str
    display_name: str
    is_checked: bool
    created: dt.datetime
    checked: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"displayName": self.display_name, "createdDateTime": iso_fraction(self.created),
                                "isChecked": self.is_checked, "id": self.id}  # fmt: skip
        if self.checked is not None:
            body["checkedDateTime"] = iso_fraction(self.checked)
        return body


@dataclass
class TaskAttachment:
    id: str
    name: str
    content_type: str
    data: bytes
    modified: dt.datetime

    def to_json(self, with_content: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.type": "#microsoft.graph.taskFileAttachment", "id": self.id,
                                "lastModifiedDateTime": iso_fraction(self.modified), "name": self.name,
                                "contentType": self.content_type, "size": len(self.data)}  # fmt: skip
        if with_content:
            body["contentBytes"] = base64.b64encode(self.data).decode("ascii")
        return body


@dataclass
class Task:
    id: str
    list_id: str
    props: dict[str, Any]
    created: dt.datetime
    modified: dt.datetime
    body_modified: dt.datetime
    version: int = 1
    seq: int = 0
    checklist: dict[str, ChecklistItem] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # linkedResource JSON by id
    attachments: dict[str, TaskAttachment] = field(default_factory=dict)
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)  # open extensions by extensionName

    @property
    def etag(self) -> str:
        digest = hashlib.sha1(f"{self.id}:{self.version}".encode()).digest()
        return 'W/"' + base64.b64encode(digest).decode("ascii") + '"'

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.etag": self.etag}
        for name in TASK_PROPS:
            value = self.props.get(name)
            if value is not None or name in ("title",):
                body[name] = copy.deepcopy(value)
        body.update({"createdDateTime": iso_fraction(self.created), "lastModifiedDateTime": iso_fraction(self.modified),
                     "bodyLastModifiedDateTime": iso_fraction(self.body_modified),
                     "hasAttachments": bool(self.attachments), "id": self.id})  # fmt: skip
        return body

    def summary(self) -> dict[str, Any]:
        """Everything a user sees of the task (for tests, through /_sim)."""
        return {"id": self.id, "list_id": self.list_id, "task": self.to_json(),
                "checklistItems": [c.to_json() for c in self.checklist.values()],
                "linkedResources": [copy.deepcopy(v) for v in self.links.values()],
                "attachments": [{**a.to_json(), "sha256": hashlib.sha256(a.data).hexdigest()}
                                for a in self.attachments.values()],
                "extensions": [copy.deepcopy(e) for e in self.extensions.values()]}  # fmt: skip


@dataclass
class TaskList:
    id: str
    display_name: str
    well_known: str = "none"  # wellknownListName: none, defaultList, flaggedEmails
    task_ids: dict[str, None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"@odata.etag": 'W/"' + hashlib.sha1(self.id.encode()).hexdigest()[:24] + '"',
                "displayName": self.display_name, "isOwner": True, "isShared": False,
                "wellknownListName": self.well_known, "id": self.id}  # fmt: skip


def task_props(body: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task's properties after a create (existing None) or an update body: read-only ones ignored, unknown ones
    refused; status "completed" without a completedDateTime is completed now."""
    props = copy.deepcopy(existing) if existing is not None else copy.deepcopy(DEFAULTS)
    for name, value in body.items():
        if name.startswith("@") or name in READ_ONLY or name in ("linkedResources", "extensions", "checklistItems",
                                                                  "attachments"):  # fmt: skip
            continue
        props[name] = normalize_task_prop(name, value)
    if props["status"] == "completed" and props["completedDateTime"] is None:
        props["completedDateTime"] = _dt_tz({"dateTime": iso_z(dt.datetime.now(dt.UTC)), "timeZone": "UTC"}, "now")
    if props["status"] != "completed" and "completedDateTime" not in body:
        props["completedDateTime"] = None
    return props


def link_props(body: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in body if not k.startswith("@") and k not in (*LINK_PROPS, "id")]
    if unknown:
        raise GraphError(400, "invalidRequest", f"The property '{unknown[0]}' does not exist on type "
                         "'microsoft.graph.linkedResource'.")  # fmt: skip
    return {k: (None if body.get(k) is None else str(body[k])) for k in LINK_PROPS}


class TodoStore:
    def __init__(self) -> None:
        self.lists: dict[str, TaskList] = {}
        self.tasks: dict[str, Task] = {}
        self.log = ChangeLog()
        self.counter = 0

    def next_number(self) -> int:
        self.counter += 1
        return self.counter

    def add_list(self, task_list: TaskList) -> TaskList:
        self.lists[task_list.id] = task_list
        return task_list

    def insert(self, task: Task) -> Task:
        task.seq = self.log.next()
        self.tasks[task.id] = task
        self.lists[task.list_id].task_ids[task.id] = None
        return task

    def touch(self, task: Task, when: dt.datetime, body_changed: bool = False) -> None:
        task.version += 1
        task.modified = when
        if body_changed:
            task.body_modified = when
        task.seq = self.log.next()

    def delete(self, task: Task) -> None:
        self.lists[task.list_id].task_ids.pop(task.id, None)
        self.tasks.pop(task.id, None)
        self.log.remove(task.id, task.list_id)

    def delete_list(self, task_list: TaskList) -> None:
        for task_id in list(task_list.task_ids):
            self.tasks.pop(task_id, None)
        self.lists.pop(task_list.id, None)
