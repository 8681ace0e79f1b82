"""Browse and search the catalog of a resource as of a run (folder, subject, sender, dates)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from core.bootstrap import Services
from core.storage.catalog import FOLDER
from core.workloads.folder_paths import is_within


@dataclass(frozen=True)
class ItemQuery:
    resource: str
    run_id: str | None = None
    at: datetime | None = None
    category: str = "mail"
    folder: str | None = None  # this folder path and below
    subject: str | None = None  # case-insensitive substring
    sender: str | None = None  # case-insensitive substring of the sender address
    after: datetime | None = None  # received at or after
    before: datetime | None = None  # received before


def _time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def find_items(services: Services, query: ItemQuery) -> tuple[str, Iterator[dict]]:
    """(the run resolved, an iterator of matching items as dicts), streamed from the catalog."""
    run_id = services.runs.resolve_point(query.resource, query.run_id, query.at)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(query.resource, FOLDER, run_id)}

    def matches() -> Iterator[dict]:
        subject = (query.subject or "").lower()
        sender = (query.sender or "").lower()
        for v in services.catalog.as_of(query.resource, query.category, run_id):
            path = paths.get(v.folder_id, v.folder_path)
            if query.folder is not None and not is_within(path, query.folder):
                continue
            if subject and subject not in v.name.lower():
                continue
            if sender and sender not in v.sender.lower():
                continue
            received = _time(v.received) if (query.after or query.before) else None
            if query.after and (received is None or received < query.after):
                continue
            if query.before and (received is None or received >= query.before):
                continue
            yield {
                "id": v.item_id,
                "folder": path,
                "subject": v.name,
                "sender": v.sender,
                "received": v.received,
                "size": v.size,
                "sha256": v.content_hash,
                "has_attachments": v.has_attachments,
                "first_seen_run": v.first_seen_run,
            }

    return run_id, matches()
