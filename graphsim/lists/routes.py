"""Graph v1.0 list routes of a site, each as its Microsoft Learn page describes it:

- GET  /sites/{id}/lists                    "List lists" (https://learn.microsoft.com/graph/api/list-list): lists
  with the `system` facet are left out unless `$select` names `system`; document libraries are lists too
- POST /sites/{id}/lists                    "Create list" (https://learn.microsoft.com/graph/api/list-create)
- GET  /sites/{id}/lists/{list}             "Get list" (https://learn.microsoft.com/graph/api/list-get); by id or
  title; `$expand=columns` adds the columns
- GET/POST /sites/{id}/lists/{list}/columns "List columns", "Create columnDefinition"
  (https://learn.microsoft.com/graph/api/list-list-columns, https://learn.microsoft.com/graph/api/list-post-columns)
- GET  .../items (`$expand=fields`, `$top`, nextLink paging), POST .../items with `fields` ("List items",
  "Create listItem": https://learn.microsoft.com/graph/api/listitem-list, .../listitem-create)
- GET  .../items/delta                      "listItem: delta" (https://learn.microsoft.com/graph/api/listitem-delta)
- GET/DELETE .../items/{item}, GET/PATCH .../items/{item}/fields ("Get listItem", "Delete listItem", "Update
  listItem": https://learn.microsoft.com/graph/api/listitem-get, .../listitem-delete, .../listitem-update)
- GET  .../items/{item}/versions            "List versions of a listItem"
  (https://learn.microsoft.com/graph/api/listitem-list-versions); each version's `fields` with `$expand=fields`

Document libraries appear in the listing only: their files are the drive surface's (graphsim/drives/), so their
item routes answer an empty collection here. List item attachments are not part of Graph v1.0 (listItem has no
attachments relationship; only the SharePoint REST API serves them) and are not simulated."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.delta_rounds import SyncStateNotFound
from graphsim.drives.addressing import charge, files
from graphsim.drives.routes import collection, page_of
from graphsim.errors import GraphError, json_object
from graphsim.lists.service import ListService
from graphsim.lists.store import SpList, make_column
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.simulator import Context

BASE = "/v1.0/sites/{site}/lists"


def lists_of(ctx: Context) -> ListService:
    return ctx.sim.lists  # type: ignore[attr-defined]


def _expands_fields(request: Request) -> bool:
    return any(part.strip().lower().startswith("fields") for part in (qp(request, "$expand") or "").split(","))


def _list(request: Request, ctx: Context) -> SpList:
    return lists_of(ctx).get_list(request.path_params["site"], request.path_params["list"])


async def list_lists(request: Request, ctx: Context) -> Response:
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    site = request.path_params["site"]
    select = select_of(request)
    with_system = select is not None and "system" in {s.lower() for s in select}
    shown = [x for x in lists_of(ctx).site_lists(site).values() if with_system or not x.system]
    values, next_link = page_of(request, ctx, [pick(x.to_json(), select) for x in shown], 100)
    return collection(request, "lists", values, next_link)


async def create_list(request: Request, ctx: Context) -> Response:
    charge(ctx, 2)
    body = await json_object(request, "invalidRequest", empty_ok=False)
    site = files(ctx).store.sites.get(request.path_params["site"])
    if site is None:
        raise GraphError(404, "itemNotFound", "Requested site could not be found")
    created = lists_of(ctx).create_list(site.id, site.web_url, body)
    return JSONResponse({"@odata.context": context(request, "lists/$entity"), **created.to_json(),
                         "columns": created.all_columns()}, status_code=201)  # fmt: skip


async def get_list(request: Request, ctx: Context) -> Response:
    charge(ctx, 1)
    sp_list = _list(request, ctx)
    body = {"@odata.context": context(request, "lists/$entity"), **sp_list.to_json()}
    if "columns" in (qp(request, "$expand") or "").lower():
        body["columns"] = sp_list.all_columns()
    return JSONResponse(pick(body, select_of(request), ("id", "columns")))


async def columns(request: Request, ctx: Context) -> Response:
    sp_list = _list(request, ctx)
    if request.method == "POST":
        charge(ctx, 2)
        body = await json_object(request, "invalidRequest", empty_ok=False)
        if any(c["name"] == body.get("name") for c in sp_list.all_columns()):
            raise GraphError(409, "nameAlreadyExists", f"A column named '{body.get('name')}' already exists.")
        column = make_column(body, sp_list.id)
        sp_list.columns.append(column)
        return JSONResponse({"@odata.context": context(request, "columnDefinition/$entity"), **column}, 201)
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    return collection(request, "columnDefinitions", sp_list.all_columns(), None)


async def items(request: Request, ctx: Context) -> Response:
    sp_list = _list(request, ctx)
    if request.method == "POST":
        charge(ctx, 2)
        body = await json_object(request, "invalidRequest", empty_ok=False)
        if sp_list.template == "documentLibrary":
            raise GraphError(400, "invalidRequest", "Files are added to a document library through its drive.")
        values = body.get("fields")
        if not isinstance(values, dict):
            raise GraphError(400, "invalidRequest", "A list item is created with its 'fields'.")
        item = lists_of(ctx).write(sp_list, None, values)
        return JSONResponse({"@odata.context": context(request, "listItem/$entity"),
                             **sp_list.item_json(item, True)}, status_code=201)  # fmt: skip
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    shown = [] if sp_list.template == "documentLibrary" else sp_list.live()
    expand = _expands_fields(request)
    values, next_link = page_of(request, ctx, [sp_list.item_json(i, expand) for i in shown], 200)
    if next_link and expand:
        next_link += "&$expand=fields"
    return collection(request, "listItems", values, next_link)


async def delta(request: Request, ctx: Context) -> Response:
    charge(ctx, 1 if qp(request, "token") else 2)
    service = lists_of(ctx)
    sp_list = _list(request, ctx)
    top = int_param(request, "$top", 200, 1, 1000)
    token = qp(request, "token")
    if token is not None and token != "latest" and (qp(request, "$expand") or qp(request, "$top")):
        raise GraphError(400, "invalidRequest", "A delta link carries its whole query in its token.")
    try:
        page = service.delta(sp_list, token, _expands_fields(request), top)
    except SyncStateNotFound:
        payload = _payload(ctx, token)
        fresh = service.fresh_token(sp_list, bool(payload.get("x")), int(payload.get("t") or top))
        location = link(request, request.url.path, {"token": fresh})
        raise GraphError(410, "resyncChangesApplyDifferences", "Resync required: the delta token is no longer "
                         "valid.", {"Location": location}) from None  # fmt: skip
    body: dict[str, Any] = {"@odata.context": context(request, "Collection(listItem)"), "value": page.value}
    if page.next_token:
        body["@odata.nextLink"] = link(request, request.url.path, {"token": page.next_token})
    else:
        body["@odata.deltaLink"] = link(request, request.url.path, {"token": page.delta_token})
    return JSONResponse(body)


def _payload(ctx: Context, token: str | None) -> dict[str, Any]:
    try:
        return ctx.sim.sealer.unseal(token or "")
    except SyncStateNotFound:
        return {}


async def item(request: Request, ctx: Context) -> Response:
    sp_list = _list(request, ctx)
    found = lists_of(ctx).get_item(sp_list, request.path_params["item"])
    if request.method == "DELETE":
        charge(ctx, 2)
        sp_list.delete(found)
        return Response(status_code=204)
    charge(ctx, 1)
    shown = sp_list.item_json(found, _expands_fields(request))
    return JSONResponse({"@odata.context": context(request, "listItem/$entity"), **shown})


async def item_fields(request: Request, ctx: Context) -> Response:
    sp_list = _list(request, ctx)
    found = lists_of(ctx).get_item(sp_list, request.path_params["item"])
    if request.method == "PATCH":
        charge(ctx, 2)
        lists_of(ctx).write(sp_list, found, await json_object(request, "invalidRequest", empty_ok=False))
    else:
        charge(ctx, 1)
    return JSONResponse({"@odata.context": context(request, "fieldValueSet/$entity"), **sp_list.item_fields(found)})


async def versions(request: Request, ctx: Context) -> Response:
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    sp_list = _list(request, ctx)
    found = lists_of(ctx).get_item(sp_list, request.path_params["item"])
    expand = _expands_fields(request)
    shown = [v if expand else {k: x for k, x in v.items() if k != "fields"} for v in reversed(found.versions)]
    return collection(request, "listItemVersions", shown, None)


def _route(path: str, handler: Any, methods: list[str] | None = None) -> Route:
    async def endpoint(request: Request) -> Response:
        return await request.app.state.sim.run_graph(request, "lists", handler, mail=False)

    endpoint.__name__ = handler.__name__
    return Route(path, endpoint, methods=methods or ["GET"])


def list_routes() -> list[Route]:
    return [
        _route(BASE, list_lists),
        _route(BASE, create_list, ["POST"]),
        _route(f"{BASE}/{{list}}", get_list),
        _route(f"{BASE}/{{list}}/columns", columns, ["GET", "POST"]),
        _route(f"{BASE}/{{list}}/items", items, ["GET", "POST"]),
        _route(f"{BASE}/{{list}}/items/delta", delta),
        _route(f"{BASE}/{{list}}/items/{{item}}", item, ["GET", "DELETE"]),
        _route(f"{BASE}/{{list}}/items/{{item}}/fields", item_fields, ["GET", "PATCH"]),
        _route(f"{BASE}/{{list}}/items/{{item}}/versions", versions),
    ]
