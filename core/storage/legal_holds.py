"""Legal holds: resources whose backup nothing may remove (neither the purge nor an erasure), kept in the runs table
under their own partition ('hold', RowKey = the escaped resource key) and journaled like every runs-table write, so
a rebuilt catalog keeps its holds. A hold names who set it, when and why. Releasing one rewrites its row as released
(who, when) rather than deleting it: the app's identity cannot delete rows of the runs table (only the purge's can),
and the row then says when the resource last left a hold; the audit log keeps the whole history."""

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

    def release(self, resource: str, by: str = "") -> bool:
        """Clear the hold; False when the resource held none."""
        current = self._row(resource)
        if current is None or current.get("released_at"):
            return False
        entity = {"PartitionKey": HOLD_PK, "RowKey": keys.escape(resource), "resource": resource}
        entity.update({k: current.get(k, "") for k in ("placed_by", "placed_at", "reason")})
        entity.update(released_by=by, released_at=datetime.now(UTC).isoformat())
        if self._journal is not None:
            self._journal.record(JOURNAL_TABLE, [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)
        return True

    def _row(self, resource: str) -> dict[str, Any] | None:
        try:
            return dict(self._table.get_entity(HOLD_PK, keys.escape(resource)))
        except ResourceNotFoundError:
            return None

    def get(self, resource: str) -> dict[str, Any] | None:
        """The resource's hold, None when it is not held (never held, or released)."""
        row = self._row(resource)
        return _hold(row) if row is not None and not row.get("released_at") else None

    def all(self) -> dict[str, dict[str, Any]]:
        """resource -> its hold (who, when, why) for every resource held now, one query."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": HOLD_PK})
        return {h["resource"]: h for h in (_hold(r) for r in rows if not r.get("released_at"))}

    def held(self) -> set[str]:
        return set(self.all())


def _hold(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: entity.get(k, "") for k in ("resource", "placed_by", "placed_at", "reason")}
