"""The record of content verifications (core/verify.py), kept in the runs table under their own partition
('verification', RowKey = the verification id, which sorts in time order): one row per verification with its
counts and its first problems, so the CLI, the API and the dashboard can say when content was last proven intact."""

from __future__ import annotations

import json
from typing import Any

from azure.data.tables import TableClient, UpdateMode

from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

VERIFICATION_PK = "verification"
COUNTS = ("resources", "versions", "blobs", "checked", "bytes", "missing", "corrupted", "unreadable")
_MAX_PROBLEMS_JSON = 30_000  # a table string property holds 64 KiB of UTF-16


class VerificationLog:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def record(self, summary: dict[str, Any]) -> None:
        """Write (or rewrite: a re-sent record leaves the same row) one verification's summary."""
        problems = list(summary.get("problems") or [])
        text = json.dumps(problems)
        while len(text) > _MAX_PROBLEMS_JSON and problems:
            problems = problems[: len(problems) // 2]
            text = json.dumps([*problems, {"problem": "more problems not listed"}])
        entity: dict[str, Any] = {"PartitionKey": VERIFICATION_PK, "RowKey": summary["verification_id"]}
        entity.update({k: int(summary.get(k, 0)) for k in COUNTS})
        entity.update({k: str(summary.get(k) or "") for k in ("status", "started_at", "finished_at", "trigger")})
        entity["sample"] = float(summary.get("sample", 1.0))
        entity["problems"] = text
        if self._journal is not None:
            self._journal.record("runs", [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def latest(self, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent verifications, newest first."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": VERIFICATION_PK})
        newest = sorted(rows, key=lambda e: e["RowKey"], reverse=True)[: max(limit, 0)]
        return [_summary(e) for e in newest]


def _summary(entity: dict[str, Any]) -> dict[str, Any]:
    found = {"verification_id": entity["RowKey"], **{k: int(entity.get(k, 0) or 0) for k in COUNTS}}
    found.update({k: entity.get(k, "") for k in ("status", "started_at", "finished_at", "trigger")})
    found["sample"] = float(entity.get("sample", 1.0) or 1.0)
    found["problems"] = json.loads(entity.get("problems") or "[]")
    return found
