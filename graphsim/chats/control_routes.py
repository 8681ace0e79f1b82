"""/_sim control API for chats (not Graph; no auth): every chat as its members see it (messages, reactions, image
bytes) and the migrations made, and a member posting, editing, reacting and deleting as the Teams client would (or a
retention policy purging a message)
(what the chat's message listing then shows, with a new lastModifiedDateTime)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.chats.seed import add_chat_image
from graphsim.chats.service import ChatsService
from graphsim.chats.store import Chat
from graphsim.control_api import control, control_body, sim_of
from graphsim.errors import GraphError
from graphsim.teams.control_routes import apply_edit, view
from graphsim.teams.seed import png_bytes
from graphsim.teams.store import Message


def _service(request: Request) -> ChatsService:
    return sim_of(request).chats  # type: ignore[attr-defined,no-any-return]


def _chat(request: Request) -> Chat:
    chat = _service(request).chat(request.path_params["chat"])
    if chat is None:
        raise GraphError(404, "NotFound", "no such chat")
    return chat


def _message(request: Request) -> Message:
    message = _chat(request).messages.get(request.path_params["message"])
    if message is None:
        raise GraphError(404, "NotFound", "no such message")
    return message


@control
async def chats_state(request: Request) -> Response:
    service = _service(request)
    tenant = sim_of(request).tenant.tenant_id
    chats = [
        {**c.to_json(tenant), "members": list(c.members), "messages": [view(m) for m in c.messages.values()]}
        for c in service.store.chats.values()
    ]
    return JSONResponse({"chats": chats, "migrations": service.migrations})


@control
async def post_message(request: Request) -> Response:
    chat = _chat(request)
    body = await control_body(request)
    sim = sim_of(request)
    user = sim.tenant.resolve_user(str(body.get("from") or ""))
    if user is None or user.id not in chat.members:
        raise GraphError(404, "NotFound", "from must name a member of the chat")
    store = _service(request).store
    message = store.new_message(chat, user, dt.datetime.now(dt.UTC), f"<p>{body.get('text') or ''}</p>")
    if body.get("image"):
        add_chat_image(message, chat, png_bytes(len(chat.messages)), sim.base_url)
    return JSONResponse(view(message), status_code=201)


@control
async def edit_message(request: Request) -> Response:
    message = _message(request)
    body = await control_body(request)
    apply_edit(request, message, body)
    # a reaction moves lastModifiedDateTime too (chatMessage resource: "including when a reaction is added")
    _service(request).store.ids.touch(message, None, dt.datetime.now(dt.UTC), edited="text" in body)
    return JSONResponse(view(message))


@control
async def delete_message(request: Request) -> Response:
    """A member's soft delete; with ?purge=true the message is removed outright, as a retention policy does."""
    message = _message(request)
    if request.query_params.get("purge") == "true":
        del _chat(request).messages[message.id]
        return JSONResponse(view(message))
    _service(request).store.ids.soft_delete(message, None, dt.datetime.now(dt.UTC))
    return JSONResponse(view(message))


def chats_control_routes() -> list[BaseRoute]:
    c = "/_sim/chats/{chat}/messages"
    return [
        Route("/_sim/chats", chats_state),
        Route(c, post_message, methods=["POST"]),
        Route(f"{c}/{{message}}", edit_message, methods=["PATCH"]),
        Route(f"{c}/{{message}}", delete_message, methods=["DELETE"]),
    ]
