"""The mail item kind: a message's content is its MIME (`/messages/{id}/$value`), streamed into the write-once
store; the catalog describes it by subject, sender, recipients, received time and internetMessageId."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.storage.catalog import FOLDER
from core.storage.content_store import Spool
from core.workloads.container_delta import Fetched, ItemKind, MailboxJob, graph_bool

MAIL = "mail"
MESSAGE_SELECT = (
    "id,changeKey,subject,from,receivedDateTime,lastModifiedDateTime,hasAttachments,internetMessageId,"
    "parentFolderId,isRead,isDraft,flag,categories,importance,toRecipients,ccRecipients,bccRecipients"
)
MAX_RECIPIENTS_CHARS = 4000  # bounded: a catalog entity stays small however long the distribution list


def _delta_path(user: str, folder: Container) -> str:
    return f"users/{quote(user, safe='')}/mailFolders/{quote(folder.id, safe='')}/messages/delta"


def _item_path(user: str, message_id: str) -> str:
    return f"users/{quote(user, safe='')}/messages/{quote(message_id, safe='')}"


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    url = f"{job.kind.item_path(job.user, entry['id'])}/$value"  # the kind's path: an archive's is beta
    with Spool() as spool:
        job.graph.download(url, spool)
        stored = store_content(job.content, job.report, spool, "message/rfc822")
    return stored.sha256, stored.size, _state(entry)


def _state(entry: dict) -> str:
    """What a message's MIME does not carry and a restore puts back: flag, categories, importance, and whether it
    is a draft (kept only when it is one, so the state of every other message reads as before)."""
    state = {k: entry[k] for k in ("flag", "categories", "importance") if entry.get(k)}
    if entry.get("isDraft") is True:
        state["isDraft"] = True
    return json.dumps(state, separators=(",", ":")) if state else ""


def recipients(entry: dict) -> str:
    """The lower-cased to, cc and bcc addresses, de-duplicated in order, joined by ';', cut at an address
    boundary to at most MAX_RECIPIENTS_CHARS characters."""
    seen: dict[str, None] = {}
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for recipient in entry.get(key) or []:
            email = recipient.get("emailAddress") if isinstance(recipient, dict) else None
            address = str((email or {}).get("address") or "") if isinstance(email, dict) else ""
            address = address.strip().lower().replace(";", "")
            if address:
                seen.setdefault(address, None)
    joined, length = [], 0
    for address in seen:
        if length + len(address) + (1 if joined else 0) > MAX_RECIPIENTS_CHARS:
            break
        length += len(address) + (1 if joined else 0)
        joined.append(address)
    return ";".join(joined)


def _describe(entry: dict) -> dict[str, Any]:
    sender = ((entry.get("from") or {}).get("emailAddress") or {}) if isinstance(entry.get("from"), dict) else {}
    return {
        "name": str(entry.get("subject") or "")[:1000],
        "sender": str(sender.get("address") or "")[:320],
        "received": str(entry.get("receivedDateTime") or ""),
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "internet_message_id": str(entry.get("internetMessageId") or "")[:1000],
        "has_attachments": graph_bool(entry.get("hasAttachments"), "hasAttachments"),
        "is_read": graph_bool(entry.get("isRead"), "isRead"),
        "recipients": recipients(entry),
    }


MAIL_KIND = ItemKind(
    category=MAIL,
    folder_category=FOLDER,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    item_path=_item_path,
    select=MESSAGE_SELECT,
    params=lambda job: {"$select": MESSAGE_SELECT},
)
