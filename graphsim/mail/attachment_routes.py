"""Graph v1.0 message attachments, as documented:

- "List attachments" / "Get attachment": fileAttachment (name, contentType, size, isInline, contentId, contentBytes)
  and itemAttachment (the attached message with `$expand=microsoft.graph.itemattachment/item`), read from the
  message's MIME (graphsim.mail.message_mime.parse).
- "Add attachment" (learn.microsoft.com/graph/api/message-post-attachments): a file under 3 MB in one POST with
  contentBytes, or an item attachment (`item` = a message); bigger files through "attachment: createUploadSession"
  (learn.microsoft.com/graph/api/attachment-createuploadsession): PUT byte ranges of at most 4 MB, in order, to the
  pre-authenticated uploadUrl (no bearer token); each answers 200 with nextExpectedRanges, the last 201 with a
  Location and no body; files up to 150 MB.
Adding an attachment changes the message (new changeKey, lastModifiedDateTime) and its MIME."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError, graph_error, json_object
from graphsim.ids import iso, opaque_id
from graphsim.mail.attachment_json import attachment_of
from graphsim.mail.message_mime import SimAttachment, envelope_of, parse, with_attachment
from graphsim.mail.store import Mailbox, Message
from graphsim.odata import context
from graphsim.outlook_uploads import refuse_fragment
from graphsim.simulator import Context, Simulator, graph_route

MAX_UPLOAD = 150 * 1024 * 1024
NOT_FOUND = "The specified object was not found in the store."


@dataclass
class MailUpload:
    token: str
    user_id: str
    message_id: str
    attachment: SimAttachment
    size: int
    expires: float
    data: bytearray = field(default_factory=bytearray)


def _message(ctx: Context, request: Request) -> tuple[Mailbox, Message]:
    assert ctx.user is not None and ctx.user.mailbox is not None
    mailbox = ctx.user.mailbox
    message = mailbox.messages.get(request.path_params["message"])
    if message is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return mailbox, message


def _att_id(message: Message, index: int, att: SimAttachment) -> str:
    return opaque_id("AAMkA", message.id, "att", index, att.name, len(att.data))


def attachment_json(message: Message, index: int, att: SimAttachment, expand_item: bool) -> dict[str, Any]:
    common = {"id": _att_id(message, index, att), "lastModifiedDateTime": iso(message.modified), "name": att.name,
              "size": len(att.data) + 200, "isInline": att.is_inline}  # fmt: skip
    if att.kind == "item":
        out = {"@odata.type": "#microsoft.graph.itemAttachment", **common, "contentType": None}
        if expand_item:
            msg, body, _ = parse(att.data)
            env = envelope_of(msg)
            out["item"] = {
                "@odata.type": "#microsoft.graph.message", "subject": env.subject,
                "sentDateTime": iso(env.sent), "internetMessageId": env.internet_message_id or None,
                "from": {"emailAddress": {"name": env.sender[0], "address": env.sender[1]}} if env.sender else None,
                "body": {"contentType": "html" if body is not None and body.get_content_subtype() == "html" else "text",
                         "content": body.get_content() if body is not None else ""},
            }  # fmt: skip
        return out
    return {"@odata.type": "#microsoft.graph.fileAttachment", "@odata.mediaContentType": att.content_type, **common,
            "contentType": att.content_type, "contentId": att.content_id or None, "contentLocation": None,
            "contentBytes": base64.b64encode(att.data).decode("ascii")}  # fmt: skip


def _expand_item(request: Request) -> bool:
    return "itemattachment/item" in (request.query_params.get("$expand") or "").lower()


@graph_route("attachments")
async def list_attachments(request: Request, ctx: Context) -> Response:
    _, message = _message(ctx, request)
    items = [attachment_json(message, i, a, _expand_item(request)) for i, a in enumerate(parse(message.mime)[2])]
    return JSONResponse({"@odata.context": context(request, "Collection(attachment)"), "value": items})


@graph_route("attachments")
async def get_attachment(request: Request, ctx: Context) -> Response:
    _, message = _message(ctx, request)
    for i, att in enumerate(parse(message.mime)[2]):
        if _att_id(message, i, att) == request.path_params["attachment"]:
            return JSONResponse({"@odata.context": context(request, "attachments/$entity"),
                                 **attachment_json(message, i, att, _expand_item(request))})  # fmt: skip
    raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)


def add(mailbox: Mailbox, message: Message, att: SimAttachment) -> dict[str, Any]:
    message.set_mime(with_attachment(message.mime, att))
    message.has_attachments = message.has_attachments or not att.is_inline
    mailbox.touch(message, dt.datetime.now(dt.UTC).replace(microsecond=0))
    attachments = parse(message.mime)[2]
    return attachment_json(message, len(attachments) - 1, attachments[-1], False)


@graph_route("pim_create")
async def post_attachment(request: Request, ctx: Context) -> Response:
    mailbox, message = _message(ctx, request)
    att = attachment_of(await json_object(request, "RequestBodyRead", empty_ok=False))
    return JSONResponse({"@odata.context": context(request, "attachments/$entity"), **add(mailbox, message, att)},
                        status_code=201)  # fmt: skip


@graph_route("attachment_session")
async def create_upload_session(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    _, message = _message(ctx, request)
    body = await json_object(request, "RequestBodyRead", empty_ok=False)
    item = body.get("AttachmentItem") or body.get("attachmentItem")
    if not isinstance(item, dict) or str(item.get("attachmentType", "file")).lower() != "file":
        raise GraphError(400, "ErrorInvalidRequest", "AttachmentItem with attachmentType 'file' is required.")
    size = item.get("size")
    if not isinstance(size, int) or not 0 < size <= MAX_UPLOAD:
        raise GraphError(400, "ErrorInvalidRequest", "AttachmentItem.size must be between 1 byte and 150 MB.")
    att = SimAttachment("file", str(item.get("name") or "attachment"),
                        str(item.get("contentType") or "application/octet-stream"), b"",
                        bool(item.get("isInline", False)), str(item.get("contentId") or ""))  # fmt: skip
    upload = MailUpload(secrets.token_urlsafe(24), ctx.user.id, message.id, att, size, time.time() + 3600)
    ctx.sim.mail_uploads[upload.token] = upload
    url = (f"{ctx.sim.base_url}/_outlook/api/v2.0/Users('{ctx.user.id}@{ctx.sim.tenant_id}')/Messages('{message.id}')"
           f"/AttachmentSessions('{upload.token}')?authtoken={upload.token}")  # fmt: skip
    expires = iso(dt.datetime.fromtimestamp(upload.expires, dt.UTC))
    return JSONResponse({"@odata.context": f"{ctx.sim.base_url}/v1.0/$metadata#microsoft.graph.uploadSession",
                         "uploadUrl": url, "expirationDateTime": expires, "nextExpectedRanges": ["0-"]},
                        status_code=201)  # fmt: skip


async def upload_fragment(request: Request) -> Response:
    """PUT to the uploadUrl: pre-authenticated (a bearer token sent here is counted as a leak), ranges in order."""
    sim: Simulator = request.app.state.sim
    sim.count("attachment_upload")
    token = request.query_params.get("authtoken", "")
    upload: MailUpload | None = sim.mail_uploads.get(token)
    if upload is None or upload.token != request.path_params["session"]:
        return graph_error(request, 404, "ErrorItemNotFound", "The upload session was not found or has expired.")
    if "authorization" in request.headers:
        sim.stats.by_kind["attachment_upload_with_authorization"] += 1
    data = await request.body()
    refused = refuse_fragment(request, data, upload.size, len(upload.data))
    if refused is not None:
        return refused
    upload.data += data
    if len(upload.data) < upload.size:
        expires = iso(dt.datetime.fromtimestamp(upload.expires, dt.UTC))
        return JSONResponse({"expirationDateTime": expires, "nextExpectedRanges": [f"{len(upload.data)}"]})
    sim.mail_uploads.pop(token, None)
    user = sim.tenant.users.get(upload.user_id)
    mailbox = user.mailbox if user else None
    message = mailbox.messages.get(upload.message_id) if mailbox else None
    if mailbox is None or message is None:
        return graph_error(request, 404, "ErrorItemNotFound", NOT_FOUND)
    upload.attachment.data = bytes(upload.data)
    added = add(mailbox, message, upload.attachment)
    location = (f"{sim.base_url}/_outlook/api/v2.0/Users('{upload.user_id}@{sim.tenant_id}')/Messages('{message.id}')"
                f"/Attachments('{added['id']}')")  # fmt: skip
    return Response(status_code=201, headers={"Location": location})


def mail_attachment_routes() -> list[BaseRoute]:
    session = "/_outlook/api/v2.0/Users('{owner}')/Messages('{message}')/AttachmentSessions('{session}')"
    routes: list[BaseRoute] = [Route(session, upload_fragment, methods=["PUT"])]
    bases = ["/v1.0/users/{user}/messages/{message}"]
    bases += [f"/v1.0/users/{{user}}/{mf}/{{folder}}/messages/{{message}}" for mf in ("mailFolders", "mailfolders")]
    for base in bases:
        a = f"{base}/attachments"
        routes += [
            Route(f"{a}/createUploadSession", create_upload_session, methods=["POST"]),
            Route(f"{a}/microsoft.graph.createUploadSession", create_upload_session, methods=["POST"]),
            Route(a, list_attachments),
            Route(a, post_attachment, methods=["POST"]),
            Route(f"{a}/{{attachment}}", get_attachment),
        ]
    return routes
