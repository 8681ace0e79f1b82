"""Graph v1.0 chat read routes: a user's chats (with $expand=members), a chat, its members, its messages (listed
with the documented $top, $orderby and $filter, read by id), hosted contents and their bytes.

- https://learn.microsoft.com/graph/api/chat-list: GET /users/{id}/chats, $top at most 50, @odata.nextLink paging;
  $expand=members (at most 25 members each: the page's known issue) and lastMessagePreview.
- https://learn.microsoft.com/graph/api/chat-get, https://learn.microsoft.com/graph/api/chat-list-members.
- https://learn.microsoft.com/graph/api/chat-list-messages: $top at most 50; $orderby lastModifiedDateTime (the
  default) or createdDateTime, descending only (ascending is refused); $filter is a date range on
  lastModifiedDateTime (gt, lt) or createdDateTime (lt), and filters only when $orderby names the same property,
  else it is ignored. Chat messages have no replies.
- https://learn.microsoft.com/graph/api/chatmessage-get, https://learn.microsoft.com/graph/api/
  chatmessage-list-hostedcontents (ids only: contentBytes and contentType read null), .../hostedContents/{id}/$value.
A chat the path names that does not exist, or that the user of a /users/{id}/chats/{id} path is not a member of,
answers 404."""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.chats.migration_routes import chat_migration_routes
from graphsim.chats.service import ChatsService
from graphsim.chats.store import Chat
from graphsim.errors import GraphError
from graphsim.odata import context, qp
from graphsim.simulator import Context, graph_route
from graphsim.teams.routes import paged
from graphsim.teams.store import Message, parse_ms

_CLAUSE = re.compile(r"^\s*(lastModifiedDateTime|createdDateTime)\s+(gt|lt)\s+(\S+)\s*$", re.IGNORECASE)


def chats_of(ctx: Context) -> ChatsService:
    return ctx.sim.chats  # type: ignore[attr-defined,no-any-return]


def chat_of(request: Request, ctx: Context) -> Chat:
    chat = chats_of(ctx).chat(request.path_params["chat"])
    if chat is None or (ctx.user is not None and ctx.user.id not in chat.members):
        raise GraphError(404, "NotFound", f"Chat {request.path_params['chat']} not found.")
    return chat


def message_of(request: Request, ctx: Context) -> tuple[Chat, Message]:
    chat = chat_of(request, ctx)
    message = chat.messages.get(request.path_params["message"])
    if message is None:
        raise GraphError(404, "NotFound", "Message not found.")
    return chat, message


def chat_json(ctx: Context, chat: Chat, expand: str) -> dict[str, Any]:
    data = chat.to_json(ctx.sim.tenant.tenant_id)
    store = chats_of(ctx).store
    if "members" in expand:
        data["members"] = [store.member_json(u) for u in chat.members if u in ctx.sim.tenant.users][:25]
    if "lastmessagepreview" in expand:
        last = max(chat.messages.values(), key=lambda m: m.data["createdDateTime"], default=None)
        data["lastMessagePreview"] = (
            None
            if last is None
            else {
                "id": last.id,
                "createdDateTime": last.data["createdDateTime"],
                "isDeleted": bool(last.data["deletedDateTime"]),
                "messageType": "message",
                "body": copy.deepcopy(last.data["body"]),
                "from": copy.deepcopy(last.data["from"]),
            }
        )
    return data


@graph_route("chats", mail=False)
async def list_chats(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    expand = (qp(request, "$expand") or "").lower()
    chats = sorted(chats_of(ctx).store.of_user(ctx.user.id), key=lambda c: c.created, reverse=True)
    keep = {"$expand": qp(request, "$expand")} if expand else {}
    return paged(request, ctx, [chat_json(ctx, c, expand) for c in chats], "chats", keep=keep)


@graph_route("chat", mail=False)
async def get_chat(request: Request, ctx: Context) -> Response:
    chat = chat_of(request, ctx)
    body = chat_json(ctx, chat, (qp(request, "$expand") or "").lower())
    return JSONResponse({"@odata.context": context(request, "chats/$entity"), **body})


@graph_route("chat_members", mail=False)
async def list_members(request: Request, ctx: Context) -> Response:
    chat = chat_of(request, ctx)
    store = chats_of(ctx).store
    members = [store.member_json(u) for u in chat.members if u in ctx.sim.tenant.users]
    return JSONResponse({"@odata.context": context(request, "chats('x')/members"), "value": members})


def _listing(request: Request, chat: Chat) -> tuple[list[Message], dict[str, str]]:
    """The chat's messages as the list-messages page documents its $orderby and $filter."""
    raw_order = qp(request, "$orderby")
    keep: dict[str, str] = {}
    order = "lastModifiedDateTime"
    if raw_order is not None:
        keep["$orderby"] = raw_order
        parts = raw_order.split()
        if not parts or parts[0].lower() not in ("lastmodifieddatetime", "createddatetime"):
            raise GraphError(400, "BadRequest", f"$orderby is not supported on {raw_order!r}.")
        if (len(parts) > 1 and parts[1].lower() != "desc") or len(parts) > 2:
            raise GraphError(400, "BadRequest", "Only descending order is currently supported.")
        order = "createdDateTime" if parts[0].lower() == "createddatetime" else "lastModifiedDateTime"
    messages = sorted(chat.messages.values(), key=lambda m: (m.data[order], m.id), reverse=True)
    raw_filter = qp(request, "$filter")
    if raw_filter is not None:
        keep["$filter"] = raw_filter
        clauses = []
        for text in re.split(r"\s+and\s+", raw_filter.strip(), flags=re.IGNORECASE):
            found = _CLAUSE.match(text)
            if found is None:
                raise GraphError(400, "BadRequest", f"Invalid filter clause: {text!r}.")
            prop, op, value = found.group(1).lower(), found.group(2).lower(), found.group(3)
            if prop == "createddatetime" and op != "lt":
                raise GraphError(400, "BadRequest", "createdDateTime supports only the lt operator.")
            try:
                when = parse_ms(value.strip("'"))
            except ValueError:
                raise GraphError(400, "BadRequest", f"Invalid date in filter: {value!r}.") from None
            clauses.append(("createdDateTime" if prop == "createddatetime" else "lastModifiedDateTime", op, when))
        if raw_order is not None:  # "otherwise the $filter query option is ignored"
            for prop, op, when in clauses:
                if prop != order:
                    continue
                if op == "gt":
                    messages = [m for m in messages if parse_ms(m.data[prop]) > when]
                else:
                    messages = [m for m in messages if parse_ms(m.data[prop]) < when]
    return messages, keep


@graph_route("chat_messages", mail=False)
async def list_messages(request: Request, ctx: Context) -> Response:
    chat = chat_of(request, ctx)
    messages, keep = _listing(request, chat)
    return paged(request, ctx, [copy.deepcopy(m.data) for m in messages], "chats('x')/messages", keep=keep)


@graph_route("chat_message", mail=False)
async def get_message(request: Request, ctx: Context) -> Response:
    _chat, message = message_of(request, ctx)
    return JSONResponse({"@odata.context": context(request, "chatMessage/$entity"), **copy.deepcopy(message.data)})


@graph_route("chat_hosted_contents", mail=False)
async def list_hosted(request: Request, ctx: Context) -> Response:
    _chat, message = message_of(request, ctx)
    value = [{"id": h.id, "contentBytes": None, "contentType": None} for h in message.hosted.values()]
    return JSONResponse({"@odata.context": context(request, "hostedContents"), "value": value})


@graph_route("chat_hosted_content_value", mail=False)
async def hosted_value(request: Request, ctx: Context) -> Response:
    _chat, message = message_of(request, ctx)
    hosted = message.hosted.get(request.path_params["hosted"])
    if hosted is None:
        raise GraphError(404, "NotFound", "Hosted content not found.")
    return Response(hosted.data, media_type=hosted.content_type)


def chat_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route("/v1.0/users/{user}/chats", list_chats), *chat_migration_routes()]
    for base in ("/v1.0/chats/{chat}", "/v1.0/users/{user}/chats/{chat}"):
        m = f"{base}/messages/{{message}}"
        routes += [
            Route(base, get_chat),
            Route(f"{base}/members", list_members),
            Route(f"{base}/messages", list_messages),
            Route(m, get_message),
            Route(f"{m}/hostedContents", list_hosted),
            Route(f"{m}/hostedContents/{{hosted}}/$value", hosted_value),
        ]
    return routes
