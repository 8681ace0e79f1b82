"""Graph v1.0 To Do routes: task lists, tasks (list, get, create, update, delete), per-list task delta, checklist
items, linked resources and open extensions of a task. Every route passes the mailbox gate (a user without a
mailbox has no To Do: 404 MailboxNotEnabledForRESTAPI, as Outlook answers) and counts against its budget.

Pages: $top/$skip with @odata.nextLink ("List tasks", https://learn.microsoft.com/graph/api/todotasklist-list-tasks).
Delta: https://learn.microsoft.com/graph/api/todotask-delta (Prefer: odata.maxpagesize, @odata.nextLink within a
round, @odata.deltaLink at its end, links used as given); a task deleted since the last round is listed as
{"id", "@removed": {"reason": "deleted"}} (https://learn.microsoft.com/graph/delta-query-overview)."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.delta_links import delta_response, function_routes, tokens_of
from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.ids import opaque_id
from graphsim.odata import context, pick, qp, select_of
from graphsim.pim.common import now
from graphsim.pim.contact_routes import json_body, page_size, paged
from graphsim.simulator import Context, graph_route
from graphsim.todo.service import TodoService
from graphsim.todo.store import ChecklistItem, Task, TaskList, TodoStore, link_props, task_props

NOT_FOUND = "The specified object was not found in the store."
EXTENSION_FILTER = re.compile(r"extensions\(\$filter=id eq '([^']*)'\)", re.IGNORECASE)
# an open extension's id on an Outlook-stored resource: its extensionName, fully qualified
# (https://learn.microsoft.com/graph/api/opentypeextension-get, "by its ID (fully qualified name)")
EXTENSION_PREFIX = "Microsoft.OutlookServices.OpenTypeExtension."


def service(ctx: Context) -> TodoService:
    return ctx.sim.todo  # type: ignore[attr-defined,no-any-return]


def store_of(ctx: Context) -> TodoStore:
    assert ctx.user is not None
    return service(ctx).of(ctx.user.id)


def list_of(store: TodoStore, request: Request) -> TaskList:
    found = store.lists.get(request.path_params["list"])
    if found is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return found


def task_of(store: TodoStore, request: Request) -> Task:
    task_list = list_of(store, request)
    task = store.tasks.get(request.path_params["task"])
    if task is None or task.list_id != task_list.id:  # a task is addressed under its own list only
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return task


def with_expand(request: Request, task: Task, body: dict[str, Any]) -> dict[str, Any]:
    """$expand=extensions, checklistItems, linkedResources (relationships shown only when expanded)."""
    raw = (qp(request, "$expand") or "").lower()
    if "extensions" in raw:  # $expand=extensions($filter=id eq '<id>') keeps that one (opentypeextension-get)
        wanted = EXTENSION_FILTER.search(qp(request, "$expand") or "")
        body["extensions"] = [copy.deepcopy(e) for e in task.extensions.values()
                              if wanted is None or e["id"].lower() == wanted.group(1).lower()]  # fmt: skip
    if "checklistitems" in raw:
        body["checklistItems"] = [c.to_json() for c in task.checklist.values()]
    if "linkedresources" in raw:
        body["linkedResources"] = [copy.deepcopy(v) for v in task.links.values()]
    return body


# --- lists ---
@graph_route("todo_lists")
async def list_lists(request: Request, ctx: Context) -> Response:
    return paged(request, "Collection(todoTaskList)", [t.to_json() for t in store_of(ctx).lists.values()], 100)


@graph_route("todo_lists")
async def get_list(request: Request, ctx: Context) -> Response:
    found = list_of(store_of(ctx), request)
    return JSONResponse({"@odata.context": context(request, "todoTaskList/$entity"),
                         **pick(found.to_json(), select_of(request))})  # fmt: skip


@graph_route("todo_create")
async def create_list(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/todo-post-lists: displayName required; lists are not nested."""
    store = store_of(ctx)
    body = await json_body(request)
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "invalidRequest", "The displayName property is required.")
    assert ctx.user is not None
    lid = opaque_id("AQMkA", ctx.sim.seed, ctx.user.id, "todo", "list", name, store.next_number())
    made = store.add_list(TaskList(lid, name))
    return JSONResponse({"@odata.context": context(request, "todoTaskList/$entity"), **made.to_json()},
                        status_code=201)  # fmt: skip


# --- tasks ---
@graph_route("todo_tasks")
async def list_tasks(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    tasks = [store.tasks[t] for t in list_of(store, request).task_ids]
    items = [with_expand(request, t, t.to_json()) for t in tasks]
    return paged(request, "Collection(todoTask)", items)


@graph_route("todo_tasks")
async def get_task(request: Request, ctx: Context) -> Response:
    task = task_of(store_of(ctx), request)
    body = with_expand(request, task, pick(task.to_json(), select_of(request)))
    return JSONResponse({"@odata.context": context(request, "todoTask/$entity"), **body})


def new_task(ctx: Context, store: TodoStore, task_list: TaskList, body: dict[str, Any]) -> Task:
    """A task made from a create body: its properties, and the linked resources and open extensions it names
    (https://learn.microsoft.com/graph/api/todotasklist-post-tasks shows linkedResources in the create body;
    https://learn.microsoft.com/graph/api/opentypeextension-post-opentypeextension lists POST .../tasks among the
    creates that take an open extension)."""
    assert ctx.user is not None
    when = now()
    props = task_props(body)
    if not props.get("title"):
        raise GraphError(400, "invalidRequest", "The title property is required.")
    tid = opaque_id("AAMkA", ctx.sim.seed, ctx.user.id, "todo", "added", store.next_number())
    task = Task(tid, task_list.id, props, when, when, when)
    for raw in body.get("linkedResources") or []:
        lid = str(uuid.uuid4())
        task.links[lid] = {"id": lid, **link_props(raw if isinstance(raw, dict) else {})}
    for raw in body.get("extensions") or []:
        add_extension(task, raw)
    return store.insert(task)


def add_extension(task: Task, raw: Any) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("extensionName"), str):
        raise GraphError(400, "invalidRequest", "An open extension needs an extensionName.")
    name = raw["extensionName"]
    kept = {k: v for k, v in raw.items() if k != "@odata.type"}
    task.extensions[name] = {**kept, "@odata.type": "#microsoft.graph.openTypeExtension", "id": EXTENSION_PREFIX + name}


@graph_route("todo_create")
async def create_task(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = new_task(ctx, store, list_of(store, request), await json_body(request))
    body = {**task.to_json(), "linkedResources": [copy.deepcopy(v) for v in task.links.values()]}
    return JSONResponse({"@odata.context": context(request, "todoTask/$entity"), **body}, status_code=201)


def update_task(store: TodoStore, task: Task, body: dict[str, Any]) -> None:
    task.props = task_props(body, task.props)
    store.touch(task, now(), body_changed="body" in body)


@graph_route("todo_update")
async def patch_task(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    update_task(store, task, await json_body(request))
    return JSONResponse({"@odata.context": context(request, "todoTask/$entity"), **task.to_json()})


@graph_route("todo_delete")
async def delete_task(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    store.delete(task_of(store, request))
    return Response(status_code=204)


# --- delta ---
def task_entries(store: TodoStore, task_list: TaskList, watermark: int | None) -> list[dict[str, Any]]:
    tasks = [store.tasks[t] for t in task_list.task_ids]
    if watermark is None:
        return [t.to_json() for t in tasks]
    entries = [t.to_json() for t in tasks if t.seq > watermark]
    seen: set[str] = set()
    for removal in store.log.removed_since(watermark, task_list.id):
        if removal.item_id in task_list.task_ids or removal.item_id in seen:
            continue
        seen.add(removal.item_id)
        entries.append({"id": removal.item_id, "@removed": {"reason": "deleted"}})
    return entries


@graph_route("todo_delta")
async def task_delta(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None and ctx.user.mailbox is not None
    mailbox, store = ctx.user.mailbox, store_of(ctx)
    task_list = list_of(store, request)
    size, headers = page_size(request)
    engine, scope = service(ctx).delta, f"todo:{task_list.id}"
    try:
        skip, delta_token = tokens_of(request, ctx.sim.sealer)
        if skip:
            round_, offset = engine.resolve_skip(skip, mailbox, scope)
        elif delta_token:
            state = engine.resolve_delta(delta_token, mailbox, scope)
            entries = task_entries(store, task_list, int(state["w"]))
            round_, offset = engine.new_round(mailbox, scope, entries, store.log.seq, state["s"]), 0
        else:
            entries = task_entries(store, task_list, None)
            round_, offset = engine.new_round(mailbox, scope, entries, store.log.seq, select_of(request)), 0
    except SyncStateNotFound as exc:
        raise GraphError(410, "SyncStateNotFound", str(exc), headers) from None
    return delta_response(request, request.url.path, engine.page(round_, offset, size), "Collection(todoTask)", headers)


# --- checklist items (https://learn.microsoft.com/graph/api/todotask-post-checklistitems) ---
def _checklist_item(task: Task, request: Request) -> ChecklistItem:
    item = task.checklist.get(request.path_params["item"])
    if item is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return item


def set_checked(item: ChecklistItem, checked: Any) -> None:
    if not isinstance(checked, bool):
        raise GraphError(400, "invalidRequest", "isChecked must be a boolean.")
    if checked and not item.is_checked:
        item.checked = now()
    if not checked:
        item.checked = None
    item.is_checked = checked


def add_checklist_item(store: TodoStore, task: Task, body: dict[str, Any]) -> ChecklistItem:
    name = body.get("displayName")
    if not isinstance(name, str) or not name:
        raise GraphError(400, "invalidRequest", "The displayName property is required.")
    item = ChecklistItem(str(uuid.uuid4()), name, False, now())  # createdDateTime, checkedDateTime: the service's
    set_checked(item, bool(body.get("isChecked", False)))
    task.checklist[item.id] = item
    store.touch(task, now())
    return item


@graph_route("todo_checklist")
async def list_checklist(request: Request, ctx: Context) -> Response:
    task = task_of(store_of(ctx), request)
    return paged(request, "Collection(checklistItem)", [c.to_json() for c in task.checklist.values()], 100)


@graph_route("todo_create")
async def post_checklist(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    item = add_checklist_item(store, task_of(store, request), await json_body(request))
    return JSONResponse({"@odata.context": context(request, "checklistItem/$entity"), **item.to_json()},
                        status_code=201)  # fmt: skip


@graph_route("todo_update")
async def patch_checklist(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    item = _checklist_item(task, request)
    body = await json_body(request)
    if "displayName" in body:
        item.display_name = str(body["displayName"])
    if "isChecked" in body:
        set_checked(item, body["isChecked"])
    store.touch(task, now())
    return JSONResponse({"@odata.context": context(request, "checklistItem/$entity"), **item.to_json()})


@graph_route("todo_delete")
async def delete_checklist(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    del task.checklist[_checklist_item(task, request).id]
    store.touch(task, now())
    return Response(status_code=204)


# --- linked resources (https://learn.microsoft.com/graph/api/todotask-post-linkedresources) ---
@graph_route("todo_links")
async def list_links(request: Request, ctx: Context) -> Response:
    task = task_of(store_of(ctx), request)
    return paged(request, "Collection(linkedResource)", [copy.deepcopy(v) for v in task.links.values()], 100)


@graph_route("todo_create")
async def post_link(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    lid = str(uuid.uuid4())
    task.links[lid] = {"id": lid, **link_props(await json_body(request))}
    store.touch(task, now())
    return JSONResponse({"@odata.context": context(request, "linkedResource/$entity"), **task.links[lid]},
                        status_code=201)  # fmt: skip


@graph_route("todo_delete")
async def delete_link(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    task = task_of(store, request)
    if task.links.pop(request.path_params["link"], None) is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    store.touch(task, now())
    return Response(status_code=204)


@graph_route("todo_extensions")
async def list_extensions(request: Request, ctx: Context) -> Response:
    task = task_of(store_of(ctx), request)
    return paged(request, "Collection(extension)", [copy.deepcopy(e) for e in task.extensions.values()], 100)


def todo_routes() -> list[BaseRoute]:
    lists = "/v1.0/users/{user}/todo/lists"
    t = f"{lists}/{{list}}/tasks/{{task}}"
    return [
        Route(lists, list_lists),
        Route(lists, create_list, methods=["POST"]),
        Route(f"{lists}/{{list}}/tasks/delta", task_delta),
        Route(function_routes(f"{lists}/{{list}}/tasks/delta"), task_delta),
        Route(f"{lists}/{{list}}/tasks", list_tasks),
        Route(f"{lists}/{{list}}/tasks", create_task, methods=["POST"]),
        Route(f"{t}/checklistItems", list_checklist),
        Route(f"{t}/checklistItems", post_checklist, methods=["POST"]),
        Route(f"{t}/checklistItems/{{item}}", patch_checklist, methods=["PATCH"]),
        Route(f"{t}/checklistItems/{{item}}", delete_checklist, methods=["DELETE"]),
        Route(f"{t}/linkedResources", list_links),
        Route(f"{t}/linkedResources", post_link, methods=["POST"]),
        Route(f"{t}/linkedResources/{{link}}", delete_link, methods=["DELETE"]),
        Route(f"{t}/extensions", list_extensions),
        Route(t, get_task),
        Route(t, patch_task, methods=["PATCH"]),
        Route(t, delete_task, methods=["DELETE"]),
        Route(f"{lists}/{{list}}", get_list),
    ]


__all__ = ["todo_routes"]
