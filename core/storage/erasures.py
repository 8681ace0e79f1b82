"""The record of erasures (core/lifecycle/erasure.py) and their pending marks, in the runs table, journaled like
every runs-table write (so a rebuilt catalog still knows what was erased and what is left to erase):

    partition 'erasure'          one row per erasure (RowKey = the erasure id, which sorts in time order): the user
                                 (its object id only: no UPN or name is kept),
                                 the resources, the counts of what was removed, status 'running' | 'completed' |
                                 'pending' (blobs or journal blobs still immutable) and the plan's code
    partition 'erasure-blob'     one row per content blob (RowKey = its sha256) that only the erased person's
                                 versions referenced and that is not deleted yet (immutable, a backup was running):
                                 written BEFORE the versions are removed, so a process stopped at any moment still
                                 knows which blobs to delete; cleared once the blob is gone (or referenced again)
    partition 'erasure-journal'  one row per journal blob holding the person's catalog or restore point rows (RowKey =
                                 its escaped name), not deleted yet because its immutability has not ended

Marks carry the user id, so a rerun of the same person's erasure (or `finish_pending`) takes them up again."""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from core.storage import table_keys as keys
from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE

ERASURE_PK, BLOB_MARK_PK, JOURNAL_MARK_PK = "erasure", "erasure-blob", "erasure-journal"
COUNTS = ("resources", "points", "versions", "bytes", "blobs_removed", "blob_bytes", "blobs_shared",
          "blobs_pending", "journal_removed", "journal_pending", "delta_rows", "quarantine_rows")  # fmt: skip
_TEXT = ("user", "status", "started_at", "finished_at", "code", "by", "error")
_MAX_JSON = 30_000  # a table string property holds 64 KiB of UTF-16
_BATCH = 100


class ErasureLog:
    def __init__(self, table: TableClient, journal: Journal | None = None) -> None:
        self._table = table
        self._journal = journal

    def _write(self, ops: list[tuple[str, dict[str, Any]]]) -> None:
        """Journal first (so a rebuild never lacks a row the table holds, nor brings back one removed), then one
        atomic transaction per partition and 100 rows."""
        for start in range(0, len(ops), _BATCH):
            chunk = ops[start : start + _BATCH]
            if self._journal is not None:
                self._journal.record("runs", chunk)
            operations = [_operation(mode, entity) for mode, entity in chunk]
            try:
                self._table.submit_transaction(operations, **REPLAY_SAFE)
            except HttpResponseError:  # a mark of the batch is gone already (a stopped erasure): one by one
                for mode, entity in chunk:
                    if mode == "delete":
                        self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])
                    else:
                        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    # -- the erasure records ---------------------------------------------------------------------------------
    def record(self, summary: dict[str, Any]) -> None:
        """Write (or rewrite) one erasure's row: its counts, status and resources."""
        entity: dict[str, Any] = {"PartitionKey": ERASURE_PK, "RowKey": summary["erasure_id"]}
        entity.update({k: int(summary.get(k, 0) or 0) for k in COUNTS})
        entity.update({k: str(summary.get(k) or "") for k in _TEXT})
        entity["resource_keys"] = json.dumps(list(summary.get("resource_keys") or []))[:_MAX_JSON]
        entity["not_erased"] = json.dumps(list(summary.get("not_erased") or []))[:_MAX_JSON]
        if self._journal is not None:
            self._journal.record("runs", [("replace", entity)])
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def latest(self, limit: int = 20, user: str | None = None) -> list[dict[str, Any]]:
        """The most recent erasures (of `user`, if given), newest first."""
        query, params = "PartitionKey eq @pk", {"pk": ERASURE_PK}
        if user:
            query += " and user eq @user"
            params["user"] = user
        rows = self._table.query_entities(query, parameters=params)
        newest = sorted(rows, key=lambda e: e["RowKey"], reverse=True)[: max(limit, 0)]
        return [_summary(e) for e in newest]

    # -- pending marks ---------------------------------------------------------------------------------------
    def mark_blobs(self, user: str, erasure_id: str, sha256s: set[str]) -> None:
        self._write([("replace", _mark(BLOB_MARK_PK, sha, user, erasure_id)) for sha in sorted(sha256s)])

    def mark_journal(self, user: str, erasure_id: str, names: set[str]) -> None:
        marks = [("replace", _mark(JOURNAL_MARK_PK, keys.escape(name), user, erasure_id)) for name in sorted(names)]
        self._write(marks)

    def unmark_blobs(self, sha256s: set[str]) -> None:
        self._write([("delete", {"PartitionKey": BLOB_MARK_PK, "RowKey": sha}) for sha in sorted(sha256s)])

    def unmark_journal(self, names: set[str]) -> None:
        ops = [("delete", {"PartitionKey": JOURNAL_MARK_PK, "RowKey": keys.escape(name)}) for name in sorted(names)]
        self._write(ops)

    def pending_blobs(self, user: str | None = None) -> set[str]:
        """The sha256s still to delete (of `user`'s erasures, or of every erasure)."""
        return {e["RowKey"] for e in self._marks(BLOB_MARK_PK, user)}

    def pending_journal(self, user: str | None = None) -> set[str]:
        return {keys.unescape(e["RowKey"]) for e in self._marks(JOURNAL_MARK_PK, user)}

    def pending_users(self) -> set[str]:
        """Every user some mark is still pending for."""
        return {str(e.get("user") or "") for pk in (BLOB_MARK_PK, JOURNAL_MARK_PK) for e in self._marks(pk, None)}

    def _marks(self, partition: str, user: str | None) -> list[dict[str, Any]]:
        query, params = "PartitionKey eq @pk", {"pk": partition}
        if user:
            query += " and user eq @user"
            params["user"] = user
        return list(self._table.query_entities(query, parameters=params, select=["RowKey", "user"]))


def _operation(mode: str, entity: dict[str, Any]) -> tuple[Any, ...]:
    if mode == "delete":
        return (TransactionOperation.DELETE, entity)
    return (TransactionOperation.UPSERT, entity, {"mode": mode})


def _mark(partition: str, row_key: str, user: str, erasure_id: str) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": row_key, "user": user, "erasure_id": erasure_id}


def _summary(entity: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"erasure_id": entity["RowKey"]}
    found.update({k: str(entity.get(k) or "") for k in _TEXT})
    found.update({k: int(entity.get(k, 0) or 0) for k in COUNTS})
    found["resource_keys"] = json.loads(entity.get("resource_keys") or "[]")
    found["not_erased"] = json.loads(entity.get("not_erased") or "[]")
    return found
