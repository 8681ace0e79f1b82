"""Graph v1.0 Teams write routes of migration mode: create a channel (in migration mode), channel startMigration
and completeMigration, and the import of messages and replies with their original `from` and createdDateTime.

- https://learn.microsoft.com/graph/api/channel-post: a channel created with
  "@microsoft.graph.channelCreationMode": "migration" and a past createdDateTime starts in migration mode.
- https://learn.microsoft.com/graph/api/channel-startmigration: an existing channel enters migration mode (204);
  conversationCreationDateTime, when given, must be older than the channel's createdDateTime and replaces it; a
  channel already migrating is refused (400).
- https://learn.microsoft.com/graph/api/channel-completemigration: 204; migrationMode becomes 'completed'; a
  channel not migrating is refused (400). No message can be imported afterwards, until startMigration again.
- https://learn.microsoft.com/graph/teams-import-messages: an imported message needs application permissions and a
  channel in migration mode (else 403); `from` names a user of the tenant; createdDateTime must be later than the
  channel's (and, for a reply, not earlier than its root), not in the future (400), and unique to the millisecond
  in the channel (409 Conflict). Inline images are the only media: hostedContents with a temporaryId, referenced
  from the body as ../hostedContents/{temporaryId}/$value. Imported messages answer 200. Reactions are not
  imported (the import scope has none): any in the body are dropped."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError, json_object
from graphsim.odata import context
from graphsim.simulator import Context, graph_route
from graphsim.teams.lookup import channel_of, message_of, team_of, teams_of
from graphsim.teams.store import Channel, HostedContent, Message, identity, iso_ms, parse_ms
from graphsim.tenant import User

TEMP_SRC = re.compile(r"\.\./hostedContents/([^/\"']+)/\$value")


class Conversation(Protocol):
    """What migration mode needs of a channel or a chat (graphsim/chats/migration_routes.py shares these helpers)."""

    id: str
    created: str
    migration: str  # '' (never), 'inProgress', 'completed'

    def all_messages(self) -> list[Message]: ...


def import_time(value: Any, name: str) -> dt.datetime:
    """A time an import or a migration call gives (createdDateTime, conversationCreationDateTime); 400 if it is not
    one. Chats' migration routes share it."""
    try:
        return parse_ms(str(value))
    except (TypeError, ValueError):
        raise GraphError(400, "BadRequest", f"Invalid {name}: {value!r}.") from None


def start(
    conversation: Conversation,
    kind: str,
    body: dict[str, Any],
    migrations: list[dict[str, Any]],
    earlier: str,
    now_by_default: bool,
) -> Response:
    """startMigration of a channel or chat ("channel"/"chat" is `kind`): 400 if it is migrating already; a given
    conversationCreationDateTime must be `earlier` than its createdDateTime (400) and replaces it; without one, now
    replaces it where `now_by_default`. 204, and the call logged in `migrations`."""
    if conversation.migration == "inProgress":
        raise GraphError(400, "BadRequest", f"The {kind} is already in migration mode.")
    if body.get("conversationCreationDateTime"):
        when = import_time(body["conversationCreationDateTime"], "conversationCreationDateTime")
        if when >= parse_ms(conversation.created):
            raise GraphError(
                400, "BadRequest", f"conversationCreationDateTime must be {earlier} than the {kind}'s createdDateTime."
            )
        conversation.created = iso_ms(when)
    elif now_by_default:
        conversation.created = iso_ms(dt.datetime.now(dt.UTC))
    conversation.migration = "inProgress"
    migrations.append({kind: conversation.id, "action": "startMigration"})
    return Response(status_code=204)


def complete(conversation: Conversation, kind: str, migrations: list[dict[str, Any]]) -> Response:
    """completeMigration of a channel or chat: 400 if it is not migrating; 204, and the call logged in `migrations`."""
    if conversation.migration != "inProgress":
        raise GraphError(400, "BadRequest", f"The {kind} is not in migration mode.")
    conversation.migration = "completed"
    migrations.append({kind: conversation.id, "action": "completeMigration"})
    return Response(status_code=204)


@graph_route("channel_create", mail=False)
async def create_channel(request: Request, ctx: Context) -> Response:
    team = team_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip() or len(name) > 50:
        raise GraphError(400, "BadRequest", "displayName is required (at most 50 characters).")
    if any(c.display_name.lower() == name.lower() for c in team.channels.values()):
        raise GraphError(409, "NameAlreadyExists", f"Channel name already existed: {name}")
    membership = str(body.get("membershipType") or "standard")
    if membership not in ("standard", "private", "shared"):
        raise GraphError(400, "BadRequest", f"Invalid membershipType: {membership}")
    mode = body.get("@microsoft.graph.channelCreationMode")
    now = dt.datetime.now(dt.UTC)
    created = now
    if mode == "migration":
        created = import_time(body.get("createdDateTime"), "createdDateTime") if body.get("createdDateTime") else now
        if created > now:
            raise GraphError(400, "BadRequest", "createdDateTime cannot be in the future.")
    elif mode is not None:
        raise GraphError(400, "BadRequest", f"Invalid channelCreationMode: {mode}")
    store = teams_of(ctx).store
    channel = store.add_channel(
        team, name, membership, created, "inProgress" if mode == "migration" else "", str(body.get("description") or "")
    )
    if mode == "migration":
        teams_of(ctx).migrations.append({"channel": channel.id, "action": "created in migration mode"})
    return JSONResponse(
        {
            "@odata.context": context(request, "teams('x')/channels/$entity"),
            **channel.to_json(ctx.sim.base_url, ctx.sim.tenant.tenant_id),
        },
        status_code=201,
    )


@graph_route("channel_migration", mail=False)
async def start_migration(request: Request, ctx: Context) -> Response:
    channel = channel_of(request, ctx)
    body = await json_object(request, "BadRequest")
    # "if not provided, the current date and time is used" (channel-startmigration)
    return start(channel, "channel", body, teams_of(ctx).migrations, earlier="older", now_by_default=True)


@graph_route("channel_migration", mail=False)
async def complete_migration(request: Request, ctx: Context) -> Response:
    return complete(channel_of(request, ctx), "channel", teams_of(ctx).migrations)


def imported_hosted(body: dict[str, Any]) -> dict[str, HostedContent]:
    """The inline images an imported message carries (`hostedContents` with temporary ids), by temporary id; shared
    with chats' migration routes."""
    found: dict[str, HostedContent] = {}
    for n, item in enumerate(body.get("hostedContents") or []):
        temp = str(item.get("@microsoft.graph.temporaryId") or "")
        try:
            data = base64.b64decode(str(item.get("contentBytes") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise GraphError(400, "BadRequest", "hostedContents contentBytes is not base64.") from None
        if not temp or not data:
            raise GraphError(400, "BadRequest", "A hosted content needs a temporaryId and contentBytes.")
        found[temp] = HostedContent(
            f"aWQ9aW1wb3J0ZWQt{uuid.uuid4().hex[:12]}{n + 1}", str(item.get("contentType") or "image/png"), data
        )
    return found


def import_author_and_time(
    ctx: Context, conversation: Conversation, kind: str, body: dict[str, Any], root: Message | None = None
) -> tuple[User, dt.datetime]:
    """The rules teams-import-messages gives a channel and a chat import alike: `from` a user of the tenant (400),
    createdDateTime (default now) not in the future and later than the conversation's (400), a reply not earlier
    than its root (400), and unique to the millisecond in the conversation (409)."""
    sender = ((body.get("from") or {}).get("user") or {}).get("id")
    user = ctx.sim.tenant.users.get(str(sender)) if sender else None
    if user is None:
        raise GraphError(400, "BadRequest", "from.user must name a user of the tenant.")
    now = dt.datetime.now(dt.UTC)
    when = import_time(body.get("createdDateTime"), "createdDateTime") if body.get("createdDateTime") else now
    if when > now:
        raise GraphError(400, "BadRequest", "createdDateTime cannot be in the future.")
    if when <= parse_ms(conversation.created):
        raise GraphError(400, "BadRequest", f"createdDateTime must be later than the {kind}'s createdDateTime.")
    if root is not None and when < parse_ms(root.data["createdDateTime"]):
        raise GraphError(400, "BadRequest", "A reply cannot be earlier than the message it replies to.")
    stamp = iso_ms(when)
    if any(m.data["createdDateTime"] == stamp for m in conversation.all_messages()):
        raise GraphError(409, "Conflict", f"A message with createdDateTime {stamp} exists in this conversation.")
    return user, when


def _imported_content(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body.get("body") or {"contentType": "text", "content": ""})


def imported_html(body: dict[str, Any]) -> str:
    """The body content an imported message is created with (its contentType is set by fill_imported)."""
    return str(_imported_content(body).get("content") or "")


def fill_imported(
    ctx: Context, message: Message, body: dict[str, Any], user: User, hosted: dict[str, HostedContent], path: str
) -> None:
    """An imported message's properties as given (body contentType, importance, mentions, attachments, `from`;
    reactions dropped), and its inline images as hostedContents under `path` (the message's Graph URL)."""
    message.data["body"]["contentType"] = _imported_content(body).get("contentType") or "text"
    message.data["importance"] = body.get("importance") or "normal"
    message.data["mentions"] = list(body.get("mentions") or [])
    message.data["attachments"] = list(body.get("attachments") or [])
    message.data["from"] = identity(user, ctx.sim.tenant.tenant_id)
    for temp, item in hosted.items():
        message.hosted[item.id] = item
        message.data["body"]["content"] = message.data["body"]["content"].replace(
            f"../hostedContents/{temp}/$value", f"{path}/hostedContents/{item.id}/$value"
        )


def _import(request: Request, ctx: Context, channel: Channel, root: Message | None, body: dict[str, Any]) -> Message:
    if channel.migration != "inProgress":
        raise GraphError(
            403,
            "Forbidden",
            "Messages can be imported only into a channel in migration mode "
            "(startMigration, or a channel created in migration mode).",
        )
    user, when = import_author_and_time(ctx, channel, "channel", body, root)
    hosted = imported_hosted(body)
    store = teams_of(ctx).store
    message = store.new_message(channel, user, when, imported_html(body), root, body.get("subject"))
    path = f"{ctx.sim.base_url}/v1.0/teams/{channel.team_id}/channels/{channel.id}/messages/" + (
        f"{root.id}/replies/{message.id}" if root else message.id
    )
    fill_imported(ctx, message, body, user, hosted, path)
    return message


@graph_route("message_import", mail=False)
async def import_message(request: Request, ctx: Context) -> Response:
    channel = channel_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    message = _import(request, ctx, channel, None, body)
    return JSONResponse({"@odata.context": context(request, "chatMessage/$entity"), **message.data})


@graph_route("message_import", mail=False)
async def import_reply(request: Request, ctx: Context) -> Response:
    channel, root, _none = message_of(request, ctx)
    body = await json_object(request, "BadRequest", empty_ok=False)
    message = _import(request, ctx, channel, root, body)
    return JSONResponse({"@odata.context": context(request, "chatMessage/$entity"), **message.data})


def migration_routes() -> list[BaseRoute]:
    c = "/v1.0/teams/{team}/channels/{channel}"
    return [
        Route("/v1.0/teams/{team}/channels", create_channel, methods=["POST"]),
        Route(f"{c}/startMigration", start_migration, methods=["POST"]),
        Route(f"{c}/completeMigration", complete_migration, methods=["POST"]),
        Route(f"{c}/messages", import_message, methods=["POST"]),
        Route(f"{c}/messages/{{message}}/replies", import_reply, methods=["POST"]),
    ]
