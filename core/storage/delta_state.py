"""Delta state: one record per (resource, container) — a mail folder, a contact folder, a calendar, a drive —
holding the whole delta link Graph gave (never edited) and the container's path when it was saved.

The backup engine saves a record only after every item of the round is durably stored; a missing or unusable
record means a full enumeration of that container, never a failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from core.errors import StorageError
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

    def save_all(self, resource: str, states: Sequence[DeltaState]) -> None: ...

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None: ...


_TRANSACTION_LIMIT = 100  # operations in one entity group transaction


def _entity(resource: str, state: DeltaState) -> dict[str, str]:
    return {
        "PartitionKey": keys.escape(resource),
        "RowKey": keys.join(state.category, state.container_id),
        "delta_link": state.delta_link,
        "container_path": state.container_path,
        "run_id": state.run_id,
        "query": state.query,
        "saved_at": datetime.now(UTC).isoformat(),
    }


class DeltaStateStore:
    def __init__(
        self, table: TableClient, direct: DirectTransaction | None = None, reader: DirectQuery | None = None
    ) -> None:
        self._table = table
        self._direct = direct  # saves sent as a one-operation transaction, not through the SDK (direct_batch.py)
        self._reader = reader  # a resource's states read with one signed GET, not through the SDK (direct_query.py)
        self.loads = 0  # partitions queried (what ResourceDeltaStates saves: tests read it)
        self.writes = 0  # transactions and upserts sent (the same)
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

    def _wrote(self) -> None:
        with self._count:
            self.writes += 1

    def save(self, resource: str, state: DeltaState) -> None:
        self._wrote()
        entity = _entity(resource, state)
        if self._direct is not None and self._direct.submit([("replace", entity)]):
            return
        try:
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)
        except HttpResponseError as exc:  # as save_all raises it: the app's error, not the SDK's
            raise StorageError(f"delta link of {resource} {state.category} not saved: {exc.message}") from exc

    def save_all(self, resource: str, states: Sequence[DeltaState]) -> None:
        """Several of one resource's states (one partition): a transaction per 100, each applied whole or not."""
        entities = [_entity(resource, state) for state in states]
        for start in range(0, len(entities), _TRANSACTION_LIMIT):
            chunk = entities[start : start + _TRANSACTION_LIMIT]
            self._wrote()
            if self._direct is not None and self._direct.submit([("replace", entity) for entity in chunk]):
                continue
            upserts = [(TransactionOperation.UPSERT, entity, {"mode": UpdateMode.REPLACE}) for entity in chunk]
            try:
                self._table.submit_transaction(upserts, **REPLAY_SAFE)  # type: ignore[arg-type]
            except HttpResponseError as exc:
                raise StorageError(f"{len(chunk)} delta links of {resource} not saved: {exc.message}") from exc

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None:
        """The container is gone from the tenant: its link is cleared (the record stays, for the audit trail)."""
        entity = {"PartitionKey": keys.escape(resource), "RowKey": keys.join(category, container_id),
                  "delta_link": "", "removed_run": run_id}  # fmt: skip
        try:
            self._table.upsert_entity(entity, mode=UpdateMode.MERGE, **REPLAY_SAFE)
        except HttpResponseError as exc:
            what = f"{resource} {category} {container_id}"
            raise StorageError(f"delta link of {what} not cleared: {exc.message}") from exc


HOLD_AT_MOST = 25  # links a resource's backup holds before it sends them
HOLD_AT_MOST_S = 30.0  # nor longer than this: what a crash makes the next run do again stays small


class ResourceDeltaStates:
    """One resource's delta state for the length of its backup (core/backup.py): its partition queried once, then
    kept as this backup saves and forgets links; the kinds, trees and held items of a mailbox each asked for it
    (~11 queries a mailbox). Only the backup of a resource writes its links, so nothing else changes them meanwhile.

    Its links are saved together: a link saved (its round's content and catalog rows already stored) is held and
    sent with the others in one transaction once `HOLD_AT_MOST` are held or the oldest was held `HOLD_AT_MOST_S`,
    and when the backup ends (`flush`, core/backup.py, whether it succeeded or not), instead of one transaction per
    container (~18 a mailbox). A link that never reaches the table (the process stopped, the write failed) leaves the
    one before it there: the next run goes through that round again, which stores nothing twice, as after a crash
    between a round's content and its link. The kept copy has every link saved, sent or not. Other resources' states
    go to the table as before. Thread-safe: a mailbox's kinds run side by side."""

    def __init__(self, store: DeltaStates, resource: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._resource = resource
        self._states: dict[tuple[str, str], DeltaState] | None = None
        self._held: dict[tuple[str, str], DeltaState] = {}
        self._held_since = 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # one flush at a time: an older link never lands after a newer one

    def load(self, resource: str) -> dict[tuple[str, str], DeltaState]:
        if resource != self._resource:
            return self._store.load(resource)
        with self._lock:
            if self._states is None:
                self._states = self._store.load(resource)
                for key, state in self._held.items():  # saved before the first load, not sent yet
                    self._keep(key, state if state.delta_link else None)
            return dict(self._states)

    def save(self, resource: str, state: DeltaState) -> None:
        if resource != self._resource:
            self._store.save(resource, state)
            return
        key = (state.category, state.container_id)
        with self._lock:
            if not self._held:
                self._held_since = self._clock()
            self._held[key] = state
            self._keep(key, state if state.delta_link else None)
            due = len(self._held) >= HOLD_AT_MOST or self._clock() - self._held_since >= HOLD_AT_MOST_S
        if due:
            self.flush()

    def save_all(self, resource: str, states: Sequence[DeltaState]) -> None:
        for state in states:
            self.save(resource, state)

    def flush(self) -> None:
        """Send the links held (one transaction per 100). A failed send keeps them held, and raises."""
        with self._sending:
            with self._lock:
                held, self._held = self._held, {}
            if not held:
                return
            try:
                self._store.save_all(self._resource, list(held.values()))
            except Exception:
                with self._lock:
                    self._held = {**held, **self._held}  # a link saved meanwhile is newer
                raise

    def forget(self, resource: str, category: str, container_id: str, run_id: str) -> None:
        if resource == self._resource:
            self.flush()  # in the order they were made
        self._store.forget(resource, category, container_id, run_id)
        if resource == self._resource:
            with self._lock:
                self._keep((category, container_id), None)

    def _keep(self, key: tuple[str, str], state: DeltaState | None) -> None:
        if self._states is None:
            return  # not loaded yet: the first load reads the table, with the links held laid over it
        if state is None:
            self._states.pop(key, None)
        else:
            self._states[key] = state
