"""What an erasure removes beyond the shared removal primitives (core/lifecycle/removal.py: points, versions, blobs):
the journal blobs that hold the person's catalog and restore point rows, and the rows of the tables that are not
journaled (delta state, quarantine). Kept apart because only an erasure removes these; idempotent like the rest.

Journal blobs (core/storage/journal.py) are write-once copies of table writes. A catalog write is one resource's
transaction, a restore point write one row: so a journal blob holds either nothing of the person or only the person's
rows, and then names, subjects, senders and paths of their items. Such a blob is deleted once its immutability has
ended. A blob that holds only deletes (the removal primitives journal every removed row as a delete first) is kept:
it holds keys, not metadata, and it is what keeps a rebuild from bringing back rows whose older journal blobs are
still immutable. A blob that mixed the person's rows with others' (no writer does this) would be kept and counted."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient

from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.journal import PREFIX
from core.storage.tables import container_client, table_clients

JOURNALED_PER_RESOURCE = ("catalog", "restorepoints")  # journals whose PartitionKey is the resource key
UNJOURNALED_PER_RESOURCE = ("deltastate", "quarantine")  # tables keyed by resource the journal never holds

if TYPE_CHECKING:
    from core.bootstrap import Services


@dataclass
class JournalFindings:
    """The journal blobs that hold a set of resources' rows."""

    rows: set[str] = field(default_factory=set)  # only their rows (upserts): to delete
    mixed: int = 0  # their rows beside other partitions' (kept)
    deletes: int = 0  # only deletes by key of their rows (kept: they keep a rebuild from resurrecting them)


def find_journal_blobs(services: Services, resources: Iterable[str]) -> JournalFindings:
    """Read the catalog and restore point journals through, once, for blobs that hold the resources' rows."""
    partitions = {keys.escape(r) for r in resources}
    found = JournalFindings()
    container = container_client(services.settings)
    try:
        for table in JOURNALED_PER_RESOURCE:
            for blob in container.list_blobs(name_starts_with=f"{PREFIX}{table}/"):
                ops = json.loads(container.download_blob(blob.name).readall()).get("ops") or []
                theirs = [op for op in ops if op.get("entity", {}).get("PartitionKey") in partitions]
                if not theirs:
                    continue
                if len(theirs) < len(ops):
                    found.mixed += 1
                elif all(op.get("mode") == "delete" for op in theirs):
                    found.deletes += 1
                else:
                    found.rows.add(blob.name)
    except HttpResponseError as exc:
        raise StorageError(f"could not read the journal: {exc.message}") from exc
    return found


def remove_journal_blobs(services: Services, names: Iterable[str], now: datetime) -> tuple[set[str], set[str]]:
    """Delete journal blobs whose immutability has ended: (settled: deleted or already gone, still protected)."""
    wanted = sorted(set(names))
    if not wanted:
        return set(), set()
    until = services.immutability.protected_until(wanted)
    container = container_client(services.settings)
    settled: set[str] = set()
    protected: set[str] = set()
    for name in wanted:
        end = until.get(name)
        if end is not None and end > now:
            protected.add(name)
            continue
        try:
            container.delete_blob(name)
        except ResourceNotFoundError:
            pass
        except HttpResponseError as exc:
            if exc.status_code != 409:  # 409: the service still protects it (BlobImmutableDueToPolicy)
                raise StorageError(f"could not delete journal blob {name}: {exc.message}") from exc
            protected.add(name)
            continue
        settled.add(name)
    return settled, protected


def remove_unjournaled_rows(services: Services, resource: str) -> dict[str, int]:
    """Delete the resource's delta state and quarantine rows (its whole partition in each): table -> rows."""
    tables = table_clients(services.settings, create=False)
    return {name: _remove_partition(tables[name], resource) for name in UNJOURNALED_PER_RESOURCE}


def count_unjournaled_rows(services: Services, resource: str) -> dict[str, int]:
    tables = table_clients(services.settings, create=False)
    return {name: len(_row_keys(tables[name], resource)) for name in UNJOURNALED_PER_RESOURCE}


def _row_keys(table: TableClient, resource: str) -> list[str]:
    rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": keys.escape(resource)}, select=["RowKey"])
    return [row["RowKey"] for row in rows]


def _remove_partition(table: TableClient, resource: str) -> int:
    pk = keys.escape(resource)
    found = _row_keys(table, resource)
    for row_key in found:
        table.delete_entity(pk, row_key)  # a row already gone is no error
    return len(found)
