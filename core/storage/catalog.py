"""The catalog: every version of every backed-up item, so a resource can be reconstructed as of any run.

One entity per item version in table `{prefix}catalog`: PartitionKey = resource key, RowKey =
`category|item id|first-seen run`. A version is live from its first-seen run until `deleted_run` (empty while
live): as of run R the resource holds exactly the versions with first_seen_run <= R < deleted_run. Folders are
versioned the same way under category 'folder', so paths as of any run are known too.

Writes go through a `CatalogWriter`, which batches operations into atomic table transactions (one partition per
resource, at most 100 operations each). Reads are counted (`Catalog.reads`: queries sent and rows returned, by
category), so tests and benches can show what a use case reads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation

from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.direct_batch import DirectTransaction
from core.storage.direct_query import DirectQuery, entity_pages, query_entities
from core.storage.journal import Journal
from core.storage.open_versions import OPEN_FIELDS as _OPEN_FIELDS
from core.storage.open_versions import OpenVersion, open_version
from core.storage.open_versions import open_query as _open_query
from core.storage.shared_rows import SharedReads
from core.storage.tables import REPLAY_SAFE

FOLDER = "folder"
JOURNAL_TABLE = "catalog"  # the short name of the table (core/storage/tables.py TABLES) its journal replays into
_TRANSACTION_LIMIT = 100
POINT_READS = 200  # a LiveIndex's first page, and the items it reads one by one before it loads them all


@dataclass(frozen=True)
class ItemVersion:
    category: str  # 'mail', 'folder', 'contact', 'cfolder', 'event', 'calendar', 'file', 'dfolder'
    item_id: str
    first_seen_run: str
    folder_id: str = ""  # parent container id ('' for a top-level folder)
    folder_path: str = ""  # the parent's path when captured; for a folder, its own path
    deleted_run: str = ""
    content_hash: str = ""
    size: int = 0
    name: str = ""  # subject of a message, display name of a folder
    sender: str = ""
    received: str = ""
    modified: str = ""
    change_key: str = ""
    internet_message_id: str = ""
    has_attachments: bool = False
    is_read: bool = False
    container_id: str = ""  # the drive of a file or drive folder ('' for mail)
    extra: str = ""  # workload-specific metadata as JSON (e.g. a file's permissions, created/modified by)
    recipients: str = ""  # mail: lower-cased to/cc/bcc addresses, de-duplicated, ';'-joined (search only)

    def live_at(self, run_id: str) -> bool:
        return self.first_seen_run <= run_id and (not self.deleted_run or self.deleted_run > run_id)

    def to_entity(self, resource: str) -> dict[str, Any]:
        entity = {name: getattr(self, name) for name in _VERSION_FIELDS}  # asdict() would deep-copy each value
        entity["PartitionKey"] = keys.escape(resource)
        entity["RowKey"] = keys.join(self.category, self.item_id, self.first_seen_run)
        return entity

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> ItemVersion:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in entity.items() if k in names})


_VERSION_FIELDS = tuple(f.name for f in fields(ItemVersion))


@dataclass
class CatalogReads:
    """What a Catalog read: queries sent and rows (entities) returned, by category. Thread-safe."""

    queries: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def query(self, category: str) -> None:
        with self._lock:
            self.queries[category] += 1

    def row(self, category: str) -> None:
        with self._lock:
            self.rows[category] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{'queries': {category: n}, 'rows': {category: n}} as of now (a copy)."""
        with self._lock:
            return {"queries": dict(self.queries), "rows": dict(self.rows)}

    def reset(self) -> None:
        with self._lock:
            self.queries.clear()
            self.rows.clear()


class Catalog:
    def __init__(
        self,
        table: TableClient,
        journal: Journal | None = None,
        direct: DirectTransaction | None = None,
        reader: DirectQuery | None = None,
    ) -> None:
        self._table = table
        self._journal = journal  # every committed transaction is journaled first (core/storage/journal.py)
        self._direct = direct  # transactions sent without the SDK's pipeline (core/storage/direct_batch.py)
        self._reader = reader  # queries sent without the SDK's pipeline (core/storage/direct_query.py)
        self.reads = CatalogReads()
        self.point_reads = POINT_READS  # what each LiveIndex of this catalog reads one by one at most
        self.shared = SharedReads(table, reader, self.reads, lambda: self.point_reads)  # shared_rows.py

    def _query(self, category: str, query: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every entity the query returns, counted under `category`."""
        self.reads.query(category)
        for entity in query_entities(self._table, self._reader, query, **kwargs):
            self.reads.row(category)
            yield entity

    def open_index(self, resource: str, category: str) -> dict[str, OpenVersion]:
        """item id -> its live version, every one loaded (bounded memory per item: a narrow projection, shared
        strings). An item kind's backup asks a `LiveIndex` instead (core/storage/live_index.py): only what it
        touches, unless that is most of the resource."""
        return dict(self.open_versions(resource, category))

    def open_versions(
        self, resource: str, category: str, item_id: str | None = None, folder_id: str | None = None
    ) -> Iterator[tuple[str, OpenVersion]]:
        """(item id, live version) of `category` in `resource`, streamed in pages of 1,000 in item id order: of one
        item only (a RowKey prefix: at most one row) if `item_id` is given; of the items in one folder (a
        server-side filter) if `folder_id` is given."""
        served = self.shared.versions(resource, category, item_id, folder_id)
        if served is not None:
            yield from served
            return
        query, params = _open_query(resource, category, item_id, folder_id)
        for entity in self._query(category, query, parameters=params, select=_OPEN_FIELDS, results_per_page=1000):
            yield open_version(entity)

    def count_open(self, resource: str, category: str) -> int:
        """How many items of `category` are live in `resource`: one streamed query of their keys, nothing kept."""
        rows = self.shared.rows(resource, category)
        if rows is not None:
            return len(rows)
        query, params = _open_query(resource, category, None, None)
        return sum(1 for _ in self._query(category, query, parameters=params, select=["RowKey"], results_per_page=1000))

    def open_versions_page(self, resource: str, category: str, size: int) -> tuple[list[tuple[str, OpenVersion]], bool]:
        """The first `size` live versions of `category` in `resource` (one query), and whether there are more."""
        rows = self.shared.rows(resource, category)
        if rows is not None:
            return rows[:size], len(rows) > size
        query, params = _open_query(resource, category, None, None)
        self.reads.query(category)
        pages = entity_pages(self._table, self._reader, query, params, _OPEN_FIELDS, size)
        entities, token = next(pages, ([], None))
        pages.close()
        found = []
        for entity in entities:
            self.reads.row(category)
            found.append(open_version(entity))
        return found, token is not None

    def as_of(
        self,
        resource: str,
        category: str,
        run_id: str,
        start: str | None = None,
        folder_ids: Sequence[str] | None = None,
    ) -> Iterator[ItemVersion]:
        """Every version of `category` live in `resource` as of run `run_id`, streamed page by page in item id
        (RowKey) order: from item id `start` on (inclusive) if given; only those in the folders `folder_ids` (a
        server-side filter) if given. At most one version of an item is live at a run, so item ids are unique."""
        low, high = keys.prefix_range(category)
        if start is not None:
            low = max(low, keys.prefix_range(category, start)[0])
        query = (
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and first_seen_run le @run "
            "and (deleted_run eq '' or deleted_run gt @run )"  # the space before ')' lets the SDK see @run
        )
        params = {"pk": keys.escape(resource), "low": low, "high": high, "run": run_id}
        if folder_ids is not None:
            if not folder_ids:
                return
            names = [f"f{n}" for n in range(len(folder_ids))]
            query += " and (" + " or ".join(f"folder_id eq @{n}" for n in names) + " )"
            params.update(zip(names, folder_ids, strict=True))
        for entity in self._query(category, query, parameters=params):
            yield ItemVersion.from_entity(entity)

    def version_as_of(self, resource: str, category: str, item_id: str, run_id: str) -> ItemVersion | None:
        """The version of one item live in `resource` as of run `run_id`, or None: one query over the item's own
        rows (a RowKey prefix), returning at most one row."""
        low, high = keys.prefix_range(category, item_id)
        query = (
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and first_seen_run le @run "
            "and (deleted_run eq '' or deleted_run gt @run )"
        )
        params = {"pk": keys.escape(resource), "low": low, "high": high, "run": run_id}
        found = [ItemVersion.from_entity(e) for e in self._query(category, query, parameters=params)]
        return max(found, key=lambda v: v.first_seen_run) if found else None

    def versions_as_of(
        self, resource: str, category: str, item_ids: Iterable[str], run_id: str
    ) -> dict[str, ItemVersion]:
        """item id -> its version as of the run, for each of `item_ids` the run holds (one query per item)."""
        found = {}
        for item_id in dict.fromkeys(item_ids):
            version = self.version_as_of(resource, category, item_id, run_id)
            if version is not None:
                found[item_id] = version
        return found

    def history(self, resource: str, category: str, item_id: str) -> list[ItemVersion]:
        low, high = keys.prefix_range(category, item_id)
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high"
        params = {"pk": keys.escape(resource), "low": low, "high": high}
        return sorted(
            (ItemVersion.from_entity(e) for e in self._query(category, query, parameters=params)),
            key=lambda v: v.first_seen_run,
        )

    def all_versions(self, resource: str) -> Iterator[ItemVersion]:
        """Every version of every item and container of `resource`, live or ended, streamed (one partition query;
        counted under '*'): what a verification or a purge walks."""
        for entity in self._query("*", "PartitionKey eq @pk", parameters={"pk": keys.escape(resource)}):
            yield ItemVersion.from_entity(entity)

    def every_version(self) -> Iterator[tuple[str, ItemVersion]]:
        """(resource, version) for every version of every resource, in one scan of the table (counted under '*'):
        what the purge and erasure ask before deleting a blob (content is deduplicated tenant-wide)."""
        for entity in self._query("*", "PartitionKey ne ''", results_per_page=1000):
            yield keys.unescape(entity["PartitionKey"]), ItemVersion.from_entity(entity)

    def delete_versions(self, resource: str, versions: Iterable[ItemVersion]) -> int:
        """Remove these versions of `resource` (the purge, an erasure): each batch is journaled as deletes first,
        so rebuild-catalog never brings one back; a version already gone is no error. Returns the rows sent."""
        pk, sent = keys.escape(resource), 0
        row_keys = sorted({keys.join(v.category, v.item_id, v.first_seen_run) for v in versions})
        self.shared.writing(resource, {keys.split(rk)[0] for rk in row_keys})
        for start in range(0, len(row_keys), _TRANSACTION_LIMIT):
            chunk = [{"PartitionKey": pk, "RowKey": rk} for rk in row_keys[start : start + _TRANSACTION_LIMIT]]
            if self._journal is not None:
                self._journal.record(JOURNAL_TABLE, [("delete", entity) for entity in chunk])
            try:
                self._table.submit_transaction([(TransactionOperation.DELETE, e) for e in chunk], **REPLAY_SAFE)
            except HttpResponseError:  # a row of the batch is gone already (a purge that was stopped): one by one
                for entity in chunk:
                    self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])
            sent += len(chunk)
        return sent

    def writer(self, resource: str) -> CatalogWriter:
        return CatalogWriter(self._table, resource, self._journal, self._direct, self.shared.writing)


class CatalogWriter:
    """Buffers one resource's catalog changes and commits them in atomic transactions of up to 100 operations.
    Call `flush()` before anything that depends on them being durable (saving a delta link). A commit that fails
    raises and its operations are not sent again; `dropped` counts them, so whoever waited for them knows. Several
    threads may write to one writer (a mailbox's kinds side by side): changes are committed in the order written,
    one commit at a time."""

    def __init__(
        self,
        table: TableClient,
        resource: str,
        journal: Journal | None = None,
        direct: DirectTransaction | None = None,
        writing: Callable[[str, set[str]], None] | None = None,
    ) -> None:
        self._table = table
        self._journal = journal
        self._direct = direct
        self._writing = writing  # told the categories of a commit before it is sent (SharedReads.writing)
        self._resource = resource
        self._pk = keys.escape(resource)
        self._ops: list[tuple[Any, ...]] = []
        self._row_keys: set[str] = set()
        self.committed = 0
        self.dropped = 0  # operations of commits that failed
        self._lock = threading.RLock()  # held through a commit: a later change is never committed before it

    def _add(self, op: tuple[Any, ...]) -> None:
        row_key = op[1]["RowKey"]
        with self._lock:
            if row_key in self._row_keys:  # one entity may appear once per transaction
                self.flush()
            self._ops.append(op)
            self._row_keys.add(row_key)
            if len(self._ops) >= _TRANSACTION_LIMIT:
                self.flush()

    def read(self, category: str, item_id: str, first_seen_run: str) -> ItemVersion | None:
        """One version as committed (changes still buffered in this writer are not seen), or None if there is no
        such version. Only reads: safe to call from worker threads while the owner buffers."""
        try:
            entity = self._table.get_entity(self._pk, keys.join(category, item_id, first_seen_run))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise StorageError(f"catalog read of {category} {item_id} failed: {exc.message}") from exc
        return ItemVersion.from_entity(entity)

    def put(self, version: ItemVersion) -> None:
        """Write a version whole (a new one, or a replacement of one first seen in this same run)."""
        self._add((TransactionOperation.UPSERT, version.to_entity(self._resource), {"mode": "replace"}))

    def supersede(self, previous: OpenVersion | None, version: ItemVersion) -> None:
        """Write `version` as the item's live version: the previous one (if any) ends at this run, unless it was
        itself first seen in this run, in which case the new one simply replaces it (same row key)."""
        if previous is not None and previous.first_seen_run != version.first_seen_run:
            self.close(version.category, version.item_id, previous.first_seen_run, version.first_seen_run)
        self.put(version)

    def close(self, category: str, item_id: str, first_seen_run: str, run_id: str) -> None:
        """End a live version at `run_id` (deleted, or superseded by a newer version)."""
        self.touch(category, item_id, first_seen_run, deleted_run=run_id)

    def touch(self, category: str, item_id: str, first_seen_run: str, **changes: Any) -> None:
        """Update fields of a version in place: its end (`close`), or what describes the live row and no point in
        time (the change key an incremental backup compares). A change of what a version describes is a new
        version (`supersede`), so every earlier run keeps reading what it captured."""
        entity = {"PartitionKey": self._pk, "RowKey": keys.join(category, item_id, first_seen_run), **changes}
        self._add((TransactionOperation.UPSERT, entity, {"mode": "merge"}))

    def flush(self) -> None:
        with self._lock:
            if not self._ops:
                return
            ops, self._ops, self._row_keys = self._ops, [], set()
            if self._writing is not None:
                self._writing(self._resource, {keys.split(entity["RowKey"])[0] for _, entity, _ in ops})
            try:
                self._commit(ops)
            except BaseException:
                self.dropped += len(ops)
                raise
            self.committed += len(ops)

    def _commit(self, ops: list[tuple[Any, ...]]) -> None:
        upserts = [(options["mode"], entity) for _, entity, options in ops]
        if self._journal is not None:  # first: no row the table holds is missing from the journal
            self._journal.record(JOURNAL_TABLE, upserts)
        if self._direct is not None and self._direct.submit(upserts):
            return
        try:  # the SDK's way: without a direct path, or when it had no definite answer (sending again is safe)
            self._table.submit_transaction(ops, **REPLAY_SAFE)  # upserts only
        except HttpResponseError as exc:
            raise StorageError(f"catalog transaction of {len(ops)} operations failed: {exc.message}") from exc
