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

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.chats.service import ChatsService
from graphsim.chats.store import Chat
from graphsim.errors import GraphError, json_object
from graphsim.odata import context
from graphsim.simulator import Context, graph_route
from graphsim.teams.migration_routes import (
    complete,
    fill_imported,
    import_author_and_time,
    imported_hosted,
    imported_html,
    start,
)


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
    # chat-startmigration: the createdDateTime "can only be moved towards the past"; without a time the simulator
    # keeps it (its parameter table says the current time is then used, as channel-startmigration does)
    return start(chat, "chat", body, _service(ctx).migrations, earlier="earlier", now_by_default=False)


@graph_route("chat_migration", mail=False)
async def complete_migration(request: Request, ctx: Context) -> Response:
    return complete(_chat(request, ctx), "chat", _service(ctx).migrations)


def _import(ctx: Context, chat: Chat, body: dict[str, Any]) -> dict[str, Any]:
    if chat.migration != "inProgress":
        raise GraphError(403, "Forbidden", "An application can post chat messages only to a chat in migration mode.")
    user, when = import_author_and_time(ctx, chat, "chat", body)
    hosted = imported_hosted(body)
    message = _service(ctx).store.new_message(chat, user, when, imported_html(body))
    fill_imported(ctx, message, body, user, hosted, f"{ctx.sim.base_url}/v1.0/chats/{chat.id}/messages/{message.id}")
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
