"""What the mailbox owner sees of a message, as Graph reports it, and the differences between two such views: how
tests and the demo judge a restored message against its original (not by bytes: Exchange renders the MIME of a
created item itself).

Compared: isDraft, receivedDateTime, sentDateTime, isRead, flag, importance, categories, subject, body, from,
sender, to/cc/bcc, replyTo, internetMessageId, hasAttachments, conversationId; each attachment (file: name, content
type, inline, content id, bytes; item: name and the attached message's subject and body); and the MIME headers
Message-ID, From, Sender, To, Cc, Bcc, Reply-To, Subject, Date, In-Reply-To, References (parsed, so folding and
quoting do not count)."""

from __future__ import annotations

import email.utils
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

from core.graph.client import GraphClient
from graphsim.control import SimControl

PROPERTIES = ("isDraft", "receivedDateTime", "sentDateTime", "isRead", "flag", "importance", "categories", "subject",
              "body", "from", "sender", "toRecipients", "ccRecipients", "bccRecipients", "replyTo",
              "internetMessageId", "hasAttachments", "conversationId")  # fmt: skip
ADDRESS_HEADERS = ("From", "Sender", "To", "Cc", "Bcc", "Reply-To")
TEXT_HEADERS = ("Message-ID", "Subject", "In-Reply-To", "References")


def _headers(mime: bytes) -> dict[str, Any]:
    msg = BytesParser(policy=policy.default).parsebytes(mime, headersonly=True)
    out: dict[str, Any] = {}
    for name in ADDRESS_HEADERS:
        values = [str(v) for v in msg.get_all(name) or []]
        out[name] = sorted(a.lower() for _, a in email.utils.getaddresses(values) if a)
    if out["Sender"] == out["From"]:
        out["Sender"] = []  # a Sender equal to From says nothing more
    for name in TEXT_HEADERS:
        out[name] = " ".join(str(msg.get(name, "") or "").split())
    date = msg.get("Date")
    out["Date"] = email.utils.parsedate_to_datetime(str(date)).timestamp() if date else None
    return out


def _attachment_view(att: dict[str, Any]) -> dict[str, Any]:
    if att.get("@odata.type") == "#microsoft.graph.itemAttachment":
        item = att.get("item") or {}
        return {"type": "item", "name": att.get("name"), "subject": item.get("subject"),
                "body": " ".join(str((item.get("body") or {}).get("content") or "").split())}  # fmt: skip
    return {"type": "file", "name": att.get("name"), "contentType": att.get("contentType"),
            "isInline": bool(att.get("isInline")), "contentId": att.get("contentId") or None,
            "contentBytes": att.get("contentBytes")}  # fmt: skip


def snapshot(graph: GraphClient, control: SimControl, user: str, message_id: str) -> dict[str, Any]:
    """The message as its owner sees it now (read before it is deleted, to compare a restore against)."""
    base = f"users/{quote(user, safe='')}/messages/{quote(message_id, safe='')}"
    message = graph.get_json(base)
    attachments = graph.get_json(f"{base}/attachments", params={"$expand": "microsoft.graph.itemattachment/item"})
    return {
        "properties": {k: message.get(k) for k in PROPERTIES},
        "attachments": sorted((_attachment_view(a) for a in attachments.get("value") or []), key=repr),
        "headers": _headers(control.message_mime(user, message_id)),
    }


def differences(original: dict[str, Any], restored: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """One line per property, attachment or header in which `restored` differs from `original`; [] when equal."""
    out = []
    for section in ("properties", "headers"):
        for key, value in original[section].items():
            if key not in ignore and restored[section].get(key) != value:
                out.append(f"{section[:-1]} {key}: {value!r:.120} != {restored[section].get(key)!r:.120}")
    if "attachments" not in ignore and original["attachments"] != restored["attachments"]:
        names = lambda s: [(a["type"], a["name"]) for a in s["attachments"]]  # noqa: E731
        out.append(f"attachments: {names(original)} != {names(restored)} (or their content differs)")
    return out
