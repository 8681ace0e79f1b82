"""Graph v1.0 mail routes: mail folders, messages, message delta and $value (creates: graphsim.mail.create;
attachments: graphsim.mail.attachment_routes)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim import extended_properties as ext
from graphsim.delta_links import delta_response, function_routes, tokens_of
from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.ids import opaque_id
from graphsim.mail.create import create_message
from graphsim.mail.folder_delta import folder_delta_routes
from graphsim.mail.store import Folder, Mailbox, Message
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.simulator import Context, graph_route
from graphsim.tenant import User

FILTER_IMID = re.compile(r"^\s*internetMessageId\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
FILTER_RECEIVED = re.compile(r"^\s*receivedDateTime\s+(ge|gt|le|lt)\s+(\S+)\s*$", re.IGNORECASE)
MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


# --- lookups ---
def mailbox_of(ctx: Context) -> tuple[User, Mailbox]:
    assert ctx.user is not None and ctx.user.mailbox is not None
    return ctx.user, ctx.user.mailbox


def folder_of(mailbox: Mailbox, ref: str) -> Folder:
    folder = mailbox.resolve_folder(ref)
    if folder is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return folder


def message_of(mailbox: Mailbox, mid: str) -> Message:
    message = mailbox.messages.get(mid)
    if message is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return message


# --- folders ---
async def _list_folders(request: Request, ctx: Context, parent: Folder) -> Response:
    user, mailbox = mailbox_of(ctx)
    hidden = (qp(request, "includeHiddenFolders") or "").lower() == "true"
    top = int_param(request, "$top", 10, 1, 1000)
    skip = int_param(request, "$skip", 0, 0, 10**9)
    children = [mailbox.folders[c] for c in parent.child_ids if hidden or not mailbox.folders[c].is_hidden]
    select = select_of(request)
    body: dict[str, Any] = {"@odata.context": context(request, f"users('{user.id}')/mailFolders")}
    body["value"] = [pick(mailbox.folder_json(f), select) for f in children[skip : skip + top]]
    if skip + top < len(children):
        path = request.url.path
        params = {"includeHiddenFolders": "true" if hidden else None, "$select": ",".join(select) if select else None,
                  "$top": top, "$skip": skip + top}  # fmt: skip
        body["@odata.nextLink"] = link(request, path, params)
    return JSONResponse(body)


@graph_route("folders")
async def list_top_folders(request: Request, ctx: Context) -> Response:
    return await _list_folders(request, ctx, mailbox_of(ctx)[1].root())


@graph_route("folders")
async def list_child_folders(request: Request, ctx: Context) -> Response:
    return await _list_folders(request, ctx, folder_of(mailbox_of(ctx)[1], request.path_params["folder"]))


@graph_route("folders")
async def get_folder(request: Request, ctx: Context) -> Response:
    mailbox = mailbox_of(ctx)[1]
    folder = folder_of(mailbox, request.path_params["folder"])
    return JSONResponse(pick(mailbox.folder_json(folder), select_of(request)))


async def _create_folder(request: Request, ctx: Context, parent: Folder) -> Response:
    user, mailbox = mailbox_of(ctx)
    try:
        body = await request.json()
    except ValueError:
        raise GraphError(400, "RequestBodyRead", "Invalid JSON in the request body.") from None
    name = body.get("displayName") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "The displayName property is required.")
    folder = create_folder(mailbox, ctx.sim.seed, user.id, parent, name, bool(body.get("isHidden", False)))
    return JSONResponse(mailbox.folder_json(folder), status_code=201)


def create_folder(mailbox: Mailbox, seed: int, user_id: str, parent: Folder, name: str, hidden: bool = False) -> Folder:
    if any(mailbox.folders[c].display_name.lower() == name.lower() for c in parent.child_ids):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    fid = opaque_id("AQMkA", seed, user_id, "folder", parent.id, name, len(mailbox.folders))
    return mailbox.add_folder(Folder(fid, name, parent.id, is_hidden=hidden))


@graph_route("create")
async def create_top_folder(request: Request, ctx: Context) -> Response:
    return await _create_folder(request, ctx, mailbox_of(ctx)[1].root())


@graph_route("create")
async def create_child_folder(request: Request, ctx: Context) -> Response:
    return await _create_folder(request, ctx, folder_of(mailbox_of(ctx)[1], request.path_params["folder"]))


# --- delta ---
def _page_size(request: Request) -> int | None:
    match = MAXPAGESIZE.search(request.headers.get("prefer", ""))
    return max(1, int(match.group(1))) if match else None


@graph_route("delta")
async def message_delta(request: Request, ctx: Context) -> Response:
    user, mailbox = mailbox_of(ctx)
    folder = folder_of(mailbox, request.path_params["folder"])
    engine = ctx.sim.delta
    asked = _page_size(request)
    size = asked or 10
    headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if asked else {}
    version = request.url.path.split("/")[1]  # v1.0; beta for an archive (graphsim/archive/routes.py)
    path = f"/{version}/users/{user.id}/mailFolders('{folder.id}')/messages/delta"
    fault = ctx.sim.faults.take_delta_page(user.id, folder.id)
    if fault is not None:
        if fault.mode == "invalid_json":
            broken = '{"@odata.context":"' + context(request, "Collection(message)") + '","value":[{"id":'
            return Response(broken.encode(), media_type="application/json", headers=headers)
        if fault.mode == "no_value":
            return JSONResponse({"@odata.context": context(request, "Collection(message)")}, headers=headers)
        return JSONResponse({"@odata.context": context(request, "Collection(message)"), "value": [],
                             "@odata.nextLink": str(request.url)}, headers=headers)  # fmt: skip
    try:
        skip, delta_token = tokens_of(request, ctx.sim.sealer)
        if skip:
            round_, offset = engine.resolve_skip(skip, mailbox, folder.id)
        elif delta_token:
            state = engine.resolve_delta(delta_token, mailbox, folder.id)
            round_ = engine.start_round(mailbox, folder.id, state["w"], state["s"], state["c"])
            offset = 0
        else:
            change_type = qp(request, "changeType")
            if change_type not in (None, "created", "updated", "deleted"):
                raise GraphError(400, "ErrorInvalidUrlQuery", f"The value '{change_type}' is not valid for changeType.")
            round_ = engine.start_round(mailbox, folder.id, None, select_of(request), change_type)
            offset = 0
    except SyncStateNotFound as exc:
        raise GraphError(410, "SyncStateNotFound", str(exc), headers) from None
    return delta_response(request, path, engine.page(round_, offset, size), "Collection(message)", headers)


# --- messages ---
def _filter(request: Request) -> Any:
    raw = qp(request, "$filter")
    if not raw:
        return lambda m: True
    marker = ext.filter_of(raw)
    if marker is not None:
        return lambda m: marker(m.extended)
    match = FILTER_IMID.match(raw)
    if match:
        wanted = match.group(1).replace("''", "'")
        return lambda m: m.internet_message_id == wanted
    match = FILTER_RECEIVED.match(raw)
    if match:
        try:
            value = dt.datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
        except ValueError:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {raw}") from None
        op = match.group(1).lower()
        ops = {
            "ge": lambda a: a >= value,
            "gt": lambda a: a > value,
            "le": lambda a: a <= value,
            "lt": lambda a: a < value,
        }
        return lambda m: ops[op](m.received)
    raise GraphError(400, "BadRequest", f"Invalid filter clause: {raw}")


async def _list_messages(request: Request, ctx: Context, messages: list[Message]) -> Response:
    top = int_param(request, "$top", 10, 1, 1000)
    skip = int_param(request, "$skip", 0, 0, 10**9)
    keep = _filter(request)
    chosen = sorted((m for m in messages if keep(m)), key=lambda m: (m.received, m.id), reverse=True)
    select = select_of(request)
    wanted = ext.expanded(request)
    body: dict[str, Any] = {"@odata.context": context(request, "Collection(message)")}
    body["value"] = [_shaped(m, select, wanted) for m in chosen[skip : skip + top]]
    if skip + top < len(chosen):
        params = {"$filter": qp(request, "$filter"), "$select": ",".join(select) if select else None,
                  "$expand": qp(request, "$expand"), "$top": top, "$skip": skip + top}  # fmt: skip
        body["@odata.nextLink"] = link(request, request.url.path, params)
    return JSONResponse(body)


def _shaped(message: Message, select: list[str] | None, wanted: list[str]) -> dict[str, Any]:
    shaped = pick(message.to_json(), select)
    if wanted:
        shaped["singleValueExtendedProperties"] = ext.render(message.extended, wanted)
    return shaped


@graph_route("messages")
async def list_folder_messages(request: Request, ctx: Context) -> Response:
    mailbox = mailbox_of(ctx)[1]
    folder = folder_of(mailbox, request.path_params["folder"])
    return await _list_messages(request, ctx, [mailbox.messages[mid] for mid in folder.message_ids])


@graph_route("messages")
async def list_all_messages(request: Request, ctx: Context) -> Response:
    return await _list_messages(request, ctx, list(mailbox_of(ctx)[1].messages.values()))


@graph_route("message_get")
async def get_message(request: Request, ctx: Context) -> Response:
    message = message_of(mailbox_of(ctx)[1], request.path_params["message"])
    shaped = _shaped(message, select_of(request), ext.expanded(request))
    return JSONResponse({"@odata.context": context(request, "messages/$entity"), **shaped})


@graph_route("value")
async def get_message_value(request: Request, ctx: Context) -> Response:
    user, mailbox = mailbox_of(ctx)
    message = message_of(mailbox, request.path_params["message"])
    if ctx.sim.faults.is_corrupt(user.id, message.id):
        raise GraphError(500, "ErrorInternalServerError", "An internal server error occurred. The operation failed.")
    return Response(message.mime, media_type="text/plain")


@graph_route("other")
async def delete_message(request: Request, ctx: Context) -> Response:
    mailbox = mailbox_of(ctx)[1]
    mailbox.delete(message_of(mailbox, request.path_params["message"]))
    return Response(status_code=204)


@graph_route("other")
async def patch_message(request: Request, ctx: Context) -> Response:
    """Update a message's writable metadata: isRead, flag, categories, importance (what a restore puts back)."""
    mailbox = mailbox_of(ctx)[1]
    message = message_of(mailbox, request.path_params["message"])
    try:
        body = await request.json()
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest", "The request body is not valid JSON.") from None
    unknown = set(body) - {"isRead", "flag", "categories", "importance"}
    if not isinstance(body, dict) or unknown:
        raise GraphError(400, "ErrorInvalidProperty", f"Properties not writable here: {sorted(unknown)}")
    if "isRead" in body:
        message.is_read = bool(body["isRead"])
    if "categories" in body:
        message.categories = [str(c) for c in body["categories"]]
    if "flag" in body:
        message.flag = dict(body["flag"]) if isinstance(body["flag"], dict) else {"flagStatus": str(body["flag"])}
    if "importance" in body:
        message.importance = str(body["importance"])
    mailbox.touch(message, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(message.to_json())


@graph_route("other")
async def move_message(request: Request, ctx: Context) -> Response:
    mailbox = mailbox_of(ctx)[1]
    message = message_of(mailbox, request.path_params["message"])
    try:
        destination = str((await request.json())["destinationId"])
    except (ValueError, KeyError, TypeError):
        raise GraphError(400, "ErrorInvalidRequest", "destinationId is required.") from None
    mailbox.move(message, folder_of(mailbox, destination), dt.datetime.now(dt.UTC))
    return JSONResponse(message.to_json(), status_code=201)


def mail_routes() -> list[Route]:
    u = "/v1.0/users/{user}"
    routes: list[Route] = folder_delta_routes(u)  # first: 'delta' is no folder id
    for mf in ("mailFolders", "mailfolders", "MailFolders"):
        f = f"{u}/{mf}/{{folder}}"
        for cf in ("childFolders", "childfolders"):
            routes += [
                Route(f"{f}/{cf}", list_child_folders),
                Route(f"{f}/{cf}", create_child_folder, methods=["POST"]),
            ]
        routes += [
            Route(f"{u}/{mf}", list_top_folders),
            Route(f"{u}/{mf}", create_top_folder, methods=["POST"]),
            Route(f"{u}/{mf}('{{folder}}')/messages/delta", message_delta),
            Route(function_routes(f"{u}/{mf}('{{folder}}')/messages/delta"), message_delta),
            Route(f"{f}/messages/delta", message_delta),
            Route(f"{f}/messages/microsoft.graph.delta()", message_delta),
            Route(f"{f}/messages", list_folder_messages),
            Route(f"{f}/messages", create_message, methods=["POST"]),
            Route(f"{f}/messages/{{message}}", get_message),
            Route(f"{f}/messages/{{message}}/$value", get_message_value),
            Route(f, get_folder),
        ]
    routes += [
        Route(f"{u}/messages", list_all_messages),
        Route(f"{u}/messages", create_message, methods=["POST"]),
        Route(f"{u}/messages/{{message}}/$value", get_message_value),
        Route(f"{u}/messages/{{message}}/move", move_message, methods=["POST"]),
        Route(f"{u}/messages/{{message}}", get_message),
        Route(f"{u}/messages/{{message}}", delete_message, methods=["DELETE"]),
        Route(f"{u}/messages/{{message}}", patch_message, methods=["PATCH"]),
    ]
    return routes
