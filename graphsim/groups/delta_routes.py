"""Group delta (https://learn.microsoft.com/graph/api/group-delta; https://learn.microsoft.com/graph/delta-query-
groups): groups with `members@delta`, paged by @odata.nextLink to an @odata.deltaLink.

As documented:
- `$filter=id eq '{id}'` (or several joined by `or`) tracks only those groups;
- the first round lists each group with every member in `members@delta`; later rounds list only the groups whose
  members changed, with the members added, and those removed carrying `"@removed": {"reason": "deleted"}`;
- one group's members may be split over several pages: the same group comes again on the next page with the next
  members (the docs: "merge by id"); here a page carries at most MEMBERS_PER_PAGE members;
- links are opaque (a sealed token) and a token this simulator cannot open is a 400."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.groups.routes import groups_of
from graphsim.odata import link, qp
from graphsim.simulator import Context, graph_route

MEMBERS_PER_PAGE = 2
_ID = re.compile(r"id\s+eq\s+'([^']+)'", re.IGNORECASE)


def _filter_ids(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    ids = _ID.findall(raw)
    if not ids:
        raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported query: {raw}")
    return ids


def _entries(ctx: Context, ids: list[str] | None, since: int | None) -> list[dict[str, Any]]:
    """(group id, member entries) of a round: every member (since None) or the changes after `since`."""
    service = groups_of(ctx)
    groups = [g for g in service.groups.groups.values() if ids is None or g.id in ids]
    out: list[dict[str, Any]] = []
    for group in sorted(groups, key=lambda g: g.id):
        if since is None:
            members: list[dict[str, Any]] = [{"@odata.type": "#microsoft.graph.user", "id": m} for m in group.members]
        else:
            last: dict[str, bool] = {}
            for change in service.store.changes:
                if change.seq > since and change.group_id == group.id and change.relation == "members":
                    last[change.user_id] = change.added
            members = [
                {"@odata.type": "#microsoft.graph.user", "id": m}
                if added
                else {"@odata.type": "#microsoft.graph.user", "id": m, "@removed": {"reason": "deleted"}}
                for m, added in last.items()
            ]
            if not members:
                continue
        chunks = [members[i : i + MEMBERS_PER_PAGE] for i in range(0, len(members), MEMBERS_PER_PAGE)] or [[]]
        for chunk in chunks:
            out.append({"id": group.id, "displayName": group.display_name, "members@delta": chunk})
    return out


@graph_route("group_delta", mail=False)
async def group_delta(request: Request, ctx: Context) -> Response:
    sealer = ctx.sim.sealer
    skip, delta = qp(request, "$skiptoken"), qp(request, "$deltatoken")
    try:
        state = sealer.unseal(skip or delta or "") if (skip or delta) else None
    except SyncStateNotFound:
        raise GraphError(400, "Request_BadRequest", "The delta token is invalid.") from None
    if state is None:
        ids, since, offset, to = _filter_ids(qp(request, "$filter")), None, 0, groups_of(ctx).store.seq_now()
    elif skip:
        ids, since, offset, to = state.get("ids"), state.get("f"), int(state["o"]), int(state["t"])
    else:
        ids, since, offset, to = state.get("ids"), int(state["t"]), 0, groups_of(ctx).store.seq_now()
    entries = _entries(ctx, ids, since)
    page = entries[offset : offset + 1]  # one group entry a page, so a group's members span pages
    body: dict[str, Any] = {"@odata.context": f"{ctx.sim.base_url}/v1.0/$metadata#groups(members)", "value": page}
    path = "/v1.0/groups/delta"
    if offset + 1 < len(entries):
        token = sealer.seal({"ids": ids, "f": since, "o": offset + 1, "t": to})
        body["@odata.nextLink"] = link(request, path, {"$skiptoken": token})
    else:
        body["@odata.deltaLink"] = link(request, path, {"$deltatoken": sealer.seal({"ids": ids, "t": to})})
    return JSONResponse(body)


def group_delta_routes() -> list[BaseRoute]:
    return [Route("/v1.0/groups/delta", group_delta), Route("/v1.0/groups/delta()", group_delta)]
