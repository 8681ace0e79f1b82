"""Graph beta routes of the mailbox import and export APIs on in-place archives ("Use mailbox import and export APIs
with archive mailboxes (preview)", https://learn.microsoft.com/graph/work-with-archive-mailboxes; "Handle archive
mailbox redirects", https://learn.microsoft.com/graph/handle-archive-mailbox-redirects). Archive support is beta
only (v1.0 covers primary and shared mailboxes); the simulator serves archive stores, addressed by the MBX id
settings/exchange names (a primary's MBX id answers 404 here: the simulator's scope).

- `GET /beta/admin/exchange/mailboxes/{id}/folders`, `.../folders/{id}`, `.../folders/{id}/childFolders`
  (mailboxFolder, MailboxFolder.Read.All): the main archive lists the whole tree; a folder read at the main archive
  whose content an auxiliary archive holds answers 308 with the auxiliary's URL (redirects page, example 1);
- `GET .../folders/{id}/items` (mailboxItem, MailboxItem.Read.All; `$top`, `$expand=singleValueExtendedProperties
  ($filter=id eq '...')`, "mailboxItem resource type"): paged by @odata.nextLink; an expanded folder answers 308;
- `POST .../exportItems` {"itemIds": [...]} ("mailbox: exportItems", MailboxItem.Export.All): at most 20 ids (400
  beyond, or none); 200 with one exportItemResponse per id: `itemId`, `changeKey`, `data` (the opaque stream), or an
  `error` {code, message}: ErrorArchiveFolderMovedPermanently with the auxiliary's exportItems URL as its message
  when the auxiliary holds the item (redirects page, example 2), ErrorItemNotFound, or ErrorCorruptData for an item
  the control API made fail (the simulator's choice of code);
- `POST .../createImportSession` ("mailbox: createImportSession", MailboxItem.ImportExport.All): 200 with
  `importUrl` (pre-authenticated, its token in the query) and `expirationDateTime` (one hour);
- `POST {importUrl}` {FolderId, Mode, Data[, ItemId, ChangeKey]} ("Import an Exchange mailbox item",
  https://learn.microsoft.com/graph/import-exchange-mailbox-item): no Authorization header; `create` makes a new item
  (ItemId or ChangeKey given: 400), `update` replaces an item whose ItemId and ChangeKey match (else 400); 200 with
  `itemId` and `changeKey`. A folder whose content another store holds answers 409 "Invalid import session. The
  target session is expected in mailbox MBX:..." (redirects page, example 3); an unknown or expired session 401.
  The reset_response fault (graphsim/limits.py) hits it as a request of the archive's owner: imported, answer lost.
  The imported message is what was exported: not a draft, its dates, read state, flag and categories, and it is
  visible at once through the beta Mail API reads of graphsim/archive/routes.py."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.archive.store import Archive, find_store
from graphsim.errors import GraphError, graph_error
from graphsim.extended_properties import expanded
from graphsim.ids import iso
from graphsim.mail.create import new_message
from graphsim.mail.store import Folder
from graphsim.mailbox_import.view import (
    box_id,
    export_stream,
    folder_by_box_id,
    folder_json,
    item_json,
    message_by_box_id,
    read_stream,
)
from graphsim.odata import int_param, link
from graphsim.simulator import Context, Simulator, _reset_after_headers, graph_route
from graphsim.tenant import User

MAX_EXPORT_ITEMS = 20  # "You can export up to 20 items in a single export request."
SESSION_SECONDS = 3600
ADMIN = "/beta/admin/exchange/mailboxes"


def _store(request: Request, ctx: Context) -> tuple[Archive, User]:
    found = find_store(ctx.sim.tenant, request.path_params["mbx"])
    if found is None:
        raise GraphError(404, "ErrorInvalidMailbox", f"The mailbox '{request.path_params['mbx']}' was not found.")
    return found


def _folder(store: User, request: Request) -> Folder:
    folder = folder_by_box_id(store, request.path_params["folder"])
    if folder is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified folder could not be found in the store.")
    return folder


def _moved(request: Request, ctx: Context, archive: Archive, store: User, folder: Folder) -> Response | None:
    """308 to the same request at the store holding the folder's content, when that is not the store asked."""
    holder = archive.holder(folder.id)
    if holder is store:
        return None
    location = f"{ctx.sim.base_url}{ADMIN}/{holder.id}/" + request.url.path.split("/", 6)[6]
    if request.url.query:
        location += f"?{request.url.query}"
    return Response(status_code=308, headers={"Location": location})


def _folders(request: Request, ctx: Context, archive: Archive, store: User, parent: Folder) -> Response:
    assert store.mailbox is not None
    base = ctx.sim.base_url
    value = [folder_json(base, archive, store, f) for f in store.mailbox.folders.values() if f.parent_id == parent.id]
    return JSONResponse({"@odata.context": f"{base}/beta/$metadata#Collection(microsoft.graph.mailboxFolder)",
                         "value": value})  # fmt: skip


async def list_folders(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    assert store.mailbox is not None
    return _folders(request, ctx, archive, store, store.mailbox.root())


async def list_child_folders(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    return _folders(request, ctx, archive, store, _folder(store, request))


async def get_folder(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    folder = _folder(store, request)
    return _moved(request, ctx, archive, store, folder) or JSONResponse(
        folder_json(ctx.sim.base_url, archive, store, folder)
    )


async def list_items(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    folder = _folder(store, request)
    moved = _moved(request, ctx, archive, store, folder)
    if moved is not None:
        return moved
    assert store.mailbox is not None
    top = int_param(request, "$top", 100, 1, 1000)
    skip = int_param(request, "$skip", 0, 0, 10**9)
    ids = list(store.mailbox.folders[folder.id].message_ids)
    page = [item_json(store.mailbox.messages[i], expanded(request)) for i in ids[skip : skip + top]]
    body: dict[str, Any] = {"@odata.context": f"{ctx.sim.base_url}/beta/$metadata#Collection(microsoft.graph."
                            "mailboxItem)", "value": page}  # fmt: skip
    if skip + top < len(ids):
        params = {k: v for k, v in request.query_params.items() if k.lower() not in ("$skip", "skip")}
        body["@odata.nextLink"] = link(request, request.url.path, {**params, "$skip": skip + top})
    return JSONResponse(body)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError(400, "ErrorInvalidRequest", "The request body must be a JSON object.")
    return body


async def export_items(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    ids = (await _json_body(request)).get("itemIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise GraphError(400, "ErrorInvalidRequest", "itemIds must be a non-empty collection of item ids.")
    if len(ids) > MAX_EXPORT_ITEMS:
        raise GraphError(400, "ErrorInvalidRequest", f"The maximum size of itemIds is {MAX_EXPORT_ITEMS}.")
    value = []
    for item_id in ids:
        message = message_by_box_id(store, item_id)
        other = next((s for s in (archive.main, archive.auxiliary) if s is not None and s is not store
                      and message_by_box_id(s, item_id) is not None), None)  # fmt: skip
        if message is None and other is not None:
            url = f"{ctx.sim.base_url}{ADMIN}/{other.id}/exportItems"
            value.append({"itemId": item_id, "error": {"code": "ErrorArchiveFolderMovedPermanently", "message": url}})
        elif message is None:
            value.append({"itemId": item_id, "error": {"code": "ErrorItemNotFound", "message": "Item not found."}})
        elif message.id in archive.export_failures:
            value.append({"itemId": item_id, "error": {"code": "ErrorCorruptData", "message": "The item could not "
                                                       "be exported."}})  # fmt: skip
        else:
            value.append({"itemId": item_id, "changeKey": message.change_key, "data": export_stream(message)})
    return JSONResponse({"@odata.context": f"{ctx.sim.base_url}/beta/$metadata#Collection(microsoft.graph."
                         "exportItemResponse)", "value": value})  # fmt: skip


async def create_import_session(request: Request, ctx: Context) -> Response:
    archive, store = _store(request, ctx)
    token = secrets.token_urlsafe(24)
    expires = time.time() + SESSION_SECONDS
    archive.import_sessions[token] = (store.id, expires)
    url = f"{ctx.sim.base_url}/_outlook/api/gbeta/Mailboxes('{store.id}')/importItem?authtoken={token}"
    return JSONResponse({"@odata.context": f"{ctx.sim.base_url}/beta/$metadata#microsoft.graph."
                         "mailboxItemImportSession", "importUrl": url,
                         "expirationDateTime": iso(dt.datetime.fromtimestamp(expires, dt.UTC))})  # fmt: skip


async def import_item(request: Request) -> Response:
    """POST to an importUrl: pre-authenticated (a bearer token sent here is counted as a leak)."""
    sim: Simulator = request.app.state.sim
    sim.count("mailbox_import")
    sim.stats.writes += 1
    found = find_store(sim.tenant, request.path_params["mbx"])
    session = found[0].import_sessions.get(request.query_params.get("authtoken", "")) if found else None
    if found is None or session is None or session[0] != found[1].id or session[1] < time.time():
        return graph_error(request, 401, "InvalidAuthenticationToken", "The import session is unknown or expired.")
    if "authorization" in request.headers:
        sim.stats.by_kind["mailbox_import_with_authorization"] += 1
    archive, store = found
    try:
        response = await _import(request, sim, archive, store)
    except GraphError as exc:
        response = graph_error(request, exc.status, exc.code, exc.message, exc.headers)
    sim.stats.by_status[response.status_code] += 1
    if sim.faults.take_reset(archive.owner, request.method) is not None:  # the reset_response fault, as a user's
        sim.stats.resets += 1
        return _reset_after_headers(response)
    return response


async def _import(request: Request, sim: Simulator, archive: Archive, store: User) -> Response:
    body = await _json_body(request)
    mode = body.get("Mode")
    if mode not in ("create", "update") or not isinstance(body.get("FolderId"), str):
        raise GraphError(400, "ErrorInvalidRequest", "FolderId and Mode ('create' or 'update') are required.")
    keyed = body.get("ItemId") is not None or body.get("ChangeKey") is not None
    if mode == "create" and keyed:
        raise GraphError(400, "ErrorInvalidRequest", "ItemId and ChangeKey are not allowed in create mode.")
    main = archive.main
    folder = folder_by_box_id(main, body["FolderId"]) or folder_by_box_id(store, body["FolderId"])
    if folder is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified folder could not be found in the store.")
    holder = archive.holder(folder.id)
    if holder is not store:
        return JSONResponse({"Message": f"Invalid import session. The target session is expected in mailbox "
                             f"{holder.id}."}, status_code=409)  # fmt: skip
    state = read_stream(body.get("Data"))
    assert store.mailbox is not None
    if mode == "update":
        old = message_by_box_id(store, str(body.get("ItemId") or ""))
        if old is None or old.change_key != body.get("ChangeKey") or old.folder_id != folder.id:
            raise GraphError(400, "ErrorInvalidRequest", "ItemId and ChangeKey match no item in the folder.")
        store.mailbox.delete(old)
    message = new_message(Context(sim, store), state["mime"], store.mailbox.folders[folder.id], draft=False)
    message.is_read, message.flag = bool(state["isRead"]), dict(state["flag"])
    message.categories, message.importance = [str(c) for c in state["categories"]], str(state["importance"])
    message.sent, message.received, message.created = state["sent"], state["received"], state["created"]
    return JSONResponse({"@odata.context": f"{sim.base_url}/_outlook/api/gbeta/$metadata#microsoft.graph."
                         "importMailboxItemResponse", "itemId": box_id("item", message.id),
                         "changeKey": message.change_key})  # fmt: skip


def mailbox_import_routes() -> list[Route]:
    m = f"{ADMIN}/{{mbx}}"
    route = graph_route
    return [
        Route(f"{m}/folders", route("mailbox_folders", mail=False)(list_folders)),
        Route(f"{m}/folders/{{folder}}/childFolders", route("mailbox_folders", mail=False)(list_child_folders)),
        Route(f"{m}/folders/{{folder}}/items", route("mailbox_items", mail=False)(list_items)),
        Route(f"{m}/folders/{{folder}}", route("mailbox_folders", mail=False)(get_folder)),
        Route(f"{m}/exportItems", route("mailbox_export", mail=False)(export_items), methods=["POST"]),
        Route(
            f"{m}/createImportSession",
            route("mailbox_import_session", mail=False)(create_import_session),
            methods=["POST"],
        ),
        Route("/_outlook/api/gbeta/Mailboxes('{mbx}')/importItem", import_item, methods=["POST"]),
    ]
