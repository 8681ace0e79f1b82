"""File attachments of a restored event, from the write-once store, added once each
(core.workloads.exchange.outlook_attachments: one POST under 3 MB, an upload session above)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.workloads.exchange import outlook_attachments

if TYPE_CHECKING:
    from core.bootstrap import Services


def attach_all(services: Services, user: str, event_id: str, attachments: list[dict[str, Any]]) -> None:
    url = f"users/{quote(user, safe='')}/events/{quote(event_id, safe='')}/attachments"
    sent: Counter[str] = Counter()  # name -> attachments of that name already on the event
    for attachment in attachments:
        name = str(attachment.get("name") or "attachment")
        size = int(attachment.get("size") or 0)
        meta = {"name": name, "contentType": attachment.get("contentType"),
                "isInline": bool(attachment.get("isInline"))}  # fmt: skip
        chunks = services.content.iter_chunks(attachment["sha256"])
        outlook_attachments.add_file(services.graph, url, meta, size, chunks, sent[name])
        sent[name] += 1
