"""Legal holds: resources whose backup nothing may remove (neither the purge nor an erasure), kept in the runs table
under their own partition ('hold', RowKey = the escaped resource key) and journaled like every runs-table write, so
a rebuilt catalog keeps its holds. A hold names who set it, when and why; clearing one removes the row (the audit log
keeps the history)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from core.storage import table_keys as keys
from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

HOLD_PK = "hold"
JOURNAL_TABLE = "runs"


class LegalHolds:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def place(self, resource: str, by: str, reason: str) -> dict[str, Any]:
        """Hold the resource (placing it again replaces who, when and why)."""
        entity = {"PartitionKey": HOLD_PK, "RowKey": keys.escape(resource), "resource": resource}
        entity.update(placed_by=by, reason=reason, placed_at=datetime.now(UTC).isoformat())
        if self._journal is not None:
            self._journal.record(JOURNAL_TABLE, [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)
        return _hold(entity)

    def release(self, resource: str) -> bool:
        """Clear the hold; False when the resource held none."""
        row_key = keys.escape(resource)
        try:
            self._table.get_entity(HOLD_PK, row_key)
        except ResourceNotFoundError:
            return False
        if self._journal is not None:
            self._journal.record(JOURNAL_TABLE, [("delete", {"PartitionKey": HOLD_PK, "RowKey": row_key})])
        self._table.delete_entity(HOLD_PK, row_key)
        return True

    def get(self, resource: str) -> dict[str, Any] | None:
        try:
            return _hold(self._table.get_entity(HOLD_PK, keys.escape(resource)))
        except ResourceNotFoundError:
            return None

    def all(self) -> dict[str, dict[str, Any]]:
        """resource -> its hold (who, when, why), one query."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": HOLD_PK})
        return {h["resource"]: h for h in map(_hold, rows)}

    def held(self) -> set[str]:
        return set(self.all())


def _hold(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: entity.get(k, "") for k in ("resource", "placed_by", "placed_at", "reason")}
