"""Browse and search the catalog of a resource as of a run (folder, subject, sender, dates)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from core.bootstrap import Services
from core.models import ResourceKey
from core.storage.catalog import FOLDER
from core.workloads.drive_backup import DRIVE_FOLDER, FILE
from core.workloads.drive_restore import folder_paths
from core.workloads.folder_paths import is_within, join_path, split_path


@dataclass(frozen=True)
class ItemQuery:
    resource: str
    run_id: str | None = None
    at: datetime | None = None
    folder: str | None = None  # this folder path and below
    subject: str | None = None  # case-insensitive substring of a message's subject or a file's name
    sender: str | None = None  # case-insensitive substring of the sender address (mail)
    after: datetime | None = None  # received (mail) or modified (files) at or after
    before: datetime | None = None  # received (mail) or modified (files) before


def _time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def find_items(services: Services, query: ItemQuery) -> tuple[str, Iterator[dict]]:
    """(the run resolved, an iterator of matching items as dicts), streamed from the catalog."""
    run_id = services.runs.resolve_point(query.resource, query.run_id, query.at)
    files = ResourceKey.parse(query.resource).workload != "exchange"
    if files:
        category = FILE
        paths = folder_paths({v.item_id: v for v in services.catalog.as_of(query.resource, DRIVE_FOLDER, run_id)})
    else:
        category = "mail"
        paths = {v.item_id: v.folder_path for v in services.catalog.as_of(query.resource, FOLDER, run_id)}

    def matches() -> Iterator[dict]:
        subject = (query.subject or "").lower()
        sender = (query.sender or "").lower()
        for v in services.catalog.as_of(query.resource, category, run_id):
            path = paths.get(v.folder_id, v.folder_path)
            if query.folder is not None and not is_within(path, query.folder):
                continue
            if subject and subject not in v.name.lower():
                continue
            if sender and sender not in v.sender.lower():
                continue
            received = _time(v.modified if files else v.received) if (query.after or query.before) else None
            if query.after and (received is None or received < query.after):
                continue
            if query.before and (received is None or received >= query.before):
                continue
            yield {
                "id": v.item_id,
                "folder": path,
                "path": join_path([*split_path(path), v.name]) if files else path,
                "subject": v.name,
                "modified": v.modified,
                "sender": v.sender,
                "received": v.received,
                "size": v.size,
                "sha256": v.content_hash,
                "has_attachments": v.has_attachments,
                "first_seen_run": v.first_seen_run,
            }

    return run_id, matches()
