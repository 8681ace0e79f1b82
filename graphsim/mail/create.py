"""Creating messages, as the Graph "Create message" reference documents it
(learn.microsoft.com/graph/api/user-post-messages, .../mailfolder-post-messages):

- From MIME (`Content-Type: text/plain`, base64 body): the message is a **draft** (`isDraft: true`) and its
  `receivedDateTime` is the time of the request; PATCH cannot clear the draft state.
- From JSON: a draft too, unless the create sets PR_MESSAGE_FLAGS (`Integer 0x0E07`) without MSGFLAG_UNSENT (0x8)
  through `singleValueExtendedProperties` at creation (the documented way to create a non-draft item; the same page
  set PR_MESSAGE_DELIVERY_TIME `SystemTime 0x0E06` = receivedDateTime and PR_CLIENT_SUBMIT_TIME `SystemTime 0x0039`
  = sentDateTime). PR_IN_REPLY_TO_ID `String 0x1042` and PR_INTERNET_REFERENCES `String 0x1039` become the
  In-Reply-To and References headers. The writable properties (subject, body, from, sender, to/cc/bcc, replyTo,
  internetMessageId, importance, isRead, flag, categories) are taken as given; createdDateTime is always now.
  Its `$value` is then rendered from those properties (graphsim.mail.message_mime). "When using JSON format, you
  can include an attachment to the message": `attachments` holds fileAttachments (under 3 MB each, as "Add
  attachment" takes them) and itemAttachments, created with the message in the same request
  (graphsim.mail.attachment_json); hasAttachments is whether any of them is not inline.
- A request body over Graph's 4 MB limit is refused with 413 (checked in graphsim.simulator for every Outlook route)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graphsim import extended_properties as ext
from graphsim.errors import GraphError
from graphsim.ids import opaque_id
from graphsim.mail.attachment_json import addresses, attachment_of, one_address
from graphsim.mail.message_mime import Envelope, envelope_of, parse, render
from graphsim.mail.mime import MimeError, parse_mime
from graphsim.mail.store import Folder, Mailbox, Message
from graphsim.odata import context
from graphsim.simulator import Context, graph_route
from graphsim.tenant import User

MESSAGE_FLAGS = "Integer 0x0E07"
DELIVERY_TIME = "SystemTime 0x0E06"
SUBMIT_TIME = "SystemTime 0x0039"
IN_REPLY_TO = "String 0x1042"
REFERENCES = "String 0x1039"
INTERNET_MESSAGE_ID = "String 0x1035"
MSGFLAG_READ, MSGFLAG_UNSENT = 0x1, 0x8


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _mailbox(ctx: Context) -> tuple[User, Mailbox]:
    assert ctx.user is not None and ctx.user.mailbox is not None
    return ctx.user, ctx.user.mailbox


def _lines(text: str) -> str:
    """A body as this simulator shows it in JSON: line ends as '\n' (seeded messages keep their text that way; MIME
    carries CRLF), so a body reads the same however the message came in."""
    return text.replace("\r\n", "\n")


def _new_id(ctx: Context, user: User) -> str:
    ctx.sim.tenant.added_counter += 1
    return opaque_id("AAMkA", ctx.sim.seed, user.id, "created", ctx.sim.tenant.added_counter)


def new_message(ctx: Context, mime: bytes, folder: Folder, draft: bool) -> Message:
    """Store MIME bytes unchanged as a new message, its properties parsed from the MIME (delivery, or a
    create from MIME when `draft`)."""
    user, mailbox = _mailbox(ctx)
    parsed = parse_mime(mime)  # MimeError on garbage
    msg, body_part, attachments = parse(mime)
    env = envelope_of(msg)
    now = _now()
    body = body_part.get_content() if body_part is not None else ""
    message = Message(
        id=_new_id(ctx, user), folder_id=folder.id, raw=mime, subject=env.subject, sender=env.sender, to=env.to,
        cc=env.cc, sent=parsed.date or now, received=now, created=now, modified=now,
        internet_message_id=env.internet_message_id, has_attachments=any(not a.is_inline for a in attachments),
        body=_lines(body if isinstance(body, str) else ""),
        body_type="html" if body_part is not None and body_part.get_content_subtype() == "html" else "text",
        importance=parsed.importance, is_read=True, is_draft=draft, sender_header=env.sender_header, bcc=env.bcc,
        reply_to=env.reply_to,
    )  # fmt: skip
    return mailbox.insert(message)


def _time(props: ext.Properties, pid: str) -> dt.datetime | None:
    raw = ext.value(props, pid)
    if raw is None:
        return None
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(400, "ErrorInvalidExtendedPropertyValue", f"{pid} is not a date and time: {raw!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def message_from_json(ctx: Context, body: dict[str, Any], folder: Folder) -> Message:
    user, mailbox = _mailbox(ctx)
    props = ext.parse(body)
    now = _now()
    flags_raw = ext.value(props, MESSAGE_FLAGS)
    try:
        flags = int(flags_raw) if flags_raw is not None else MSGFLAG_UNSENT
    except ValueError:
        raise GraphError(400, "ErrorInvalidExtendedPropertyValue", f"{MESSAGE_FLAGS} must be an integer.") from None
    content = body.get("body") if isinstance(body.get("body"), dict) else {}
    body_type = "html" if str(content.get("contentType", "text")).lower() == "html" else "text"
    sender = one_address(body.get("from")) or one_address(body.get("sender")) or (user.display_name, user.mail or "")
    on_behalf = one_address(body.get("sender"))
    importance = str(body.get("importance") or "normal").lower()
    env = Envelope(
        subject=str(body.get("subject") or ""), sender=sender,
        sender_header=on_behalf if on_behalf != sender else None, to=addresses(body.get("toRecipients")),
        cc=addresses(body.get("ccRecipients")), bcc=addresses(body.get("bccRecipients")),
        reply_to=addresses(body.get("replyTo")), sent=_time(props, SUBMIT_TIME) or now,
        internet_message_id=str(body.get("internetMessageId") or ext.value(props, INTERNET_MESSAGE_ID) or ""),
        in_reply_to=ext.value(props, IN_REPLY_TO) or "", references=ext.value(props, REFERENCES) or "",
        importance=importance if importance in ("low", "normal", "high") else "normal",
    )  # fmt: skip
    given = body.get("attachments")
    if given is not None and not isinstance(given, list):
        raise GraphError(400, "ErrorInvalidRequest", "attachments must be a list of attachments.")
    attachments = [attachment_of(a) for a in given or []]  # file or item attachments, each as "Add attachment" takes it
    raw = render(env, str(content.get("content") or ""), body_type, attachments)
    # The body is shown as the stored MIME carries it (a text part ends with a line break), as for a delivered
    # message: a message created from its own MIME body reads the same as the one it came from.
    _, body_part, _ = parse(raw)
    text = body_part.get_content() if body_part is not None else ""
    message = Message(
        id=_new_id(ctx, user), folder_id=folder.id, raw=raw, subject=env.subject,
        sender=env.sender, to=env.to, cc=env.cc, sent=env.sent, received=_time(props, DELIVERY_TIME) or now,
        created=now, modified=now, internet_message_id=env.internet_message_id,
        has_attachments=any(not a.is_inline for a in attachments),
        body=_lines(text), body_type=body_type, importance=env.importance,
        is_read=bool(body["isRead"]) if "isRead" in body else bool(flags & MSGFLAG_READ),
        is_draft=bool(flags & MSGFLAG_UNSENT), sender_header=env.sender_header, bcc=env.bcc, reply_to=env.reply_to,
        extended=props,
    )  # fmt: skip
    if isinstance(body.get("categories"), list):
        message.categories = [str(c) for c in body["categories"]]
    if isinstance(body.get("flag"), dict):
        message.flag = dict(body["flag"])
    return mailbox.insert(message)


@graph_route("create")
async def create_message(request: Request, ctx: Context) -> Response:
    user, mailbox = _mailbox(ctx)
    folder = mailbox.resolve_folder(request.path_params.get("folder", "drafts"))
    if folder is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            raise GraphError(400, "RequestBodyRead", "Invalid JSON in the request body.") from None
        message = message_from_json(ctx, body if isinstance(body, dict) else {}, folder)
    elif content_type == "text/plain":
        try:
            mime = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise GraphError(
                400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
            ) from None
        try:
            message = new_message(ctx, mime, folder, draft=True)
        except MimeError as exc:
            message_text = f"MIME content conversion failed. {exc}"
            raise GraphError(400, "ErrorMimeContentConversionFailed", message_text) from None
    else:
        raise GraphError(415, "UnsupportedMediaType", f"Content-Type '{content_type}' is not supported.")
    location = f"{ctx.sim.base_url}/v1.0/users/{user.id}/messages/{message.id}"
    return JSONResponse({"@odata.context": context(request, "messages/$entity"), **message.to_json()},
                        status_code=201, headers={"Location": location})  # fmt: skip
