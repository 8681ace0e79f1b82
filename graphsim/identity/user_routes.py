"""Graph v1.0 users (https://learn.microsoft.com/graph/api/user-list, https://learn.microsoft.com/graph/api/user-get):
$top, $select and sealed $skiptoken paging."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.simulator import Context, graph_route


@graph_route("users", mail=False)
async def list_users(request: Request, ctx: Context) -> Response:
    top = int_param(request, "$top", 100, 1, 999)
    token = qp(request, "$skiptoken")
    offset = 0
    if token:
        try:
            offset = int(ctx.sim.sealer.unseal(token).get("u", 0))
        except SyncStateNotFound:
            raise GraphError(400, "Request_BadRequest", "Invalid page token.") from None
    users = list(ctx.sim.tenant.users.values())
    raw = qp(request, "$filter")
    if raw is not None:  # only `mail eq '...'` (how a mail address is looked up): other filters are not evaluated
        wanted = equality_filter(raw, "mail")
        users = [u for u in users if (u.mail or "").lower() == wanted]
    select = select_of(request)
    body: dict[str, Any] = {"@odata.context": context(request, "users")}
    body["value"] = [pick(u.to_json(), select, always=()) for u in users[offset : offset + top]]
    if offset + top < len(users):
        params = {"$top": top, "$select": ",".join(select) if select else None,
                  "$skiptoken": ctx.sim.sealer.seal({"u": offset + top})}  # fmt: skip
        body["@odata.nextLink"] = link(request, "/v1.0/users", params)
    return JSONResponse(body)


@graph_route("users", mail=False)
async def get_user(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    return JSONResponse({"@odata.context": context(request, "users/$entity"),
                         **pick(ctx.user.to_json(), select_of(request), always=())})  # fmt: skip


def equality_filter(raw: str, field: str) -> str:
    """The lower-cased value of a `<field> eq '<value>'` filter (quotes doubled inside it); 400 for any other
    filter, as this simulator evaluates no other OData filter."""
    match = re.fullmatch(rf"\s*{field}\s+eq\s+'((?:[^']|'')*)'\s*", raw, flags=re.IGNORECASE)
    if match is None:
        raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported filter: {raw}")
    return match.group(1).replace("''", "'").lower()


def user_routes() -> list[Route]:
    return [Route("/v1.0/users", list_users), Route("/v1.0/users/{user}", get_user)]
