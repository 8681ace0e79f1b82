"""/_sim control API for mail (not Graph; no auth): add, change, move and delete messages, add and localize folders,
expire delta tokens, and the per-user mail part of /_sim/state."""

from __future__ import annotations

import base64
import datetime as dt
import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.control_api import control, control_body, mailbox_user, sim_of
from graphsim.errors import GraphError
from graphsim.mail.create import new_message
from graphsim.mail.mime import MessageSpec, MimeError, render_mime, rewrite_mime
from graphsim.mail.routes import create_folder
from graphsim.mail.seed import _attachment
from graphsim.mail.store import Mailbox, Message
from graphsim.simulator import Context
from graphsim.tenant import User


def _message(mailbox: Mailbox, mid: str) -> Message:
    message = mailbox.messages.get(mid)
    if message is None:
        raise GraphError(404, "NotFound", f"no message {mid!r}")
    return message


def message_summary(mailbox: Mailbox, message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "folder_id": message.folder_id,
        "folder_path": mailbox.folder_path(mailbox.folders[message.folder_id]),
        "sha256": message.sha256,
        "size": len(message.mime),
        "subject": message.subject,
        "internetMessageId": message.internet_message_id,
        "changeKey": message.change_key,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
    }


def mail_state(user: User) -> dict[str, Any]:
    """folders and messages of one mailbox user for /_sim/state."""
    mb = user.mailbox
    assert mb is not None
    return {
        "folders": [
            {"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id, "path": mb.folder_path(f),
             "wellKnownName": f.well_known, "isHidden": f.is_hidden, "totalItemCount": len(f.message_ids)}
            for f in mb.folders.values()
        ],
        "messages": [message_summary(mb, m) for m in mb.messages.values()],
    }  # fmt: skip


@control
async def list_messages(request: Request) -> Response:
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    folder_ref = request.query_params.get("folder")
    folder = mailbox.resolve_folder(folder_ref) if folder_ref else None
    if folder_ref and folder is None:
        raise GraphError(404, "NotFound", f"no folder {folder_ref!r}")
    messages = [m for m in mailbox.messages.values() if folder is None or m.folder_id == folder.id]
    return JSONResponse({"value": [message_summary(mailbox, m) for m in messages]})


@control
async def message_mime(request: Request) -> Response:
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    return Response(_message(mailbox, request.path_params["message"]).mime, media_type="message/rfc822")


@control
async def add_message(request: Request) -> Response:
    sim = sim_of(request)
    user, mailbox = mailbox_user(sim, request.path_params["user"])
    body = await control_body(request)
    folder = mailbox.resolve_folder(str(body.get("folder", "inbox")))
    if folder is None:
        raise GraphError(404, "NotFound", f"no folder {body.get('folder')!r}")
    if body.get("mime_base64"):
        mime = base64.b64decode(body["mime_base64"])
    else:
        sim.tenant.added_counter += 1
        n = sim.tenant.added_counter
        rng = random.Random(f"added:{sim.seed}:{user.id}:{n}")
        count, size = int(body.get("attachments", 0)), int(body.get("attachment_size", 4096))
        sender = body.get("from") or ["Dana Swope", "danas@fabrikam.example"]
        to = body.get("to") or [[user.display_name, user.mail or ""]]
        spec = MessageSpec(
            internet_message_id=f"<added.{sim.seed}.{n}.{rng.getrandbits(32):08x}@mail.example>",
            date=dt.datetime.now(dt.UTC).replace(microsecond=0), sender=(sender[0], sender[1]),
            to=[(t[0], t[1]) for t in to], subject=str(body.get("subject", f"Added message {n}")),
            body=str(body.get("body", "Hello,\n\nThis message was added by the test.\n")),
            boundary_seed=f"{rng.getrandbits(64):016x}", attachments=[_attachment(rng, size, i) for i in range(count)],
        )  # fmt: skip
        mime = render_mime(spec)
    try:
        message = new_message(Context(sim, user), mime, folder, draft=False)
    except MimeError as exc:
        raise GraphError(400, "BadRequest", str(exc)) from None
    message.is_read = bool(body.get("isRead", False))
    message.received = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return JSONResponse(message_summary(mailbox, message), status_code=201)


@control
async def update_message(request: Request) -> Response:
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    message = _message(mailbox, request.path_params["message"])
    body = await control_body(request)
    if "subject" in body or "body" in body:
        message.set_mime(rewrite_mime(message.mime, body.get("subject"), body.get("body")))
        message.subject = str(body.get("subject", message.subject))
        message.body = str(body.get("body", message.body))
    if "isRead" in body:
        message.is_read = bool(body["isRead"])
    if "categories" in body:
        message.categories = [str(c) for c in body["categories"]]
    if "flag" in body:
        message.flag = {"flagStatus": str(body["flag"])} if isinstance(body["flag"], str) else dict(body["flag"])
    if "importance" in body:
        message.importance = str(body["importance"])
    mailbox.touch(message, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(message_summary(mailbox, message))


@control
async def move_message(request: Request) -> Response:
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    message = _message(mailbox, request.path_params["message"])
    body = await control_body(request)
    destination = mailbox.resolve_folder(str(body.get("destination", "")))
    if destination is None:
        raise GraphError(404, "NotFound", f"no folder {body.get('destination')!r}")
    mailbox.move(message, destination, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(message_summary(mailbox, message))


@control
async def delete_message(request: Request) -> Response:
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    mailbox.delete(_message(mailbox, request.path_params["message"]))
    return Response(status_code=204)


@control
async def add_folder(request: Request) -> Response:
    sim = sim_of(request)
    user, mailbox = mailbox_user(sim, request.path_params["user"])
    body = await control_body(request)
    parent = mailbox.resolve_folder(str(body.get("parent", "msgfolderroot")))
    if parent is None:
        raise GraphError(404, "NotFound", f"no folder {body.get('parent')!r}")
    folder = create_folder(mailbox, sim.seed, user.id, parent, str(body["displayName"]), bool(body.get("isHidden")))
    return JSONResponse({**mailbox.folder_json(folder), "path": mailbox.folder_path(folder)}, status_code=201)


@control
async def change_folder(request: Request) -> Response:
    """A folder renamed ("displayName") and/or moved below another ("parent": an id or well-known name)."""
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    folder = mailbox.resolve_folder(request.path_params["folder"])
    body = await control_body(request)
    if folder is None or folder.parent_id is None:
        raise GraphError(404, "NotFound", f"no folder {request.path_params['folder']!r}")
    if body.get("parent"):
        parent = mailbox.resolve_folder(str(body["parent"]))
        if parent is None:
            raise GraphError(404, "NotFound", f"no folder {body['parent']!r}")
        mailbox.move_folder(folder, parent)
    if body.get("displayName"):
        mailbox.rename_folder(folder, str(body["displayName"]))
    return JSONResponse({**mailbox.folder_json(folder), "path": mailbox.folder_path(folder)})


@control
async def delete_folder(request: Request) -> Response:
    """A folder hard-deleted with its child folders and their messages."""
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    folder = mailbox.resolve_folder(request.path_params["folder"])
    if folder is None or folder.parent_id is None:
        raise GraphError(404, "NotFound", f"no folder {request.path_params['folder']!r}")
    mailbox.delete_folder(folder)
    return Response(status_code=204)


@control
async def expire_delta_tokens(request: Request) -> Response:
    sim = sim_of(request)
    body = await control_body(request)
    if body.get("user"):
        sim.delta.expire(mailbox_user(sim, str(body["user"]))[1])
    else:
        sim.delta.expire(None)
    return JSONResponse({"expired": body.get("user") or "all"})


# Outlook names the well-known folders in the mailbox's language (their well-known names stay the same): German.
GERMAN = {"inbox": "Posteingang", "sentitems": "Gesendete Elemente", "deleteditems": "Gelöschte Elemente",
          "drafts": "Entwürfe", "junkemail": "Junk-E-Mail", "archive": "Archiv"}  # fmt: skip


@control
async def localize_mailbox(request: Request) -> Response:
    """Rename the mailbox's well-known folders as a mailbox in another language shows them (default German)."""
    _, mailbox = mailbox_user(sim_of(request), request.path_params["user"])
    body = await control_body(request)
    names = body.get("names") or GERMAN
    for well_known, display_name in names.items():
        folder = mailbox.resolve_folder(str(well_known))
        if folder is not None:
            mailbox.rename_folder(folder, str(display_name))
    return JSONResponse({"folders": {k: mailbox.folders[v].display_name for k, v in mailbox.well_known.items()}})


def mail_control_routes() -> list[Route]:
    m = "/_sim/users/{user}/messages/{message}"
    return [
        Route("/_sim/expire-delta-tokens", expire_delta_tokens, methods=["POST"]),
        Route("/_sim/users/{user}/folders", add_folder, methods=["POST"]),
        Route("/_sim/users/{user}/folders/{folder}", change_folder, methods=["PATCH"]),
        Route("/_sim/users/{user}/folders/{folder}", delete_folder, methods=["DELETE"]),
        Route("/_sim/users/{user}/localize", localize_mailbox, methods=["POST"]),
        Route("/_sim/users/{user}/messages", list_messages),
        Route("/_sim/users/{user}/messages", add_message, methods=["POST"]),
        Route(f"{m}/mime", message_mime),
        Route(f"{m}/move", move_message, methods=["POST"]),
        Route(m, update_message, methods=["PATCH"]),
        Route(m, delete_message, methods=["DELETE"]),
    ]
