"""Graph v1.0 chat migration: startMigration and completeMigration on an existing chat, and the import of messages
with their original `from` and createdDateTime while the chat is in migration mode.

- https://learn.microsoft.com/graph/api/chat-startmigration: group and one-on-one chats, new and existing; meeting
  chats are not supported (400 here). conversationCreationDateTime, when given, must be earlier than the chat's
  createdDateTime and replaces it (it can only move into the past); 204. A chat already migrating: 400.
- https://learn.microsoft.com/graph/api/chat-completemigration: 204; a chat not migrating: 400.
- https://learn.microsoft.com/graph/teams-import-messages: POST /chats/{id}/messages with createdDateTime and
  `from` only in migration mode (an application cannot send chat messages otherwise: 403); the rules of a
  channel import (graphsim/teams/migration_routes.py) hold: a tenant user as author, a time later than the chat's
  createdDateTime and not in the future, unique to the millisecond in the chat (409), inline images as
  hostedContents with temporary ids; reactions are not imported."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.chats.service import ChatsService
from graphsim.chats.store import Chat
from graphsim.errors import GraphError, json_object
from graphsim.odata import context
from graphsim.simulator import Context, graph_route
from graphsim.teams.migration_routes import import_time, imported_hosted
from graphsim.teams.store import identity, iso_ms, parse_ms


def _service(ctx: Context) -> ChatsService:
    return ctx.sim.chats  # type: ignore[attr-defined,no-any-return]


def _chat(request: Request, ctx: Context) -> Chat:
    chat = _service(ctx).chat(request.path_params["chat"])
    if chat is None:
        raise GraphError(404, "NotFound", f"Chat {request.path_params['chat']} not found.")
    return chat


@graph_route("chat_migration", mail=False)
async def start_migration(request: Request, ctx: Context) -> Response:
    chat = _chat(request, ctx)
    body = await json_object(request, "BadRequest")
    if chat.chat_type == "meeting":
        raise GraphError(400, "BadRequest", "Migration is not supported for meeting chats.")
    if chat.migration == "inProgress":
        raise GraphError(400, "BadRequest", "The chat is already in migration mode.")
    if body.get("conversationCreationDateTime"):
        when = import_time(body["conversationCreationDateTime"], "conversationCreationDateTime")
        if when >= parse_ms(chat.created):
            raise GraphError(
                400, "BadRequest", "conversationCreationDateTime must be earlier than the chat's createdDateTime."
            )
        chat.created = iso_ms(when)
    chat.migration = "inProgress"
    _service(ctx).migrations.append({"chat": chat.id, "action": "startMigration"})
    return Response(status_code=204)


@graph_route("chat_migration", mail=False)
async def complete_migration(request: Request, ctx: Context) -> Response:
    chat = _chat(request, ctx)
    if chat.migration != "inProgress":
        raise GraphError(400, "BadRequest", "The chat is not in migration mode.")
    chat.migration = "completed"
    _service(ctx).migrations.append({"chat": chat.id, "action": "completeMigration"})
    return Response(status_code=204)


def _import(ctx: Context, chat: Chat, body: dict[str, Any]) -> dict[str, Any]:
    if chat.migration != "inProgress":
        raise GraphError(403, "Forbidden", "An application can post chat messages only to a chat in migration mode.")
    sender = ((body.get("from") or {}).get("user") or {}).get("id")
    user = ctx.sim.tenant.users.get(str(sender)) if sender else None
    if user is None:
        raise GraphError(400, "BadRequest", "from.user must name a user of the tenant.")
    now = dt.datetime.now(dt.UTC)
    when = import_time(body.get("createdDateTime"), "createdDateTime") if body.get("createdDateTime") else now
    if when > now:
        raise GraphError(400, "BadRequest", "createdDateTime cannot be in the future.")
    if when <= parse_ms(chat.created):
        raise GraphError(400, "BadRequest", "createdDateTime must be later than the chat's createdDateTime.")
    stamp = iso_ms(when)
    if any(m.data["createdDateTime"] == stamp for m in chat.all_messages()):
        raise GraphError(409, "Conflict", f"A message with createdDateTime {stamp} exists in this conversation.")
    hosted = imported_hosted(body)
    content = dict(body.get("body") or {"contentType": "text", "content": ""})
    message = _service(ctx).store.new_message(chat, user, when, str(content.get("content") or ""))
    message.data["body"]["contentType"] = content.get("contentType") or "text"
    message.data["importance"] = body.get("importance") or "normal"
    message.data["mentions"] = list(body.get("mentions") or [])
    message.data["attachments"] = list(body.get("attachments") or [])
    message.data["from"] = identity(user, ctx.sim.tenant.tenant_id)
    path = f"{ctx.sim.base_url}/v1.0/chats/{chat.id}/messages/{message.id}"
    for temp, item in hosted.items():
        message.hosted[item.id] = item
        message.data["body"]["content"] = message.data["body"]["content"].replace(
            f"../hostedContents/{temp}/$value", f"{path}/hostedContents/{item.id}/$value"
        )
    return message.data


@graph_route("chat_message_import", mail=False)
async def import_message(request: Request, ctx: Context) -> Response:
    chat = _chat(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    data = _import(ctx, chat, body)
    return JSONResponse({"@odata.context": context(request, "chatMessage/$entity"), **data})


def chat_migration_routes() -> list[BaseRoute]:
    c = "/v1.0/chats/{chat}"
    return [
        Route(f"{c}/startMigration", start_migration, methods=["POST"]),
        Route(f"{c}/completeMigration", complete_migration, methods=["POST"]),
        Route(f"{c}/messages", import_message, methods=["POST"]),
    ]
