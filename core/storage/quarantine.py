"""Quarantine: items a backup could not capture, kept in view until it can.

An item whose content keeps failing (a `$value` that always errors, a file whose size or hash never matches its
listing, a 404 for an item that a read by id shows still exists) must not hold its container's delta link back:
every later run would replay all changes since, and once the token expires every run would be a full
enumeration. Instead the item is *held* here with its error, the container's link moves on, and every later run
retries the held items by id. One that succeeds is *released* (its version is in the catalog from that run on);
one that is gone from the tenant is released as deleted. A held item is never silent: the restore point of every
run that holds it is "partial" and lists it (`python -m core points --json`, the API, the dashboard).

`{prefix}quarantine`: PartitionKey = resource; RowKey = category|item id. Rows are kept after release (with
`released_run`), so the history of what was missing, and when, stays readable. Reads are counted
(`QuarantineStore.reads`: queries sent, by resource), so tests can show that a backup reads a resource's held items
once however many kinds it has."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.direct_query import DirectQuery, query_entities
from core.storage.tables import REPLAY_SAFE

MAX_ERROR = 2000


@dataclass(frozen=True)
class HeldItem:
    resource: str
    category: str  # the catalog category of the item: 'mail', 'contact', 'event', 'file', ...
    item_id: str  # as the catalog names it (a drive item is '<drive id>/<item id>')
    container_id: str  # its folder, calendar or drive when it was held
    error: str  # the last error, one line
    first_run: str  # the run that first held it
    last_run: str  # the last run that tried it
    attempts: int  # runs that tried it and failed
    released_run: str = ""  # the run that captured it, or found it gone ('' while held)
    released_as: str = ""  # 'captured' or 'deleted'

    def held_in(self, run_id: str) -> bool:
        """Whether the item was held as of run `run_id`: first held at or before it, not released before it was
        over (the restore point of that run lacks it)."""
        return self.first_run <= run_id and (not self.released_run or self.released_run > run_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class QuarantineStore:
    def __init__(self, table: TableClient, reader: DirectQuery | None = None) -> None:
        self._table = table
        self._reader = reader  # a resource's rows read with one signed GET, not through the SDK (direct_query.py)
        self.reads: Counter[str] = Counter()  # resource -> queries of its rows (held, held_in_run, history)
        self._reads_lock = threading.Lock()

    def hold(self, resource: str, category: str, item_id: str, container_id: str, error: str, run_id: str) -> None:
        """Record (or keep) an item as held after it failed in `run_id`. Trying it again in the same run does not
        count as another attempt."""
        previous = self._get(resource, category, item_id)
        held_before = previous is not None and not previous.get("released_run")
        first = str(previous["first_run"]) if held_before and previous else run_id
        attempts = int(previous.get("attempts", 0)) if held_before and previous else 0
        if not (held_before and previous and previous.get("last_run") == run_id):
            attempts += 1
        entity = {"PartitionKey": keys.escape(resource), "RowKey": keys.join(category, item_id),
                  "resource": resource, "category": category, "item_id": item_id, "container_id": container_id,
                  "error": " ".join(str(error).split())[:MAX_ERROR], "first_run": first, "last_run": run_id,
                  "attempts": attempts, "released_run": "", "released_as": "", "updated_at": _now()}  # fmt: skip
        self._write(entity)

    def release(self, resource: str, category: str, item_id: str, run_id: str, released_as: str = "captured") -> None:
        """The item was captured (or found deleted) in `run_id`: it is no longer held. No-op if it was not."""
        previous = self._get(resource, category, item_id)
        if previous is None or previous.get("released_run"):
            return
        entity = {"PartitionKey": keys.escape(resource), "RowKey": keys.join(category, item_id),
                  "released_run": run_id, "released_as": released_as, "updated_at": _now()}  # fmt: skip
        self._write(entity, mode=UpdateMode.MERGE)

    def held(self, resource: str, category: str | None = None, container_id: str | None = None) -> list[HeldItem]:
        """The items of a resource held now (oldest first), optionally of one category and container."""
        items = [i for i in self.history(resource) if not i.released_run]
        if category is not None:
            items = [i for i in items if i.category == category]
        if container_id is not None:
            items = [i for i in items if i.container_id == container_id]
        return sorted(items, key=lambda i: (i.first_run, i.category, i.item_id))

    def held_in_run(self, resource: str, run_id: str) -> list[HeldItem]:
        """What the restore point of `run_id` lacks: items held then (first held at or before it, not released
        before it was over)."""
        return [i for i in self.history(resource) if i.held_in(run_id)]

    def history(self, resource: str) -> list[HeldItem]:
        """Every row of a resource, held or released."""
        with self._reads_lock:
            self.reads[resource] += 1
        try:
            rows = query_entities(self._table, self._reader, "PartitionKey eq @pk", {"pk": keys.escape(resource)})
            return [_item(row) for row in rows]
        except HttpResponseError as exc:
            raise StorageError(f"quarantine read of {resource} failed: {exc.message}") from exc

    def _get(self, resource: str, category: str, item_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._table.get_entity(keys.escape(resource), keys.join(category, item_id)))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise StorageError(f"quarantine read of {category} {item_id} failed: {exc.message}") from exc

    def _write(self, entity: dict[str, Any], mode: UpdateMode = UpdateMode.REPLACE) -> None:
        try:
            self._table.upsert_entity(entity, mode=mode, **REPLAY_SAFE)
        except HttpResponseError as exc:
            raise StorageError(f"quarantine write of {entity['RowKey']} failed: {exc.message}") from exc


def _item(row: dict[str, Any]) -> HeldItem:
    return HeldItem(resource=str(row.get("resource", "")), category=str(row.get("category", "")),
                    item_id=str(row.get("item_id", "")), container_id=str(row.get("container_id", "")),
                    error=str(row.get("error", "")), first_run=str(row.get("first_run", "")),
                    last_run=str(row.get("last_run", "")), attempts=int(row.get("attempts", 0)),
                    released_run=str(row.get("released_run", "")),
                    released_as=str(row.get("released_as", "")))  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat()
