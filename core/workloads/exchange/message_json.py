"""A stored message (its MIME) turned into what Graph's JSON create takes, so the restored item is not a draft and
keeps its dates and headers (see README "How a message is restored"):

- the create body: subject, body (HTML when the message has an HTML part, as Graph shows it), from, sender,
  to/cc/bcc, replyTo, internetMessageId, importance, and `singleValueExtendedProperties` set at creation:
  PR_MESSAGE_FLAGS `Integer 0x0E07` without MSGFLAG_UNSENT (not a draft, unless the original was one;
  MSGFLAG_READ as the read state),
  PR_MESSAGE_DELIVERY_TIME `SystemTime 0x0E06` (receivedDateTime), PR_CLIENT_SUBMIT_TIME `SystemTime 0x0039`
  (sentDateTime, from the Date header), PR_IN_REPLY_TO_ID `String 0x1042` and PR_INTERNET_REFERENCES `String 0x1039`
  (so it threads into its conversation);
- the attachments: files (inline ones with their content id) and attached messages (item attachments: the attached
  message's headers and body; its own attachments are not carried); the restore puts small files in the create
  itself and adds the others after it (core.workloads.exchange.mail_restore `with_small_files`)."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

MESSAGE_FLAGS = "Integer 0x0E07"
DELIVERY_TIME = "SystemTime 0x0E06"
SUBMIT_TIME = "SystemTime 0x0039"
IN_REPLY_TO = "String 0x1042"
REFERENCES = "String 0x1039"
MSGFLAG_READ, MSGFLAG_UNSENT = 0x1, 0x8

_PARSER = BytesParser(policy=policy.default)


@dataclass
class AttachmentPart:
    kind: str  # 'file' or 'item'
    name: str
    content_type: str
    data: bytes  # file bytes; for an item, the attached message's MIME
    is_inline: bool = False
    content_id: str = ""

    def item_json(self) -> dict[str, Any]:
        """An item attachment's `item` (a message) for "Add attachment"."""
        message: EmailMessage = _PARSER.parsebytes(self.data)  # type: ignore[assignment]
        fields = _envelope(message)
        body = _body(message)
        return {"@odata.type": "#microsoft.graph.message", **fields, "body": body,
                **({"sentDateTime": _iso_date(message)} if _iso_date(message) else {})}  # fmt: skip


@dataclass
class MessageCreate:
    body: dict[str, Any]  # the JSON create body, attachments not included
    attachments: list[AttachmentPart]


def _recipients(message: EmailMessage, header: str) -> list[dict[str, Any]]:
    values = [str(v) for v in message.get_all(header) or []]
    return [{"emailAddress": {"name": name or address, "address": address}}
            for name, address in email.utils.getaddresses(values) if address]  # fmt: skip


def _iso_date(message: EmailMessage) -> str:
    raw = message.get("Date")
    if not raw:
        return ""
    try:
        when = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(message: EmailMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": str(message.get("Subject", "") or "")}
    senders = _recipients(message, "From")
    if senders:
        out["from"] = senders[0]
    on_behalf = _recipients(message, "Sender")
    if on_behalf:
        out["sender"] = on_behalf[0]
    for key, header in (("toRecipients", "To"), ("ccRecipients", "Cc"), ("bccRecipients", "Bcc"),
                        ("replyTo", "Reply-To")):  # fmt: skip
        found = _recipients(message, header)
        if found:
            out[key] = found
    message_id = str(message.get("Message-ID", "") or "").strip()
    if message_id:
        out["internetMessageId"] = message_id
    return out


def _body(message: EmailMessage) -> dict[str, str]:
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return {"contentType": "text", "content": ""}
    content = part.get_content()
    return {"contentType": "html" if part.get_content_subtype() == "html" else "text",
            "content": content if isinstance(content, str) else ""}  # fmt: skip


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    out: list[EmailMessage] = []
    for sub in part.iter_parts():
        out.extend(_leaves(sub))  # type: ignore[arg-type]
    return out


def _attachments(message: EmailMessage) -> list[AttachmentPart]:
    body = message.get_body(preferencelist=("html", "plain"))
    found: list[AttachmentPart] = []
    for leaf in _leaves(message):
        if leaf is body:
            continue
        disposition, filename = leaf.get_content_disposition(), leaf.get_filename()
        if leaf.get_content_type() == "message/rfc822":
            payload = leaf.get_payload()
            inner = payload[0] if isinstance(payload, list) else payload
            data = inner.as_bytes() if isinstance(inner, EmailMessage) else bytes(inner or b"")
            name = filename or (str(inner.get("Subject", "")) if isinstance(inner, EmailMessage) else "") or "message"
            found.append(AttachmentPart("item", name, "message/rfc822", data))
            continue
        if leaf.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # an alternative of the body
        content_id = str(leaf.get("Content-ID", "") or "").strip().strip("<>")
        found.append(
            AttachmentPart("file", filename or "attachment", leaf.get_content_type(),
                           leaf.get_payload(decode=True) or b"",
                           is_inline=disposition == "inline" or (disposition is None and bool(content_id)),
                           content_id=content_id)
        )  # fmt: skip
    return found


def from_mime(mime: bytes, *, is_read: bool, received: str, state: dict[str, Any]) -> MessageCreate:
    """The create for a message as of a run: `is_read`, `received` (ISO time) and `state` (flag, categories,
    importance, isDraft) come from that run's catalog version, everything else from the stored MIME."""
    message: EmailMessage = _PARSER.parsebytes(mime)  # type: ignore[assignment]
    body: dict[str, Any] = {**_envelope(message), "body": _body(message), "isRead": is_read}
    importance = str(state.get("importance") or message.get("Importance", "") or "normal").lower()
    body["importance"] = importance if importance in ("low", "normal", "high") else "normal"
    if state.get("flag"):
        body["flag"] = state["flag"]
    if state.get("categories"):
        body["categories"] = list(state["categories"])
    flags = (MSGFLAG_READ if is_read else 0) | (MSGFLAG_UNSENT if state.get("isDraft") is True else 0)
    properties = [{"id": MESSAGE_FLAGS, "value": str(flags)}]
    if received:
        properties.append({"id": DELIVERY_TIME, "value": received})
    sent = _iso_date(message)
    if sent:
        properties.append({"id": SUBMIT_TIME, "value": sent})
    in_reply_to = str(message.get("In-Reply-To", "") or "").strip()
    if in_reply_to:
        properties.append({"id": IN_REPLY_TO, "value": in_reply_to})
    references = " ".join(str(message.get("References", "") or "").split())
    if references:
        properties.append({"id": REFERENCES, "value": references})
    body["singleValueExtendedProperties"] = properties
    return MessageCreate(body, _attachments(message))
