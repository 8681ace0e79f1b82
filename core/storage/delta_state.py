"""Delta state: one record per (resource, container) — a mail folder, a contact folder, a calendar, a drive —
holding the whole delta link Graph gave (never edited) and the container's path when it was saved.

The backup engine saves a record only after every item of the round is durably stored; a missing or unusable
record means a full enumeration of that container, never a failure."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from azure.data.tables import TableClient, UpdateMode

from core.storage import table_keys as keys
from core.storage.direct_batch import DirectTransaction
from core.storage.direct_query import DirectQuery, query_entities
from core.storage.tables import REPLAY_SAFE


@dataclass(frozen=True)
class DeltaState:
    category: str
    container_id: str
    delta_link: str
    container_path: str
    run_id: str
    query: str = ""  # JSON of the query the round chain started with (a calendarView window), '' if unknown


class DeltaStates(Protocol):
    """What the backup reads and writes delta state through: the table (DeltaStateStore) or one resource's view of
    it for the length of its backup (ResourceDeltaStates)."""

    def load(self, resource: str) -> dict[tuple[str, str], DeltaState]: ...

    def save(self, resource: str, state: DeltaState) -> None: ...

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None: ...


class DeltaStateStore:
    def __init__(
        self, table: TableClient, direct: DirectTransaction | None = None, reader: DirectQuery | None = None
    ) -> None:
        self._table = table
        self._direct = direct  # saves sent as a one-operation transaction, not through the SDK (direct_batch.py)
        self._reader = reader  # a resource's states read with one signed GET, not through the SDK (direct_query.py)
        self.loads = 0  # partitions queried (what ResourceDeltaStates saves: tests read it)
        self._count = threading.Lock()

    def load(self, resource: str) -> dict[tuple[str, str], DeltaState]:
        with self._count:
            self.loads += 1
        pk = keys.escape(resource)
        states = {}
        for entity in query_entities(self._table, self._reader, "PartitionKey eq @pk", {"pk": pk}):
            category, container_id = keys.split(entity["RowKey"])
            if not entity.get("delta_link"):
                continue
            states[(category, container_id)] = DeltaState(
                category,
                container_id,
                entity["delta_link"],
                entity.get("container_path", ""),
                entity.get("run_id", ""),
                entity.get("query", ""),
            )
        return states

    def save(self, resource: str, state: DeltaState) -> None:
        entity = {
            "PartitionKey": keys.escape(resource),
            "RowKey": keys.join(state.category, state.container_id),
            "delta_link": state.delta_link,
            "container_path": state.container_path,
            "run_id": state.run_id,
            "query": state.query,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        if self._direct is not None and self._direct.submit([("replace", entity)]):
            return
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None:
        """The container is gone from the tenant: its link is cleared (the record stays, for the audit trail)."""
        self._table.upsert_entity(
            {
                "PartitionKey": keys.escape(resource),
                "RowKey": keys.join(category, container_id),
                "delta_link": "",
                "removed_run": run_id,
            },
            mode=UpdateMode.MERGE,
            **REPLAY_SAFE,
        )


class ResourceDeltaStates:
    """One resource's delta state for the length of its backup (core/backup.py): its partition queried once, then
    kept as this backup saves and forgets links; the kinds, trees and held items of a mailbox each asked for it
    (~11 queries a mailbox). Only the backup of a resource writes its links, so nothing else changes them meanwhile;
    a write reaches the table first and the kept copy after, so a write that fails leaves both as they were. Other
    resources' states go to the table as before. Thread-safe: a mailbox's kinds run side by side."""

    def __init__(self, store: DeltaStates, resource: str) -> None:
        self._store = store
        self._resource = resource
        self._states: dict[tuple[str, str], DeltaState] | None = None
        self._lock = threading.Lock()

    def load(self, resource: str) -> dict[tuple[str, str], DeltaState]:
        if resource != self._resource:
            return self._store.load(resource)
        with self._lock:
            if self._states is None:
                self._states = self._store.load(resource)
            return dict(self._states)

    def save(self, resource: str, state: DeltaState) -> None:
        self._store.save(resource, state)
        if resource == self._resource:
            self._keep((state.category, state.container_id), state if state.delta_link else None)

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None:
        self._store.forget(resource, category, container_id, run_id)
        if resource == self._resource:
            self._keep((category, container_id), None)

    def _keep(self, key: tuple[str, str], state: DeltaState | None) -> None:
        with self._lock:
            if self._states is None:
                return  # not loaded yet: the first load reads the table, this write included
            if state is None:
                self._states.pop(key, None)
            else:
                self._states[key] = state
