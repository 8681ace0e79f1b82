"""Graph v1.0 To Do task attachments (taskFileAttachment): list, get (with contentBytes), raw $value, add a small
one and delete. "Create taskFileAttachment" (https://learn.microsoft.com/graph/api/todotask-post-attachments)
takes files under 3 MB; larger ones need "taskFileAttachment: createUploadSession"
(https://learn.microsoft.com/graph/api/taskfileattachment-createuploadsession), which the docs do not allow
with application permissions, so an app-only caller (everything this project does) cannot add them: the
simulator answers a larger POST 413 and serves no upload session."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError
from graphsim.ids import opaque_id
from graphsim.odata import context
from graphsim.pim.common import now
from graphsim.pim.contact_routes import json_body, paged
from graphsim.simulator import Context, graph_route
from graphsim.todo.routes import NOT_FOUND, store_of, task_of
from graphsim.todo.store import SMALL_ATTACHMENT, Task, TaskAttachment, TodoStore


def _attachment(task: Task, request: Request) -> TaskAttachment:
    found = task.attachments.get(request.path_params["attachment"])
    if found is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return found


def add_task_attachment(store: TodoStore, task: Task, name: str, content_type: str, data: bytes) -> TaskAttachment:
    when = now()
    aid = opaque_id("AAMkA", task.id, "att", len(task.attachments), name, when.timestamp(), len(data))
    made = TaskAttachment(aid, name, content_type, data, when)
    task.attachments[aid] = made
    store.touch(task, when)
    return made


@graph_route("todo_attachments")
async def list_attachments(request: Request, ctx: Context) -> Response:
    task = task_of(store_of(ctx), request)
    return paged(request, "Collection(taskFileAttachment)", [a.to_json() for a in task.attachments.values()], 100)


@graph_route("todo_attachments")
async def get_attachment(request: Request, ctx: Context) -> Response:
    found = _attachment(task_of(store_of(ctx), request), request)
    return JSONResponse({"@odata.context": context(request, "taskFileAttachment/$entity"),
                         **found.to_json(with_content=True)})  # fmt: skip


@graph_route("todo_attachment_value")
async def get_attachment_value(request: Request, ctx: Context) -> Response:
    found = _attachment(task_of(store_of(ctx), request), request)
    return Response(found.data, media_type=found.content_type)


@graph_route("todo_create")
async def post_attachment(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    body = await json_body(request)
    if str(body.get("@odata.type", "")).lstrip("#").lower() != "microsoft.graph.taskfileattachment":
        raise GraphError(400, "invalidRequest", "@odata.type must be #microsoft.graph.taskFileAttachment.")
    name = body.get("name")
    if not isinstance(name, str) or not name or not isinstance(body.get("contentBytes"), str):
        raise GraphError(400, "invalidRequest", "name and contentBytes are required.")
    try:
        data = base64.b64decode(body["contentBytes"], validate=True)
    except (binascii.Error, ValueError):
        raise GraphError(400, "invalidRequest", "contentBytes is not valid base64.") from None
    if len(data) >= SMALL_ATTACHMENT:
        raise GraphError(413, "ErrorRequestEntityTooLarge", "The attachment is 3 MB or more: use an upload session.")
    made = add_task_attachment(store, task, name, str(body.get("contentType") or "application/octet-stream"), data)
    return JSONResponse({"@odata.context": context(request, "taskFileAttachment/$entity"), **made.to_json()},
                        status_code=201)  # fmt: skip


@graph_route("todo_delete")
async def delete_attachment(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    del task.attachments[_attachment(task, request).id]
    store.touch(task, now())
    return Response(status_code=204)


def todo_attachment_routes() -> list[BaseRoute]:
    a = "/v1.0/users/{user}/todo/lists/{list}/tasks/{task}/attachments"
    return [
        Route(a, list_attachments),
        Route(a, post_attachment, methods=["POST"]),
        Route(f"{a}/{{attachment}}/$value", get_attachment_value),
        Route(f"{a}/{{attachment}}", get_attachment),
        Route(f"{a}/{{attachment}}", delete_attachment, methods=["DELETE"]),
    ]


__all__ = ["add_task_attachment", "todo_attachment_routes"]
