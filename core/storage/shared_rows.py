"""One read of a resource's live catalog rows, shared by the indexes its backup opens (issue 16: a mailbox's trees,
kinds and containers each opened an index of their own, ~11 queries for a small mailbox).

While a resource's backup runs (`Catalog.shared.sharing(resource)`, core/backup.py), the first index it opens reads the
resource's live rows once: one query of up to `Catalog.point_reads` rows of its partition (the projection an index
reads), in RowKey order, so category by category. A category that page holds whole (the partition had no more
rows, or the page went past the category's last key) is served from it: every live version of the category, of
one item, of one folder. Any other category is read from the table as before. A category stops being served the
moment a writer of the resource is about to commit a row of it (a commit that fails may still have landed), so
what is served is what the table holds: nothing else writes a resource's catalog rows while its backup runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from azure.data.tables import TableClient

from core.storage import table_keys as keys
from core.storage.direct_query import DirectQuery, entity_pages
from core.storage.open_versions import OPEN_FIELDS, OpenVersion, open_version

SHARED = "*"  # what `Catalog.reads` counts a resource's shared read of its live rows under
# the first page: (category, item id, live version) of each row in RowKey order, the page's last RowKey, and
# whether the partition has more rows
Page = tuple[list[tuple[str, str, OpenVersion]], str, bool]


class Counts(Protocol):  # Catalog.reads
    def query(self, category: str) -> None: ...

    def row(self, category: str) -> None: ...


class SharedReads:
    """The resources whose backup shares one read of its live rows now, each with its `SharedRows`."""

    def __init__(self, table: TableClient, reader: DirectQuery | None, reads: Counts, size: Callable[[], int]) -> None:
        self._table, self._reader, self._reads, self._size = table, reader, reads, size
        self._shared: dict[str, SharedRows] = {}
        self._lock = threading.Lock()

    @contextmanager
    def sharing(self, resource: str) -> Iterator[None]:
        """While it lasts, the indexes opened on `resource` share one read of its live rows."""
        shared = SharedRows(lambda: self._first_page(resource))
        with self._lock:
            self._shared[resource] = shared
        try:
            yield
        finally:
            with self._lock:
                if self._shared.get(resource) is shared:
                    del self._shared[resource]

    def _of(self, resource: str) -> SharedRows | None:
        with self._lock:
            return self._shared.get(resource)

    def rows(self, resource: str, category: str) -> list[tuple[str, OpenVersion]] | None:
        """Every live version of `category` of `resource`, or None when it must be read from the table."""
        shared = self._of(resource)
        return shared.rows(category) if shared is not None else None

    def versions(
        self, resource: str, category: str, item_id: str | None, folder_id: str | None
    ) -> Iterator[tuple[str, OpenVersion]] | None:
        """What `Catalog.open_versions` would read, or None when it must be read from the table."""
        rows = self.rows(resource, category)
        if rows is None:
            return None
        if item_id is not None:
            return iter([(i, v) for i, v in rows if i == item_id])
        if folder_id is not None:
            return iter([(i, v) for i, v in rows if v.folder_id == folder_id])
        return iter(rows)

    def writing(self, resource: str, categories: set[str]) -> None:
        """A writer is about to commit rows of `categories` of `resource`: no shared read serves them any more."""
        shared = self._of(resource)
        if shared is not None:
            shared.written(categories)

    def _first_page(self, resource: str) -> Page:
        """The first `size()` live rows of the resource's partition, every category (counted under SHARED)."""
        self._reads.query(SHARED)
        pages = entity_pages(self._table, self._reader, "PartitionKey eq @pk and deleted_run eq ''",
                             {"pk": keys.escape(resource)}, OPEN_FIELDS, self._size())  # fmt: skip
        entities, token = next(pages, ([], None))
        pages.close()
        found = []
        for entity in entities:
            self._reads.row(SHARED)
            item_id, version = open_version(entity)
            found.append((keys.split(entity["RowKey"])[0], item_id, version))
        return found, (entities[-1]["RowKey"] if entities else ""), token is not None


class SharedRows:
    def __init__(self, read: Callable[[], Page]) -> None:
        self._read = read
        self._rows: dict[str, list[tuple[str, OpenVersion]]] | None = None  # category -> rows, item id order
        self._last = ""  # the page's last RowKey when the partition has more rows
        self._more = False
        self._written: set[str] = set()  # categories a commit has written (or tried to) since
        self._lock = threading.Lock()

    def rows(self, category: str) -> list[tuple[str, OpenVersion]] | None:
        """Every live version of `category` as the table holds it, or None when it must be read from the table."""
        with self._lock:
            if category in self._written:
                return None
            if self._rows is None:
                self._load()
            if not self._whole_category(category):
                return None
            return (self._rows or {}).get(category, [])

    def _load(self) -> None:
        found, self._last, self._more = self._read()
        rows: dict[str, list[tuple[str, OpenVersion]]] = {}
        for category, item_id, version in found:
            rows.setdefault(category, []).append((item_id, version))
        self._rows = rows

    def _whole_category(self, category: str) -> bool:
        if not self._more:
            return True
        return self._last >= keys.prefix_range(category)[1]  # the page went past the category's every key

    def written(self, categories: set[str]) -> None:
        """A writer is about to commit rows of these categories: they are read from the table from now on."""
        with self._lock:
            self._written |= categories
