"""Purge marks: what a purge found expired and will remove once PURGE_GRACE_HOURS have passed (core/lifecycle/
purge.py), kept in the runs table under partition 'purgemark', one row per marked restore point, version or blob:
RowKey = `kind|resource|key` (kind 'point': key = run id; 'version': key = the version's catalog RowKey; 'blob':
resource '' and key = the sha256), with `marked_at`. Marking again keeps the first `marked_at`, so a grace period
is never restarted by a purge that was stopped and run again.

Not journaled: a mark removes nothing by itself, and after a rebuild-catalog the next purge marks again (its grace
counted from then): a later removal, never an earlier one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.data.tables import TableClient, TransactionOperation

from core.storage import table_keys as keys

MARK_PK = "purgemark"
KINDS = ("point", "version", "blob")
_BATCH = 100


@dataclass(frozen=True)
class Mark:
    kind: str  # one of KINDS
    resource: str  # '' for a blob
    key: str  # run id, catalog RowKey, or sha256
    marked_at: str = ""  # ISO time of the first marking

    @property
    def row_key(self) -> str:
        return keys.join(self.kind, self.resource, self.key)

    def due(self, cutoff: datetime) -> bool:
        """Marked at or before `cutoff` (now - grace): the sweep may act on it."""
        return bool(self.marked_at) and datetime.fromisoformat(self.marked_at) <= cutoff


class PurgeMarks:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def of(self, kind: str, resource: str | None = None) -> dict[str, Mark]:
        """key -> mark, for every mark of `kind` (of one resource, when given), in one range query."""
        low, high = keys.prefix_range(kind, resource) if resource is not None else keys.prefix_range(kind)
        rows = self._table.query_entities("PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                                          parameters={"pk": MARK_PK, "low": low, "high": high})  # fmt: skip
        found = {}
        for row in rows:
            kind_of, res, key = keys.split(row["RowKey"])
            found[key] = Mark(kind_of, res, key, str(row.get("marked_at") or ""))
        return found

    def resources(self) -> set[str]:
        """Every resource with a point or version mark (a resource whose points are all gone still has versions)."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": MARK_PK}, select=["RowKey"])
        return {keys.split(r["RowKey"])[1] for r in rows} - {""}

    def mark(self, marks: Iterable[Mark], existing: dict[str, Mark] | None = None) -> int:
        """Record the marks not in `existing` (as `of` returned it), never replacing one already recorded (its
        first `marked_at` stays); returns how many were sent."""
        new = {m.row_key: m for m in marks if existing is None or m.key not in existing}
        ops = [(TransactionOperation.CREATE, _entity(m)) for m in new.values()]
        self._submit(ops)
        return len(ops)

    def unmark(self, marks: Iterable[Mark]) -> int:
        row_keys = sorted({m.row_key for m in marks})
        ops = [(TransactionOperation.DELETE, {"PartitionKey": MARK_PK, "RowKey": rk}) for rk in row_keys]
        self._submit(ops)
        return len(ops)

    def _submit(self, ops: list) -> None:
        for start in range(0, len(ops), _BATCH):
            chunk = ops[start : start + _BATCH]
            try:
                self._table.submit_transaction(chunk)
            except HttpResponseError:  # a row already there (create) or gone (delete) fails the batch: one by one
                for op, entity in chunk:
                    if op == TransactionOperation.DELETE:
                        self._table.delete_entity(MARK_PK, entity["RowKey"])
                    else:
                        with contextlib.suppress(ResourceExistsError):
                            self._table.create_entity(entity)


def _entity(mark: Mark) -> dict[str, str]:
    return {"PartitionKey": MARK_PK, "RowKey": mark.row_key, "marked_at": mark.marked_at, "kind": mark.kind,
            "resource": mark.resource}  # fmt: skip
