"""An attachment as Graph's JSON carries it, turned into the simulator's `SimAttachment`: the body of "Add attachment"
(learn.microsoft.com/graph/api/message-post-attachments) and each entry of a JSON create's `attachments`
("Create message", learn.microsoft.com/graph/api/user-post-messages: "When using JSON format, you can include an
attachment to the message"). A fileAttachment carries its bytes in base64 `contentBytes`, under 3 MB ("This
operation limits the size of the attachment you can add to under 3 MB"; larger files go through an upload session
after the create); an itemAttachment carries its `item`, a message. Also the recipients of a message's JSON, which
a create and an item attachment read alike."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from graphsim.errors import GraphError
from graphsim.mail.message_mime import Envelope, SimAttachment, render
from graphsim.mail.mime import Address

SMALL = 3 * 1024 * 1024  # "Add attachment": files under 3 MB in one request


def addresses(value: Any) -> list[Address]:
    """The (name, address) of each recipient of a JSON recipient list."""
    out: list[Address] = []
    for recipient in value if isinstance(value, list) else []:
        address = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if isinstance(address, dict) and address.get("address"):
            out.append((str(address.get("name") or ""), str(address["address"])))
    return out


def one_address(value: Any) -> Address | None:
    found = addresses([value]) if isinstance(value, dict) else []
    return found[0] if found else None


def item_mime(item: dict[str, Any]) -> bytes:
    """The MIME of an item attachment's message, from its JSON."""
    content = item.get("body") if isinstance(item.get("body"), dict) else {}
    sent = str(item.get("sentDateTime") or "")
    try:
        when = dt.datetime.fromisoformat(sent.replace("Z", "+00:00")) if sent else dt.datetime.now(dt.UTC)
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest", "item.sentDateTime is not a date and time.") from None
    env = Envelope(subject=str(item.get("subject") or ""), sender=one_address(item.get("from")), sender_header=None,
                   to=addresses(item.get("toRecipients")), cc=addresses(item.get("ccRecipients")), bcc=[],
                   reply_to=[], sent=when, internet_message_id=str(item.get("internetMessageId") or ""))  # fmt: skip
    body_type = "html" if str(content.get("contentType", "text")).lower() == "html" else "text"
    return render(env, str(content.get("content") or ""), body_type, [])


def attachment_of(body: Any) -> SimAttachment:
    """The attachment a JSON attachment describes; 400 for one that is neither a file nor an item attachment, or
    is malformed, 413 for a file of 3 MB or more."""
    if not isinstance(body, dict):
        raise GraphError(400, "ErrorInvalidRequest", "An attachment must be a JSON object.")
    kind = str(body.get("@odata.type", "")).lstrip("#").lower()
    name = str(body.get("name") or "attachment")
    if kind == "microsoft.graph.itemattachment":
        item = body.get("item")
        if not isinstance(item, dict):
            raise GraphError(400, "ErrorInvalidRequest", "An item attachment needs an 'item'.")
        return SimAttachment("item", name, "message/rfc822", item_mime(item))
    if kind == "microsoft.graph.fileattachment":
        try:
            data = base64.b64decode(str(body.get("contentBytes") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise GraphError(400, "ErrorInvalidRequest", "contentBytes is not valid base64.") from None
        if len(data) >= SMALL:
            raise GraphError(413, "ErrorRequestEntityTooLarge", "Use createUploadSession for files of 3 MB or more.")
        return SimAttachment("file", name, str(body.get("contentType") or "application/octet-stream"), data,
                             bool(body.get("isInline", False)), str(body.get("contentId") or ""))  # fmt: skip
    raise GraphError(400, "ErrorInvalidRequest", "@odata.type must be a fileAttachment or an itemAttachment.")
