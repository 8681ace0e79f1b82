"""/_sim control API for lists (not Graph; no auth): every site's lists with their columns and live items as the
simulator holds them (`GET /_sim/lists`), add, edit and delete list items as a tenant user would (each edit a new
version), and expire every list's delta tokens (the next delta request answers 410 with a fresh start)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.control_api import control, control_body
from graphsim.errors import GraphError
from graphsim.lists.service import ListService
from graphsim.lists.store import SpList

BASE = "/_sim/sites/{site}/lists/{list}/items"


def _svc(request: Request) -> ListService:
    return request.app.state.sim.lists


def _list(request: Request) -> SpList:
    return _svc(request).get_list(request.path_params["site"], request.path_params["list"])


def list_state(sp_list: SpList) -> dict[str, Any]:
    return {
        "id": sp_list.id,
        "displayName": sp_list.display_name,
        "template": sp_list.template,
        "hidden": sp_list.hidden,
        "system": sp_list.system,
        "columns": sp_list.all_columns(),
        "items": [{"id": i.id, "fields": sp_list.item_fields(i), "versions": len(i.versions)} for i in sp_list.live()],
    }


@control
async def state(request: Request) -> Response:
    return JSONResponse({site: [list_state(x) for x in lists.values()] for site, lists in _svc(request).lists.items()})


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    values = body.get("fields")
    if not isinstance(values, dict):
        raise GraphError(400, "BadRequest", "give the item's 'fields'")
    return values


@control
async def add_item(request: Request) -> Response:
    body = await control_body(request)
    sp_list = _list(request)
    item = _svc(request).write(sp_list, None, _fields(body), body.get("user"))
    return JSONResponse({"id": item.id, "fields": sp_list.item_fields(item)}, status_code=201)


@control
async def edit_item(request: Request) -> Response:
    body = await control_body(request)
    sp_list = _list(request)
    item = _svc(request).get_item(sp_list, request.path_params["item"])
    _svc(request).write(sp_list, item, _fields(body), body.get("user"))
    return JSONResponse({"id": item.id, "fields": sp_list.item_fields(item)})


@control
async def delete_item(request: Request) -> Response:
    sp_list = _list(request)
    sp_list.delete(_svc(request).get_item(sp_list, request.path_params["item"]))
    return Response(status_code=204)


@control
async def expire_tokens(request: Request) -> Response:
    return JSONResponse({"expired_lists": _svc(request).expire()})


def list_control_routes() -> list[Route]:
    return [
        Route("/_sim/lists", state),
        Route("/_sim/lists-expire-delta-tokens", expire_tokens, methods=["POST"]),
        Route(BASE, add_item, methods=["POST"]),
        Route(f"{BASE}/{{item}}", edit_item, methods=["PATCH"]),
        Route(f"{BASE}/{{item}}", delete_item, methods=["DELETE"]),
    ]
