"""Each resource's ransomware-signal baseline (core/signals/assessment.py): the shares of its last usable,
unflagged runs, as one row per resource in the runs table (partition 'signalbaseline', RowKey the escaped
resource). One read and one write per resource per run: no scan of history. Journaled like the points it
summarizes, so rebuild-catalog brings it back; were it lost, the signal would learn again over the next runs."""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

PARTITION = "signalbaseline"
_TABLE = "runs"  # the journal's short name of the runs table (core/storage/runs.py RUNS_TABLE)


class SignalBaselines:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def window(self, resource: str) -> list[dict[str, Any]]:
        """The resource's baseline entries (`run` and each share), oldest first; [] when it has none."""
        try:
            entity = self._table.get_entity(PARTITION, keys.escape(resource))
        except ResourceNotFoundError:
            return []
        except HttpResponseError as exc:
            raise StorageError(f"signal baseline of {resource} not read: {exc.message}") from exc
        return list(json.loads(entity.get("window") or "[]"))

    def save(self, resource: str, window: list[dict[str, Any]]) -> None:
        entity = {"PartitionKey": PARTITION, "RowKey": keys.escape(resource), "resource": resource,
                  "window": json.dumps(window, separators=(",", ":"))}  # fmt: skip
        if self._journal is not None:
            self._journal.record(_TABLE, [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def forget(self, resource: str) -> None:
        """Remove the resource's baseline (an erasure's or a purge's business), journaled as a delete first so
        rebuild-catalog never brings it back; a baseline already gone is no error."""
        entity = {"PartitionKey": PARTITION, "RowKey": keys.escape(resource)}
        if self._journal is not None:
            self._journal.record(_TABLE, [("delete", entity)])
        self._table.delete_entity(PARTITION, entity["RowKey"])
