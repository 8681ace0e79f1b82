"""The append-only audit log: who restored, exported, downloaded, started a backup, or was refused.

`{prefix}audit`: PartitionKey = the month ('2026-11'), RowKey = inverted milliseconds + a random suffix, so a
partition lists newest first. Entries are only ever created (`create_entity`: an existing key is an error, never
overwritten); nothing in the app updates or deletes them. Each entry is also written to the journal, a write-once
blob in the immutable container (core/storage/journal.py): the app's table role could delete a row, not its
journal blob, and `python -m core rebuild-catalog` puts it back."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import TableClient

from core.errors import InvalidRequestError
from core.storage.journal import Journal
from core.storage.tables import create_row_once

_MAX_MS = 10**13  # milliseconds until the year 2286
MAX_TEXT = 4_000
RESULTS = ("accepted", "succeeded", "partial", "failed", "denied", "rejected")
_TOKEN = re.compile(r"^(19[7-9][0-9]|2[0-2][0-9]{2})-(0[1-9]|1[0-2])/[0-9]{13}-[0-9a-f]{8}$")  # an entry's id
_BAD_TOKEN = "the continuation token is not one this API gave"


@dataclass(frozen=True)
class AuditEntry:
    actor: str  # the caller's object id ('' when the token could not be read)
    actor_name: str  # its UPN / name as the token gave it
    roles: tuple[str, ...]
    action: str  # 'restore', 'restore.finished', 'export', 'download', 'backup', 'audit.read', ...
    result: str  # one of RESULTS
    resource: str = ""
    scope: dict[str, Any] = field(default_factory=dict)  # item ids, folder, whole, category
    point: str = ""  # run id or timestamp asked for / resolved
    destination: str = ""  # 'original', 'new-folder', or 'another resource: <owner>'
    counts: dict[str, int] = field(default_factory=dict)  # restored / skipped / failed, bytes ...
    status: int = 0  # the HTTP status answered
    detail: str = ""  # why it was denied or rejected; the restore job id
    at: str = ""  # set when appended

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = list(self.roles)
        return data


def _month(when: datetime) -> str:
    return f"{when:%Y-%m}"


class AuditLog:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal  # each entry is also kept as a write-once journal blob (core/storage/journal.py)

    def append(self, entry: AuditEntry, now: datetime | None = None) -> AuditEntry:
        """Create the entry (never overwrite); returns it with its time."""
        now = now or datetime.now(UTC)
        millis = int(now.timestamp() * 1000)
        row = f"{_MAX_MS - millis:013d}-{secrets.token_hex(4)}"
        stamped = AuditEntry(**{**asdict(entry), "roles": tuple(entry.roles), "at": now.isoformat()})
        entity: dict[str, Any] = {"PartitionKey": _month(now), "RowKey": row}
        for key, value in stamped.to_dict().items():
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True)
            if isinstance(value, str):
                value = value[:MAX_TEXT]
            entity[key] = value
        if self._journal is not None:
            self._journal.record("audit", [("create", entity)])
        create_row_once(self._table, entity)
        return stamped

    def list(
        self, limit: int = 100, before: str | None = None, months: int = 13, now: datetime | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first: (entries, continuation token or None). `before` is a token from an earlier page."""
        now = now or datetime.now(UTC)
        start_month, start_row = _month(now), ""
        if before:
            if not isinstance(before, str) or not _TOKEN.match(before):
                raise InvalidRequestError(_BAD_TOKEN)
            start_month, _, start_row = before.partition("/")
        entries: list[dict[str, Any]] = []
        month = datetime.strptime(start_month + "-15", "%Y-%m-%d").replace(tzinfo=UTC)
        for _ in range(months):
            query, params = "PartitionKey eq @pk", {"pk": _month(month)}
            if start_row and _month(month) == start_month:
                query += " and RowKey gt @row"
                params["row"] = start_row
            # the table service answers a partition in RowKey order: read only the pages this listing needs
            page = min(max(limit - len(entries), 1), 1000)
            for entity in self._table.query_entities(query, parameters=params, results_per_page=page):
                entries.append(_entry_dict(entity))
                if len(entries) == limit:
                    more = f"{entity['PartitionKey']}/{entity['RowKey']}"
                    return entries, more
            month = (month.replace(day=1) - timedelta(days=1)).replace(day=15)
        return entries, None


def _entry_dict(entity: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in entity.items() if k not in ("PartitionKey", "RowKey") and not k.startswith("odata")}
    for key in ("roles", "scope", "counts"):
        if isinstance(data.get(key), str):
            try:
                data[key] = json.loads(data[key])
            except ValueError:
                pass
    data["id"] = f"{entity['PartitionKey']}/{entity['RowKey']}"
    data.pop("Timestamp", None)
    return data
