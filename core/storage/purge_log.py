"""The record of purges (core/lifecycle/purge.py), kept in the runs table under their own partition ('purge', RowKey
= the purge id, which sorts in time order) and journaled like every runs-table write: one row per purge with what it
marked and removed, so `purges`, GET /api/v1/purges and an auditor can say what went and when."""

from __future__ import annotations

import json
from typing import Any

from azure.data.tables import TableClient, UpdateMode

from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

PURGE_PK = "purge"
COUNTS = ("resources", "held", "failed", "marked", "unmarked", "points", "versions", "blobs", "bytes",
          "still_protected", "still_referenced", "deferred", "erasures")  # fmt: skip
_TEXTS = ("status", "started_at", "finished_at", "trigger", "error")
_MAX_JSON = 30_000  # a table string property holds 64 KiB of UTF-16


class PurgeLog:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def record(self, summary: dict[str, Any]) -> None:
        """Write (or rewrite: a re-sent record leaves the same row) one purge's summary."""
        held = list(summary.get("held_resources") or [])
        while len(json.dumps(held)) > _MAX_JSON and held:
            held = held[: len(held) // 2]
        entity: dict[str, Any] = {"PartitionKey": PURGE_PK, "RowKey": summary["purge_id"]}
        entity.update({k: int(summary.get(k, 0) or 0) for k in COUNTS})
        entity.update({k: str(summary.get(k) or "")[:1000] for k in _TEXTS})
        entity["held_resources"] = json.dumps(held)
        if self._journal is not None:
            self._journal.record("runs", [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def latest(self, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent purges, newest first."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PURGE_PK})
        return [_summary(e) for e in sorted(rows, key=lambda e: e["RowKey"], reverse=True)[: max(limit, 0)]]


def _summary(entity: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"purge_id": entity["RowKey"], **{k: int(entity.get(k, 0) or 0) for k in COUNTS}}
    found.update({k: entity.get(k, "") for k in _TEXTS})
    found["held_resources"] = json.loads(entity.get("held_resources") or "[]")
    return found
