"""The /_sim control API (not Graph; no auth): change the tenant, inject faults, read stats and state."""

from __future__ import annotations

import base64
import datetime as dt
import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.app import Context, Simulator
from graphsim.errors import GraphError, json_object
from graphsim.limits import LINK_STYLES, parse_rate_limit
from graphsim.mail_create import new_message
from graphsim.mailstore import Mailbox, Message, User
from graphsim.mime import MessageSpec, MimeError, render_mime, rewrite_mime
from graphsim.routes_graph import create_folder
from graphsim.seed import _attachment


def _sim(request: Request) -> Simulator:
    return request.app.state.sim


async def _json(request: Request) -> dict[str, Any]:
    return await json_object(request, "BadRequest")


def _user(sim: Simulator, ref: str) -> tuple[User, Mailbox]:
    user = sim.tenant.resolve_user(ref)
    if user is None or user.mailbox is None:
        raise GraphError(404, "NotFound", f"no mailbox user {ref!r}")
    return user, user.mailbox


def _message(mailbox: Mailbox, mid: str) -> Message:
    message = mailbox.messages.get(mid)
    if message is None:
        raise GraphError(404, "NotFound", f"no message {mid!r}")
    return message


def control(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except GraphError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, status_code=400)

    endpoint.__name__ = handler.__name__
    return endpoint


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


@control
async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


@control
async def state(request: Request) -> Response:
    from graphsim.routes_pim_control import pim_state

    sim = _sim(request)
    users = []
    for user in sim.tenant.users.values():
        entry: dict[str, Any] = {"id": user.id, "userPrincipalName": user.user_principal_name, "mail": user.mail,
                                 "displayName": user.display_name, "has_mailbox": user.mailbox is not None}  # fmt: skip
        if user.mailbox is not None:
            mb = user.mailbox
            entry["folders"] = [
                {"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id, "path": mb.folder_path(f),
                 "wellKnownName": f.well_known, "isHidden": f.is_hidden, "totalItemCount": len(f.message_ids)}
                for f in mb.folders.values()
            ]  # fmt: skip
            entry["messages"] = [message_summary(mb, m) for m in mb.messages.values()]
            entry.update(pim_state(sim, user))  # contact_folders, contacts, calendars, events
        users.append(entry)
    from graphsim.routes_drives_control import drives_state

    return JSONResponse({"tenant_id": sim.tenant_id, "seed": sim.seed, "users": users, **drives_state(sim)})


@control
async def list_messages(request: Request) -> Response:
    _, mailbox = _user(_sim(request), request.path_params["user"])
    folder_ref = request.query_params.get("folder")
    folder = mailbox.resolve_folder(folder_ref) if folder_ref else None
    if folder_ref and folder is None:
        raise GraphError(404, "NotFound", f"no folder {folder_ref!r}")
    messages = [m for m in mailbox.messages.values() if folder is None or m.folder_id == folder.id]
    return JSONResponse({"value": [message_summary(mailbox, m) for m in messages]})


@control
async def message_mime(request: Request) -> Response:
    _, mailbox = _user(_sim(request), request.path_params["user"])
    return Response(_message(mailbox, request.path_params["message"]).mime, media_type="message/rfc822")


@control
async def add_message(request: Request) -> Response:
    sim = _sim(request)
    user, mailbox = _user(sim, request.path_params["user"])
    body = await _json(request)
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
    _, mailbox = _user(_sim(request), request.path_params["user"])
    message = _message(mailbox, request.path_params["message"])
    body = await _json(request)
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
    _, mailbox = _user(_sim(request), request.path_params["user"])
    message = _message(mailbox, request.path_params["message"])
    body = await _json(request)
    destination = mailbox.resolve_folder(str(body.get("destination", "")))
    if destination is None:
        raise GraphError(404, "NotFound", f"no folder {body.get('destination')!r}")
    mailbox.move(message, destination, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(message_summary(mailbox, message))


@control
async def delete_message(request: Request) -> Response:
    _, mailbox = _user(_sim(request), request.path_params["user"])
    mailbox.delete(_message(mailbox, request.path_params["message"]))
    return Response(status_code=204)


@control
async def add_folder(request: Request) -> Response:
    sim = _sim(request)
    user, mailbox = _user(sim, request.path_params["user"])
    body = await _json(request)
    parent = mailbox.resolve_folder(str(body.get("parent", "msgfolderroot")))
    if parent is None:
        raise GraphError(404, "NotFound", f"no folder {body.get('parent')!r}")
    folder = create_folder(mailbox, sim.seed, user.id, parent, str(body["displayName"]), bool(body.get("isHidden")))
    return JSONResponse({**mailbox.folder_json(folder), "path": mailbox.folder_path(folder)}, status_code=201)


@control
async def expire_delta_tokens(request: Request) -> Response:
    sim = _sim(request)
    body = await _json(request)
    if body.get("user"):
        sim.delta.expire(_user(sim, str(body["user"]))[1])
    else:
        sim.delta.expire(None)
    return JSONResponse({"expired": body.get("user") or "all"})


@control
async def expire_access_tokens(request: Request) -> Response:
    _sim(request).issuer.revoke_all()
    return JSONResponse({"expired": "all"})


@control
async def faults(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        body = await _json(request)
        specs = body.get("faults") if "faults" in body else [body]
        added = [sim.faults.add(spec).to_json() for spec in specs]
        return JSONResponse({"added": added, "active": [f.to_json() for f in sim.faults.active]}, status_code=201)
    if request.method == "DELETE":
        sim.faults.clear()
    return JSONResponse({"active": [f.to_json() for f in sim.faults.active]})


@control
async def config(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        body = await _json(request)
        if "latency_ms" in body:
            sim.config.latency_ms = float(body["latency_ms"])
        if "mailbox_concurrency" in body:
            sim.config.mailbox_concurrency = int(body["mailbox_concurrency"])
        if "rate_limit" in body:
            sim.config.rate_limit = parse_rate_limit(body["rate_limit"])
            sim.limiter.reset_windows()
        if "token_lifetime" in body:
            sim.config.token_lifetime = int(body["token_lifetime"])
        if "link_style" in body:
            if body["link_style"] not in LINK_STYLES:
                raise ValueError(f"link_style must be one of {LINK_STYLES}")
            sim.config.link_style = str(body["link_style"])
    return JSONResponse(sim.config.to_json())


@control
async def stats(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        sim.stats = type(sim.stats)()
        sim.files.stats = type(sim.files.stats)()
    return JSONResponse({**sim.stats.to_json(dict(sim.limiter.in_flight)), "drives": sim.files.stats.to_json()})


# Outlook names the well-known folders in the mailbox's language (their well-known names stay the same): German.
GERMAN = {"inbox": "Posteingang", "sentitems": "Gesendete Elemente", "deleteditems": "Gelöschte Elemente",
          "drafts": "Entwürfe", "junkemail": "Junk-E-Mail", "archive": "Archiv"}  # fmt: skip


@control
async def localize_mailbox(request: Request) -> Response:
    """Rename the mailbox's well-known folders as a mailbox in another language shows them (default German)."""
    _, mailbox = _user(_sim(request), request.path_params["user"])
    body = await _json(request)
    names = body.get("names") or GERMAN
    for well_known, display_name in names.items():
        folder = mailbox.resolve_folder(str(well_known))
        if folder is not None:
            folder.display_name = str(display_name)
    return JSONResponse({"folders": {k: mailbox.folders[v].display_name for k, v in mailbox.well_known.items()}})


def control_routes() -> list[Route]:
    m = "/_sim/users/{user}/messages/{message}"
    return [
        Route("/_sim/health", health),
        Route("/_sim/state", state),
        Route("/_sim/stats", stats),
        Route("/_sim/stats/reset", stats, methods=["POST"]),
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/expire-delta-tokens", expire_delta_tokens, methods=["POST"]),
        Route("/_sim/expire-access-tokens", expire_access_tokens, methods=["POST"]),
        Route("/_sim/users/{user}/folders", add_folder, methods=["POST"]),
        Route("/_sim/users/{user}/localize", localize_mailbox, methods=["POST"]),
        Route("/_sim/users/{user}/messages", list_messages),
        Route("/_sim/users/{user}/messages", add_message, methods=["POST"]),
        Route(f"{m}/mime", message_mime),
        Route(f"{m}/move", move_message, methods=["POST"]),
        Route(m, update_message, methods=["PATCH"]),
        Route(m, delete_message, methods=["DELETE"]),
    ]
