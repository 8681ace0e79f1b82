"""A backup run's resource list, kept in the runs table so that the Durable orchestrations pass a reference to it
instead of the list itself (their histories then hold counts and references, not one entry per resource). The
scheduled verification and purge keep theirs the same way.

Partition `<use>|<id>` (`runresources|<run id>` for a backup run; `verifyresources|<verification id>` and
`purgeresources|<purge id>`), one row per batch: RowKey `<list id>|<batch index, 6 digits>`, the batch's
resource keys as JSON in `keys` (cut over `keys1`, `keys2`… when longer than a table string property holds). A
list is written once, by the activity that discovered (or was given) the resources, under a list id of its own:
an activity that runs twice (Durable runs activities at least once) writes a second list beside the first, and
the orchestration reads only the one whose id its history recorded. The lists are removed when the run (the
verification, the purge) finishes (`forget`); one that never finished leaves its partition behind, harmless and
small.

Not journaled and not content: a working list of the orchestration, which nothing reads after its run; not in the
content container either, whose blobs are write-once and (in Azure) immutable, so a list there could never be
removed, and would keep the user ids of a person whose data an erasure removed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TableTransactionError, TransactionOperation

from core.errors import StorageError
from core.planning import plan_batches
from core.storage import table_keys as keys
from core.storage.tables import REPLAY_SAFE

PARTITION_PREFIX = "runresources"  # a backup run's list
VERIFY_PREFIX, PURGE_PREFIX = "verifyresources", "purgeresources"  # a verification's, a purge's
_MAX_PROPERTY_CHARS = 30_000  # a table string property holds 64 KiB of UTF-16
_MAX_PROPERTIES = 30  # ~900,000 characters: under the 1 MiB an entity may hold
_TRANSACTION = 100  # rows per table transaction (one partition)


def partition(run_id: str, prefix: str = PARTITION_PREFIX) -> str:
    return keys.join(prefix, run_id)


def _row_key(list_id: str, batch: int) -> str:
    return keys.join(list_id, f"{batch:06d}")


class RunResources:
    def __init__(self, table: TableClient, prefix: str = PARTITION_PREFIX) -> None:
        self._table = table
        self._prefix = prefix  # the partition name of this use: one partition per (use, id)

    def store(self, run_id: str, resources: Sequence[str], batch_size: int) -> tuple[str, int]:
        """Write `resources` as batches of `batch_size`; returns (the list id, how many batches)."""
        list_id = secrets.token_hex(6)
        rows = [
            self._row(run_id, list_id, index, batch) for index, batch in enumerate(plan_batches(resources, batch_size))
        ]
        try:
            for first in range(0, len(rows), _TRANSACTION):
                operations = [(TransactionOperation.UPSERT, row) for row in rows[first : first + _TRANSACTION]]
                self._table.submit_transaction(operations, **REPLAY_SAFE)
        except HttpResponseError as exc:
            raise StorageError(f"resource list of run {run_id} not stored: {exc.message}") from exc
        return list_id, len(rows)

    def _row(self, run_id: str, list_id: str, index: int, batch: list[str]) -> dict:
        text = json.dumps(batch, separators=(",", ":"))
        parts = [text[i : i + _MAX_PROPERTY_CHARS] for i in range(0, len(text), _MAX_PROPERTY_CHARS)]
        if len(parts) > _MAX_PROPERTIES:
            raise StorageError(f"batch {index} of run {run_id} is too long to store ({len(text)} characters)")
        pk = partition(run_id, self._prefix)
        row = {"PartitionKey": pk, "RowKey": _row_key(list_id, index), "parts": len(parts)}
        row.update({("keys" if n == 0 else f"keys{n}"): part for n, part in enumerate(parts)})
        return row

    def batch(self, run_id: str, list_id: str, index: int) -> list[str]:
        """The resource keys of batch `index` of list `list_id`. Raises StorageError when it cannot be read."""
        try:
            row = self._table.get_entity(partition(run_id, self._prefix), _row_key(list_id, index))
        except HttpResponseError as exc:
            raise StorageError(f"batch {index} of run {run_id} (list {list_id}) not read: {exc.message}") from exc
        parts = int(row.get("parts") or 1)
        return json.loads("".join(str(row["keys" if n == 0 else f"keys{n}"]) for n in range(parts)))

    def forget(self, run_id: str) -> int:
        """Remove every list of the run (its partition); returns how many rows were removed."""
        pk = partition(run_id, self._prefix)
        try:
            found = [row["RowKey"] for row in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": pk}, select=["RowKey"])]  # fmt: skip
            for first in range(0, len(found), _TRANSACTION):
                rows = [{"PartitionKey": pk, "RowKey": row} for row in found[first : first + _TRANSACTION]]
                try:
                    self._table.submit_transaction([(TransactionOperation.DELETE, row) for row in rows], **REPLAY_SAFE)
                except TableTransactionError:  # a row already gone (a delete sent again): one by one, 404s ignored
                    for row in rows:
                        self._table.delete_entity(row["PartitionKey"], row["RowKey"])
        except HttpResponseError as exc:
            raise StorageError(f"resource lists of run {run_id} not removed: {exc.message}") from exc
        return len(found)
