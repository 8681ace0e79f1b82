"""Delta state: one record per (resource, container) — a mail folder, a contact folder, a calendar, a drive —
holding the whole delta link Graph gave (never edited) and the container's path when it was saved.

The backup engine saves a record only after every item of the round is durably stored; a missing or unusable
record means a full enumeration of that container, never a failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from azure.data.tables import TableClient, UpdateMode

from core.storage import table_keys as keys
from core.storage.direct_batch import DirectTransaction
from core.storage.tables import REPLAY_SAFE


@dataclass(frozen=True)
class DeltaState:
    category: str
    container_id: str
    delta_link: str
    container_path: str
    run_id: str
    query: str = ""  # JSON of the query the round chain started with (a calendarView window), '' if unknown


class DeltaStateStore:
    def __init__(self, table: TableClient, direct: DirectTransaction | None = None) -> None:
        self._table = table
        self._direct = direct  # saves sent as a one-operation transaction, not through the SDK (direct_batch.py)

    def load(self, resource: str) -> dict[tuple[str, str], DeltaState]:
        pk = keys.escape(resource)
        states = {}
        for entity in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": pk}):
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
