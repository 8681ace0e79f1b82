"""`python -m core rebuild-catalog`: recreate the runs, restore point, catalog and audit tables from the journal
(core/storage/journal.py), the write-once copy of every write to them kept in the content container. Use it when
the tables are lost, damaged or deleted: afterwards every restore point restores what it did before.

The journal is replayed table by table in the order it was written; every operation is an upsert or a create, so
a replay into tables that still hold rows (some, or all) leaves the same rows, and running it twice is harmless.
One repair follows: a version the journal holds but the table never committed (its writer stopped between the
two writes) may leave an item with two live versions; the older one is ended where the newer one begins, as the
next backup would have done. The delta state is not rebuilt: each resource's next backup starts with a full delta
round, compared against the rebuilt catalog (unchanged items are not downloaded again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.journal import Journal
from core.storage.tables import REPLAY_SAFE, container_client, table_clients

if TYPE_CHECKING:
    from core.config import Settings

JOURNALED = ("runs", "restorepoints", "catalog", "audit")  # the order they are rebuilt in
_MODES = {"replace": UpdateMode.REPLACE, "merge": UpdateMode.MERGE}
_REFUSED = {400, 413}  # a write the service rejects as sent (too large, invalid): it was refused the first time too


def _apply(table: TableClient, ops: list[dict[str, Any]]) -> int:
    """One journal entry's operations, as they were sent: a catalog transaction again as one transaction."""
    creates = [op for op in ops if op["mode"] == "create"]
    for op in creates:
        try:
            table.create_entity(op["entity"])
        except ResourceExistsError:
            pass  # replayed before, or still there
    upserts = [op for op in ops if op["mode"] in _MODES]
    if len({op["entity"]["PartitionKey"] for op in upserts}) == 1 and len(upserts) > 1:
        operations = [(TransactionOperation.UPSERT, op["entity"], {"mode": op["mode"]}) for op in upserts]
        table.submit_transaction(operations, **REPLAY_SAFE)
    else:
        for op in upserts:
            table.upsert_entity(op["entity"], mode=_MODES[op["mode"]], **REPLAY_SAFE)
    for op in ops:  # a removal (purge, erasure, a cleared hold) stays removed: deleting what is gone is a no-op
        if op["mode"] == "delete":
            table.delete_entity(op["entity"]["PartitionKey"], op["entity"]["RowKey"])
    return len(ops)


def _live_duplicates(catalog: TableClient) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(partition, the live versions of one item, oldest first) for every item with more than one live version."""
    live: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    columns = ["PartitionKey", "RowKey", "first_seen_run"]
    for entity in catalog.query_entities("deleted_run eq ''", select=columns, results_per_page=1000):
        category, item_id, _first = keys.split(entity["RowKey"])
        live.setdefault((entity["PartitionKey"], category, item_id), []).append(entity)
    for (partition, _category, _item), versions in live.items():
        if len(versions) > 1:
            yield partition, sorted(versions, key=lambda e: e["first_seen_run"])


def rebuild_catalog(settings: Settings) -> dict[str, Any]:
    """Replay the journal into the tables (created if missing); returns what was replayed and repaired."""
    journal = Journal(container_client(settings))
    tables = table_clients(settings, create=True)
    report: dict[str, Any] = {"entries": {}, "operations": {}, "refused": 0, "repaired": 0}
    try:
        for name in JOURNALED:
            entries = operations = 0
            for entry in journal.entries(name):
                entries += 1
                try:
                    operations += _apply(tables[name], entry["ops"])
                except HttpResponseError as exc:
                    if exc.status_code not in _REFUSED:
                        raise
                    report["refused"] += 1  # the table refused this write when it was made too: it never held it
            report["entries"][name], report["operations"][name] = entries, operations
        for partition, versions in _live_duplicates(tables["catalog"]):
            for older, newer in pairwise(versions):
                end = {"PartitionKey": partition, "RowKey": older["RowKey"], "deleted_run": newer["first_seen_run"]}
                tables["catalog"].upsert_entity(end, mode=UpdateMode.MERGE, **REPLAY_SAFE)
                report["repaired"] += 1
    except HttpResponseError as exc:
        raise StorageError(f"the rebuild stopped (run it again to finish): {exc.message}") from exc
    return report


def add_rebuild_parser(sub: Any) -> None:
    """`python -m core rebuild-catalog` (core/cli.py adds it)."""
    p = sub.add_parser("rebuild-catalog", help="recreate the runs, restore point, catalog and audit tables from "
                       "the write-once journal in the content container (safe to run again)")  # fmt: skip
    p.add_argument("--json", action="store_true")


def rebuild_command(services: Any, args: Any) -> int:
    report = rebuild_catalog(services.settings)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        counts = ", ".join(f"{name} {report['operations'][name]} writes" for name in JOURNALED)
        print(f"rebuilt from the journal: {counts}; {report['repaired']} duplicate live versions ended, "
              f"{report['refused']} writes refused as when they were made")  # fmt: skip
    return 0
