"""/_sim control API for To Do (not Graph; no auth): a user's lists and tasks as a user sees them (every task with
its checklist items, linked resources, attachments and open extensions), and add, edit, delete tasks, checklist
items and attachments for tests."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.control_api import control, control_body, mailbox_user
from graphsim.errors import GraphError
from graphsim.simulator import Context, Simulator
from graphsim.tenant import User
from graphsim.todo.attachment_routes import add_task_attachment
from graphsim.todo.routes import add_checklist_item, new_task, set_checked, update_task
from graphsim.todo.service import TodoService
from graphsim.todo.store import Task, TodoStore


def _todo(request: Request) -> tuple[Simulator, User, TodoStore]:
    sim: Simulator = request.app.state.sim
    user, _ = mailbox_user(sim, request.path_params["user"])
    todo: TodoService = sim.todo  # type: ignore[attr-defined]
    return sim, user, todo.of(user.id)


def _task(store: TodoStore, task_id: str) -> Task:
    task = store.tasks.get(task_id)
    if task is None:
        raise GraphError(404, "NotFound", f"no task {task_id!r}")
    return task


def todo_state(store: TodoStore) -> dict[str, Any]:
    return {"lists": [t.to_json() for t in store.lists.values()],
            "tasks": [t.summary() for t in store.tasks.values()]}  # fmt: skip


@control
async def get_todo(request: Request) -> Response:
    _, _, store = _todo(request)
    return JSONResponse(todo_state(store))


@control
async def add_task(request: Request) -> Response:
    """{"list": id (default: the default list), "properties": todoTask JSON, "checklist": [names],
    "attachment": {"name", "contentType", "contentBytes"}}"""
    sim, user, store = _todo(request)
    body = await control_body(request)
    default = next(t.id for t in store.lists.values() if t.well_known == "defaultList")
    task_list = store.lists.get(str(body.get("list") or default))
    if task_list is None:
        raise GraphError(404, "NotFound", f"no task list {body.get('list')!r}")
    task = new_task(Context(sim, user), store, task_list, body.get("properties") or {"title": "Added task"})
    for name in body.get("checklist") or []:
        add_checklist_item(store, task, {"displayName": str(name)})
    att = body.get("attachment")
    if isinstance(att, dict):
        add_task_attachment(store, task, str(att["name"]), str(att.get("contentType") or "application/octet-stream"),
                            base64.b64decode(att["contentBytes"]))  # fmt: skip
    return JSONResponse(task.summary(), status_code=201)


@control
async def change_task(request: Request) -> Response:
    """{"properties": todoTask JSON to update, "check": [checklist item ids to tick]}"""
    _, _, store = _todo(request)
    task = _task(store, request.path_params["task"])
    body = await control_body(request)
    update_task(store, task, body.get("properties") or {})
    for item_id in body.get("check") or []:
        set_checked(task.checklist[str(item_id)], True)
    return JSONResponse(task.summary())


@control
async def drop_task(request: Request) -> Response:
    _, _, store = _todo(request)
    store.delete(_task(store, request.path_params["task"]))
    return Response(status_code=204)


def todo_control_routes() -> list[BaseRoute]:
    p = "/_sim/users/{user}/todo"
    return [
        Route(p, get_todo),
        Route(f"{p}/tasks", add_task, methods=["POST"]),
        Route(f"{p}/tasks/{{task}}", change_task, methods=["PATCH"]),
        Route(f"{p}/tasks/{{task}}", drop_task, methods=["DELETE"]),
    ]
