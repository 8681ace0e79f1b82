"""MIME building (fast, template-based, byte-for-byte deterministic) and parsing (with the `email` package)."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

CRLF = "\r\n"

Address = tuple[str, str]  # (display name, address)


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class MessageSpec:
    """Everything needed to render one message's MIME."""

    internet_message_id: str
    date: dt.datetime
    sender: Address
    to: list[Address]
    subject: str
    body: str
    boundary_seed: str
    cc: list[Address] = field(default_factory=list)
    html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    importance: str = "normal"


def encode_word(text: str) -> str:
    """RFC 2047 encoded words for non-ASCII header text, folded to stay under 76 characters a line."""
    if text.isascii():
        return text
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    encoded = [f"=?utf-8?B?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]
    return (CRLF + " ").join(encoded)


def format_address(addr: Address) -> str:
    name, address = addr
    if not name:
        return f"<{address}>"
    if name.isascii():
        return f'"{name}" <{address}>'
    return f"{encode_word(name)} <{address}>"


def _address_list(addrs: list[Address]) -> str:
    return ("," + CRLF + " ").join(format_address(a) for a in addrs)


def _b64_lines(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF)


def _text_part(body: str, subtype: str) -> str:
    if body.isascii():
        text = body.replace("\n", CRLF)
        if not text.endswith(CRLF):
            text += CRLF
        return (
            f'Content-Type: text/{subtype}; charset="us-ascii"{CRLF}Content-Transfer-Encoding: 7bit{CRLF}{CRLF}{text}'
        )
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}'
        f"{_b64_lines(body.encode('utf-8'))}"
    )


def html_of(body: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return f'<html><head><meta charset="utf-8"></head><body>{paragraphs}</body></html>\n'


def render_mime(spec: MessageSpec) -> bytes:
    """The message's MIME bytes (CRLF line ends); the same spec always gives the same bytes."""
    headers = [
        f"From: {format_address(spec.sender)}",
        f"To: {_address_list(spec.to)}",
    ]
    if spec.cc:
        headers.append(f"Cc: {_address_list(spec.cc)}")
    headers += [
        f"Subject: {encode_word(spec.subject)}",
        f"Date: {email.utils.format_datetime(spec.date)}",
        f"Message-ID: {spec.internet_message_id}",
    ]
    if spec.importance == "high":
        headers.append("Importance: high")
    headers.append("MIME-Version: 1.0")
    body_part = _text_part(spec.body, "plain")
    if spec.html:
        alt = f"alt_{spec.boundary_seed}"
        body_part = (
            f'Content-Type: multipart/alternative; boundary="{alt}"{CRLF}{CRLF}'
            f"--{alt}{CRLF}{body_part}{CRLF}--{alt}{CRLF}{_text_part(html_of(spec.body), 'html')}{CRLF}--{alt}--{CRLF}"
        )
    if spec.attachments:
        mixed = f"mix_{spec.boundary_seed}"
        parts = [f"--{mixed}{CRLF}{body_part}"]
        for att in spec.attachments:
            parts.append(
                f'--{mixed}{CRLF}Content-Type: {att.content_type}; name="{att.name}"{CRLF}'
                f'Content-Disposition: attachment; filename="{att.name}"{CRLF}'
                f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{_b64_lines(att.data)}"
            )
        body_part = (
            f'Content-Type: multipart/mixed; boundary="{mixed}"{CRLF}{CRLF}'
            + CRLF.join(parts)
            + f"{CRLF}--{mixed}--{CRLF}"
        )
    return (CRLF.join(headers) + CRLF + body_part).encode("utf-8")


class MimeError(ValueError):
    """MIME content that cannot be turned into a message."""


@dataclass
class ParsedMime:
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    date: dt.datetime | None
    internet_message_id: str
    body: str
    body_type: str
    has_attachments: bool
    importance: str


def _addresses(msg: EmailMessage, header: str) -> list[Address]:
    values = msg.get_all(header) or []
    return [(name, addr) for name, addr in email.utils.getaddresses([str(v) for v in values]) if addr]


def parse_mime(data: bytes) -> ParsedMime:
    """Parse MIME bytes; raise MimeError when they do not look like an Internet message."""
    if not data.strip():
        raise MimeError("MIME content is empty.")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # the email package raises many kinds of errors on garbage
        raise MimeError(f"MIME content could not be parsed: {exc}") from exc
    if not isinstance(msg, EmailMessage) or not any(
        k.lower() in ("from", "subject", "message-id", "to", "date") for k in msg
    ):
        raise MimeError("MIME content has no Internet message headers.")
    if msg.defects and any("Header" in type(d).__name__ and "Missing" not in type(d).__name__ for d in msg.defects):
        raise MimeError(f"MIME headers are malformed: {msg.defects[0]}")
    try:
        subject = str(msg.get("Subject", "") or "")
        senders = _addresses(msg, "From")
        date_header = msg.get("Date")
        date = email.utils.parsedate_to_datetime(str(date_header)) if date_header else None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=dt.UTC)
        body_part = msg.get_body(preferencelist=("plain", "html"))
        body = body_part.get_content() if body_part is not None else ""
        body_type = "html" if body_part is not None and body_part.get_content_subtype() == "html" else "text"
        has_attachments = any(True for _ in msg.iter_attachments()) if msg.is_multipart() else False
    except Exception as exc:
        raise MimeError(f"MIME content could not be parsed: {exc}") from exc
    importance = str(msg.get("Importance", "normal") or "normal").lower()
    return ParsedMime(
        subject=subject,
        sender=senders[0] if senders else None,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        date=date,
        internet_message_id=str(msg.get("Message-ID", "") or "").strip(),
        body=body if isinstance(body, str) else "",
        body_type=body_type,
        has_attachments=has_attachments,
        importance=importance if importance in ("low", "normal", "high") else "normal",
    )


def rewrite_mime(data: bytes, subject: str | None = None, body: str | None = None) -> bytes:
    """New MIME bytes with the subject and/or the first text body replaced (used for simulated edits)."""
    msg = BytesParser(policy=policy.default).parsebytes(data)
    if subject is not None:
        del msg["Subject"]
        msg["Subject"] = subject
    if body is not None:
        part = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, EmailMessage) else None
        if part is None:
            part = msg
        if isinstance(part, EmailMessage):
            part.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)
