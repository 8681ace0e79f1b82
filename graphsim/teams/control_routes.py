"""/_sim control API for Teams (not Graph; no auth): what a user sees in every team (channels with their messages,
replies, reactions and image bytes), and a user posting, replying, editing, reacting and deleting as the Teams
client would (the changes channel message delta then reports)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.control_api import control, control_body, sim_of
from graphsim.errors import GraphError
from graphsim.teams.seed import add_image, png_bytes
from graphsim.teams.service import TeamsService
from graphsim.teams.store import Channel, Message, identity


def _service(request: Request) -> TeamsService:
    return sim_of(request).teams  # type: ignore[attr-defined,no-any-return]


def _channel(request: Request) -> Channel:
    channel = _service(request).channel(request.path_params["team"], request.path_params["channel"])
    if channel is None:
        raise GraphError(404, "NotFound", "no such team or channel")
    return channel


def _found(request: Request) -> tuple[Channel, Message, Message | None]:
    channel = _channel(request)
    found = channel.find(request.path_params["message"])
    if found is None:
        raise GraphError(404, "NotFound", "no such message")
    return channel, *found


def view(message: Message) -> dict[str, Any]:
    data = dict(message.data)
    data["hosted"] = {h.id: base64.b64encode(h.data).decode() for h in message.hosted.values()}
    return data


def apply_edit(request: Request, message: Message, body: dict[str, Any]) -> None:
    """A user's control edit of a channel or chat message: new `text`, and/or a reaction (`reaction`, default
    heart) by the user `reaction_from`; the caller then moves lastModifiedDateTime."""
    if "text" in body:
        message.data["body"] = {"contentType": "html", "content": f"<p>{body['text']}</p>"}
    if body.get("reaction_from"):
        tenant = sim_of(request).tenant
        user = tenant.resolve_user(str(body["reaction_from"]))
        if user is None:
            raise GraphError(404, "NotFound", "reaction_from must name a user")
        message.data["reactions"].append(
            {
                "reactionType": str(body.get("reaction") or "heart"),
                "displayName": None,
                "reactionContentUrl": None,
                "createdDateTime": message.data["lastModifiedDateTime"],
                "user": identity(user, tenant.tenant_id),
            }
        )


@control
async def teams_state(request: Request) -> Response:
    service = _service(request)
    base, tenant = sim_of(request).base_url, sim_of(request).tenant.tenant_id
    groups = []
    for group in service.store.groups.values():
        channels = [
            {
                **c.to_json(base, tenant),
                "messages": [
                    {**view(m), "replies": [view(r) for r in m.replies.values()]} for m in c.messages.values()
                ],
            }
            for c in group.channels.values()
        ]
        groups.append({**group.to_json(sim_of(request).tenant.domain), "channels": channels})
    return JSONResponse({"groups": groups, "migrations": service.migrations})


@control
async def post_message(request: Request) -> Response:
    channel = _channel(request)
    body = await control_body(request)
    sim = sim_of(request)
    user = sim.tenant.resolve_user(str(body.get("from") or ""))
    if user is None:
        raise GraphError(404, "NotFound", "from must name a user")
    root = None
    if body.get("reply_to"):
        root = channel.messages.get(str(body["reply_to"]))
        if root is None:
            raise GraphError(404, "NotFound", "no such root message")
    store = _service(request).store
    message = store.new_message(
        channel, user, dt.datetime.now(dt.UTC), f"<p>{body.get('text') or ''}</p>", root, body.get("subject")
    )
    if body.get("image"):
        add_image(store, message, png_bytes(len(channel.all_messages())), sim.base_url, channel)
    return JSONResponse(view(message), status_code=201)


@control
async def edit_message(request: Request) -> Response:
    _unused, message, root = _found(request)
    body = await control_body(request)
    store = _service(request).store
    apply_edit(request, message, body)
    store.touch(message, root, dt.datetime.now(dt.UTC), edited="text" in body)
    return JSONResponse(view(message))


@control
async def delete_message(request: Request) -> Response:
    _unused, message, root = _found(request)
    _service(request).store.soft_delete(message, root, dt.datetime.now(dt.UTC))
    return JSONResponse(view(message))


def teams_control_routes() -> list[BaseRoute]:
    c = "/_sim/teams/{team}/channels/{channel}/messages"
    return [
        Route("/_sim/teams", teams_state),
        Route(c, post_message, methods=["POST"]),
        Route(f"{c}/{{message}}", edit_message, methods=["PATCH"]),
        Route(f"{c}/{{message}}", delete_message, methods=["DELETE"]),
    ]
