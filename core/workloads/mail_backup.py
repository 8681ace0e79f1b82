"""The mail item kind: a message's content is its MIME (`/messages/{id}/$value`), streamed into the write-once
store; the catalog describes it by subject, sender, received time and internetMessageId."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from core.storage.catalog import FOLDER
from core.storage.content_store import Spool
from core.workloads.container_delta import Container, Fetched, ItemKind, MailboxJob

MAIL = "mail"
MESSAGE_SELECT = (
    "id,changeKey,subject,from,receivedDateTime,lastModifiedDateTime,hasAttachments,internetMessageId,"
    "parentFolderId,isRead,flag,categories,importance"
)


def _delta_path(user: str, folder: Container) -> str:
    return f"users/{quote(user, safe='')}/mailFolders/{quote(folder.id, safe='')}/messages/delta"


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    url = f"users/{quote(job.user, safe='')}/messages/{quote(entry['id'], safe='')}/$value"
    with Spool() as spool:
        job.graph.download(url, spool)
        stored = job.content.put(spool, content_type="message/rfc822")
    if stored.written:
        job.report.add(bytes=stored.size)
    else:
        job.report.add(deduplicated=1)
    return stored.sha256, stored.size, _state(entry)


def _state(entry: dict) -> str:
    """What a message's MIME does not carry and a restore puts back: flag, categories, importance."""
    state = {k: entry[k] for k in ("flag", "categories", "importance") if entry.get(k)}
    return json.dumps(state, separators=(",", ":")) if state else ""


def _describe(entry: dict) -> dict[str, Any]:
    sender = ((entry.get("from") or {}).get("emailAddress") or {}) if isinstance(entry.get("from"), dict) else {}
    return {
        "name": str(entry.get("subject") or "")[:1000],
        "sender": str(sender.get("address") or "")[:320],
        "received": str(entry.get("receivedDateTime") or ""),
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "internet_message_id": str(entry.get("internetMessageId") or "")[:1000],
        "has_attachments": bool(entry.get("hasAttachments")),
        "is_read": bool(entry.get("isRead")),
    }


MAIL_KIND = ItemKind(
    category=MAIL,
    folder_category=FOLDER,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    params=lambda: {"$select": MESSAGE_SELECT},
)
