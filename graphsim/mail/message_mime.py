"""The MIME Exchange gives for a message that was created from JSON (its `$value` is generated from the item's
properties and attachments, not stored), and the attachments Graph lists for a message, read from its MIME.

Graph docs: "Get MIME content of a message" (learn.microsoft.com/graph/outlook-get-mime-message) returns the
message rendered as MIME, headers from its properties; "message resource type" lists the properties
(from, sender, toRecipients, ccRecipients, bccRecipients, replyTo, internetMessageId, sentDateTime);
"fileAttachment" / "itemAttachment" resource types: name, contentType, size, isInline, contentId, contentBytes."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from graphsim.mail.mime import Address

_PARSER = BytesParser(policy=policy.default)


@dataclass
class SimAttachment:
    kind: str  # 'file' or 'item'
    name: str
    content_type: str
    data: bytes  # file: the bytes; item: the attached message's MIME
    is_inline: bool = False
    content_id: str = ""


@dataclass
class Envelope:
    """The header properties of a message as Graph reports them."""

    subject: str
    sender: Address | None  # from
    sender_header: Address | None  # sender, when it differs from `from`
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    reply_to: list[Address]
    sent: dt.datetime
    internet_message_id: str
    in_reply_to: str = ""
    references: str = ""
    importance: str = "normal"


def _addresses(addrs: list[Address]) -> str:
    return ", ".join(email.utils.formataddr(a) for a in addrs)


def render(envelope: Envelope, body: str, body_type: str, attachments: list[SimAttachment]) -> bytes:
    """MIME for the message: headers from its properties, the body (base64, so it round-trips exactly), inline
    parts in multipart/related below an HTML body, other attachments in multipart/mixed."""
    msg = EmailMessage(policy=policy.SMTP)
    if envelope.sender:
        msg["From"] = email.utils.formataddr(envelope.sender)
    if envelope.sender_header and envelope.sender_header != envelope.sender:
        msg["Sender"] = email.utils.formataddr(envelope.sender_header)
    for header, addrs in (("To", envelope.to), ("Cc", envelope.cc), ("Bcc", envelope.bcc),
                          ("Reply-To", envelope.reply_to)):  # fmt: skip
        if addrs:
            msg[header] = _addresses(addrs)
    msg["Subject"] = envelope.subject
    msg["Date"] = email.utils.format_datetime(envelope.sent)
    if envelope.internet_message_id:
        msg["Message-ID"] = envelope.internet_message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        msg["References"] = envelope.references
    if envelope.importance != "normal":
        msg["Importance"] = envelope.importance
    subtype = "html" if body_type == "html" else "plain"
    msg.set_content(body, subtype=subtype, charset="utf-8", cte="base64")
    for att in attachments:
        if att.is_inline and subtype == "html" and att.kind == "file":
            maintype, _, sub = att.content_type.partition("/")
            msg.add_related(att.data, maintype=maintype or "application", subtype=sub or "octet-stream",
                            cid=f"<{att.content_id}>" if att.content_id else None, filename=att.name,
                            disposition="inline")  # fmt: skip
    for att in attachments:
        if att.is_inline and subtype == "html" and att.kind == "file":
            continue
        if att.kind == "item":
            nested = _PARSER.parsebytes(att.data)
            msg.add_attachment(nested, filename=att.name)
            continue
        maintype, _, sub = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype or "application", subtype=sub or "octet-stream",
                           filename=att.name, disposition="inline" if att.is_inline else "attachment",
                           cid=f"<{att.content_id}>" if att.content_id else None)  # fmt: skip
    return msg.as_bytes()


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    """Leaf parts in order, an attached message (message/rfc822) counting as one leaf."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    out: list[EmailMessage] = []
    for sub in part.iter_parts():
        out.extend(_leaves(sub))  # type: ignore[arg-type]
    return out


def parse(mime: bytes) -> tuple[EmailMessage, EmailMessage | None, list[SimAttachment]]:
    """(message, its body part, its attachments). The body is the HTML part when there is one (Graph returns
    HTML bodies by default), else the plain text part; text parts without a file name are body alternatives."""
    msg: EmailMessage = _PARSER.parsebytes(mime)  # type: ignore[assignment]
    body = msg.get_body(preferencelist=("html", "plain"))
    attachments: list[SimAttachment] = []
    for leaf in _leaves(msg):
        if leaf is body:
            continue
        disposition = leaf.get_content_disposition()
        filename = leaf.get_filename()
        content_type = leaf.get_content_type()
        if content_type == "message/rfc822":
            inner = leaf.get_payload()[0] if isinstance(leaf.get_payload(), list) else leaf.get_payload()
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else bytes(inner)
            name = filename or str(inner.get("Subject", "") if hasattr(inner, "get") else "") or "message"
            attachments.append(SimAttachment("item", name, content_type, data))
            continue
        if leaf.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # a body alternative
        cid = str(leaf.get("Content-ID", "") or "").strip().strip("<>")
        attachments.append(
            SimAttachment("file", filename or "attachment", content_type, leaf.get_payload(decode=True) or b"",
                          is_inline=disposition == "inline" or (disposition is None and bool(cid)), content_id=cid)
        )  # fmt: skip
    return msg, body, attachments


def envelope_of(msg: EmailMessage) -> Envelope:
    def addrs(header: str) -> list[Address]:
        values = msg.get_all(header) or []
        return [(n, a) for n, a in email.utils.getaddresses([str(v) for v in values]) if a]

    date_header = msg.get("Date")
    sent = email.utils.parsedate_to_datetime(str(date_header)) if date_header else dt.datetime.now(dt.UTC)
    senders = addrs("From")
    sender_header = addrs("Sender")
    return Envelope(
        subject=str(msg.get("Subject", "") or ""),
        sender=senders[0] if senders else None,
        sender_header=sender_header[0] if sender_header else None,
        to=addrs("To"), cc=addrs("Cc"), bcc=addrs("Bcc"), reply_to=addrs("Reply-To"),
        sent=sent if sent.tzinfo else sent.replace(tzinfo=dt.UTC),
        internet_message_id=str(msg.get("Message-ID", "") or "").strip(),
        in_reply_to=str(msg.get("In-Reply-To", "") or "").strip(),
        references=" ".join(str(msg.get("References", "") or "").split()),
        importance=str(msg.get("Importance", "normal") or "normal").lower(),
    )  # fmt: skip


def with_attachment(mime: bytes, attachment: SimAttachment) -> bytes:
    """The message's MIME with one more attachment (what "Add attachment" does to the item)."""
    msg, body, attachments = parse(mime)
    content = body.get_content() if body is not None else ""
    body_type = "html" if body is not None and body.get_content_subtype() == "html" else "text"
    return render(envelope_of(msg), content, body_type, [*attachments, attachment])
