"""Graph v1.0 Teams read routes: groups (with the documented team filter), a team (its settings), members, channels,
channel members and tabs, channel messages and replies (listed, read by id), hosted contents and their bytes, and
channel message delta (roots only, paged, with a delta link)."""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.delta_links import delta_link, function_routes, tokens_of
from graphsim.delta_rounds import StaleToken, SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.identity.user_routes import equality_filter
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.simulator import Context, graph_route
from graphsim.teams.lookup import channel_of, message_of, team_of, teams_of
from graphsim.teams.migration_routes import migration_routes
from graphsim.teams.service import EPOCH
from graphsim.teams.store import Message

# https://learn.microsoft.com/graph/teams-list-all-teams: the documented filter for the groups that are teams
TEAM_FILTERS = {"resourceprovisioningoptions/any(x:x eq 'team')", "resourceprovisioningoptions/any(x: x eq 'team')"}
# https://learn.microsoft.com/graph/api/group-list ("List all Microsoft 365 groups"): groupTypes/any(c:c eq 'Unified')
MAX_EXPANDED_REPLIES = 1000  # channel-list-messages: "up to 1,000 replies" a root by default
UNIFIED_FILTERS = {"grouptypes/any(c:c eq 'unified')", "grouptypes/any(c: c eq 'unified')"}


def message_json(message: Message) -> dict[str, Any]:
    return copy.deepcopy(message.data)


def paged(
    request: Request, ctx: Context, items: list[dict[str, Any]], what: str, top_max: int = 50, keep: dict | None = None
) -> Response:
    """A plain collection paged by $top with a sealed $skiptoken in @odata.nextLink (which carries `keep`, the
    query options the request gave that every page honours, such as $expand)."""
    top = int_param(request, "$top", 20, 1, top_max)
    offset = 0
    token = qp(request, "$skiptoken")
    if token:
        try:
            offset = int(ctx.sim.sealer.unseal(token).get("o", 0))
        except SyncStateNotFound:
            raise GraphError(400, "BadRequest", "Invalid skip token.") from None
    body: dict[str, Any] = {"@odata.context": context(request, what), "value": items[offset : offset + top]}
    if offset + top < len(items):
        params = {**(keep or {}), "$top": top, "$skiptoken": ctx.sim.sealer.seal({"o": offset + top})}
        body["@odata.nextLink"] = link(request, request.url.path, params)
    return JSONResponse(body)


@graph_route("groups", mail=False)
async def list_groups(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/group-list; $filter on resourceProvisioningOptions as the teams page
    documents it (any other filter is refused, as this simulator does not evaluate OData filters)."""
    groups = list(teams_of(ctx).store.groups.values())
    raw = qp(request, "$filter")
    if raw is not None:
        if raw.strip().lower() in UNIFIED_FILTERS:  # group-list: Microsoft 365 groups (graphsim/groups/ asks)
            groups = [g for g in groups if "Unified" in g.to_json(ctx.sim.tenant.domain)["groupTypes"]]
        elif raw.strip().lower().startswith("mail "):  # a group by its address: mail eq '...'
            wanted = equality_filter(raw, "mail")
            groups = [g for g in groups if str(g.to_json(ctx.sim.tenant.domain).get("mail") or "").lower() == wanted]
        elif raw.strip().lower() not in TEAM_FILTERS:
            raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported query: {raw}")
        else:
            groups = [g for g in groups if g.is_team]
    select = select_of(request)
    return paged(request, ctx, [pick(g.to_json(ctx.sim.tenant.domain), select) for g in groups], "groups", 999)


@graph_route("team", mail=False)
async def get_team(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/team-get: the team with its member, guest, messaging, fun settings."""
    team = team_of(request, ctx)
    return JSONResponse(
        {
            "@odata.context": context(request, "teams/$entity"),
            **pick(team.team_json(ctx.sim.tenant.tenant_id), select_of(request)),
        }
    )


def _member(ctx: Context, user_id: str, owner: bool) -> dict[str, Any]:
    user = ctx.sim.tenant.users[user_id]
    return {
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": f"member-{user_id}",
        "roles": ["owner"] if owner else [],
        "displayName": user.display_name,
        "userId": user_id,
        "email": user.mail,
        "tenantId": ctx.sim.tenant.tenant_id,
        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
    }


@graph_route("team_members", mail=False)
async def list_team_members(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/team-list-members"""
    team = team_of(request, ctx)
    members = [_member(ctx, u, u in team.owners) for u in team.members if u in ctx.sim.tenant.users]
    return paged(request, ctx, members, "teams('x')/members", 999)


@graph_route("channels", mail=False)
async def list_channels(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/channel-list: standard, private and shared channels (membershipType)."""
    team = team_of(request, ctx)
    base, tenant = ctx.sim.base_url, ctx.sim.tenant.tenant_id
    channels = [pick(c.to_json(base, tenant), select_of(request)) for c in team.channels.values()]
    return JSONResponse({"@odata.context": context(request, "teams('x')/channels"), "value": channels})


@graph_route("channel", mail=False)
async def get_channel(request: Request, ctx: Context) -> Response:
    channel = channel_of(request, ctx)
    return JSONResponse(
        {
            "@odata.context": context(request, "teams('x')/channels/$entity"),
            **channel.to_json(ctx.sim.base_url, ctx.sim.tenant.tenant_id),
        }
    )


@graph_route("channel_members", mail=False)
async def list_channel_members(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/channel-list-members: a standard channel's members are the team's."""
    team, channel = team_of(request, ctx), channel_of(request, ctx)
    ids = channel.members if channel.membership_type != "standard" else team.members
    members = [_member(ctx, u, u in team.owners) for u in ids if u in ctx.sim.tenant.users]
    return paged(request, ctx, members, "teams('x')/channels('y')/members", 999)


@graph_route("tabs", mail=False)
async def list_tabs(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/channel-list-tabs"""
    channel = channel_of(request, ctx)
    return JSONResponse(
        {"@odata.context": context(request, "teams('x')/channels('y')/tabs"), "value": copy.deepcopy(channel.tabs)}
    )


@graph_route("channel_messages", mail=False)
async def list_messages(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/channel-list-messages: root messages (no replies), $top up to 50;
    `$expand=replies` adds each root's replies, at most 1,000, the rest behind `replies@odata.nextLink` (a list
    replies link); no other query option is supported."""
    channel = channel_of(request, ctx)
    roots = sorted(channel.messages.values(), key=lambda m: m.data["lastModifiedDateTime"], reverse=True)
    expand = (qp(request, "$expand") or "").strip()
    if expand and expand.lower() != "replies":
        raise GraphError(400, "BadRequest", f"Unsupported $expand: {expand}")
    listed = []
    for root in roots:
        shown = message_json(root)
        if expand:
            replies = [message_json(m) for m in root.replies.values()]
            shown["replies"] = replies[:MAX_EXPANDED_REPLIES]
            if len(replies) > MAX_EXPANDED_REPLIES:
                token = ctx.sim.sealer.seal({"o": MAX_EXPANDED_REPLIES})
                shown["replies@odata.nextLink"] = link(request, f"{request.url.path}/{root.id}/replies",
                                                       {"$top": 50, "$skiptoken": token})  # fmt: skip
        listed.append(shown)
    return paged(
        request, ctx, listed, "teams('x')/channels('y')/messages", keep={"$expand": expand} if expand else None
    )


@graph_route("channel_message", mail=False)
async def get_message(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/chatmessage-get (a root) and https://learn.microsoft.com/graph/api/
    chatmessage-get (a reply, under /replies/{id})."""
    _channel, message, _root = message_of(request, ctx)
    return JSONResponse({"@odata.context": context(request, "chatMessage/$entity"), **message_json(message)})


@graph_route("message_replies", mail=False)
async def list_replies(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/chatmessage-list-replies: the replies of one root, $top up to 50."""
    _channel, root, _none = message_of(request, ctx)
    replies = [message_json(m) for m in root.replies.values()]
    return paged(request, ctx, replies, "teams('x')/channels('y')/messages('z')/replies")


@graph_route("hosted_contents", mail=False)
async def list_hosted(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/chatmessage-list-hostedcontents: ids only (contentBytes and
    contentType are write-only: null when read); the bytes at .../hostedContents/{id}/$value."""
    _channel, message, _root = message_of(request, ctx)
    value = [{"id": h.id, "contentBytes": None, "contentType": None} for h in message.hosted.values()]
    return JSONResponse({"@odata.context": context(request, "hostedContents"), "value": value})


@graph_route("hosted_content_value", mail=False)
async def hosted_value(request: Request, ctx: Context) -> Response:
    _channel, message, _root = message_of(request, ctx)
    hosted = message.hosted.get(request.path_params["hosted"])
    if hosted is None:
        raise GraphError(404, "NotFound", "Hosted content not found.")
    return Response(hosted.data, media_type=hosted.content_type)


@graph_route("channel_message_delta", mail=False)
async def message_delta(request: Request, ctx: Context) -> Response:
    """https://learn.microsoft.com/graph/api/chatmessage-delta: root messages (without replies) added or changed
    since the token, $top up to 50; a soft-deleted message comes back with deletedDateTime set (no @removed);
    @odata.nextLink until the last page, which carries @odata.deltaLink."""
    channel = channel_of(request, ctx)
    service = teams_of(ctx)
    skip, delta = tokens_of(request, ctx.sim.sealer)
    try:
        if skip:
            payload = service.rounds.resolve(skip, channel.id, EPOCH, ("s",))
            round_, offset = service.rounds.round_of(payload)
        else:
            watermark = 0
            if delta:
                watermark = int(service.rounds.resolve(delta, channel.id, EPOCH, ("d",)).get("w", 0))
            size = int_param(request, "$top", 20, 1, 50)
            changed = sorted((m for m in channel.messages.values() if m.seq > watermark), key=lambda m: m.seq)
            baseline = {"w": max([watermark, *(m.seq for m in channel.messages.values())])}
            round_, offset = (
                service.rounds.start(channel.id, [message_json(m) for m in changed], baseline, EPOCH, size=size),
                0,
            )
    except (StaleToken, SyncStateNotFound):
        raise GraphError(410, "SyncStateNotFound", "The sync state generation is not valid.") from None
    page = service.rounds.page(round_, offset)
    path = f"/v1.0/teams/{channel.team_id}/channels/{channel.id}/messages/delta"
    body: dict[str, Any] = {"@odata.context": context(request, "Collection(chatMessage)"), "value": page.value}
    if page.next_token:
        body["@odata.nextLink"] = delta_link(request, path, page.next_token, None)
    else:
        body["@odata.deltaLink"] = delta_link(request, path, None, page.delta_token)
    return JSONResponse(body)


def teams_routes() -> list[BaseRoute]:
    t = "/v1.0/teams/{team}"
    c = f"{t}/channels/{{channel}}"
    m = f"{c}/messages/{{message}}"
    r = f"{m}/replies/{{reply}}"
    return [
        Route("/v1.0/groups", list_groups),
        Route(t, get_team),
        Route(f"{t}/members", list_team_members),
        Route(f"{t}/channels", list_channels),
        Route(f"{c}/messages/delta", message_delta),
        Route(function_routes(f"{c}/messages/delta"), message_delta),  # the "function" link style
        *migration_routes(),
        Route(c, get_channel),
        Route(f"{c}/members", list_channel_members),
        Route(f"{c}/tabs", list_tabs),
        Route(f"{c}/messages", list_messages),
        Route(m, get_message),
        Route(f"{m}/replies", list_replies),
        Route(r, get_message),
        Route(f"{m}/hostedContents", list_hosted),
        Route(f"{m}/hostedContents/{{hosted}}/$value", hosted_value),
        Route(f"{r}/hostedContents", list_hosted),
        Route(f"{r}/hostedContents/{{hosted}}/$value", hosted_value),
    ]
