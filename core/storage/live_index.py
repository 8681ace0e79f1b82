"""An item kind's live versions in one resource, read as a backup asks for them: what an incremental holds in memory
grows with what it touches, not with what the resource holds (issue 16).

`LiveIndex` is the mapping item id -> `OpenVersion` (core/storage/catalog.py) that the delta machinery reads and
updates. How it reads the catalog:
- first, one query of up to `Catalog.point_reads` rows: a resource that holds no more is loaded whole by it;
- otherwise each item looked up is read by itself (one query over its own rows: a RowKey prefix, at most one row)
  and kept, as is every change the run makes (an item ended is kept as known gone);
- once the run has looked up `point_reads` items that way (many changes, or a full enumeration after a lost delta
  link) the rest is loaded whole in one streamed query (pages of 1,000 rows), so a big change set never costs
  thousands of queries, with the run's own changes laid over it (a change still buffered in the catalog writer is
  what the index says, not the table);
- a folder's live items (what a full round did not list, a folder gone) are one server-side filtered query, the
  run's changes laid over them; iterating the whole mapping, or its length, loads it whole.

Thread-safe: a page's downloads look items up from the pool while the owner applies pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping

from core.storage.catalog import Catalog, OpenVersion


class LiveIndex(MutableMapping[str, OpenVersion]):
    def __init__(self, catalog: Catalog, resource: str, category: str) -> None:
        self._catalog, self._resource, self._category = catalog, resource, category
        self._limit = max(1, catalog.point_reads)
        self._whole: dict[str, OpenVersion] | None = None  # every live version, once loaded
        self._known: dict[str, OpenVersion | None] = {}  # read one by one, or changed by this run (None: not live)
        self._probed = False
        self.point_reads = 0  # items read one by one
        self._lock = threading.RLock()

    @property
    def loaded(self) -> bool:
        """Whether every live version is in memory (a small resource, or a run that touched most of it)."""
        with self._lock:
            self._probe()
            return self._whole is not None

    def _probe(self) -> None:
        if self._probed:
            return
        self._probed = True
        first, more = self._catalog.open_versions_page(self._resource, self._category, self._limit)
        if not more:
            self._whole = self._overlaid(first)

    def _load(self) -> dict[str, OpenVersion]:
        if self._whole is None:
            self._whole = self._overlaid(self._catalog.open_versions(self._resource, self._category))
            self._known.clear()
        return self._whole

    def _overlaid(self, rows: Iterator[tuple[str, OpenVersion]] | list[tuple[str, OpenVersion]]) -> dict:
        """The rows read, with this run's own changes (and the items read one by one) over them."""
        whole = dict(rows)
        for item_id, version in self._known.items():
            if version is None:
                whole.pop(item_id, None)
            else:
                whole[item_id] = version
        return whole

    def _lookup(self, item_id: str) -> OpenVersion | None:
        self._probe()
        if self._whole is not None:
            return self._whole.get(item_id)
        if item_id in self._known:
            return self._known[item_id]
        if self.point_reads >= self._limit:
            return self._load().get(item_id)
        self.point_reads += 1
        found = next(self._catalog.open_versions(self._resource, self._category, item_id=item_id), None)
        version = found[1] if found is not None and found[0] == item_id else None
        self._known[item_id] = version
        return version

    def __getitem__(self, item_id: str) -> OpenVersion:
        with self._lock:
            version = self._lookup(item_id)
        if version is None:
            raise KeyError(item_id)
        return version

    def __setitem__(self, item_id: str, version: OpenVersion) -> None:
        with self._lock:
            self._probe()
            if self._whole is not None:
                self._whole[item_id] = version
            else:
                self._known[item_id] = version

    def __delitem__(self, item_id: str) -> None:
        with self._lock:
            if self._lookup(item_id) is None:
                raise KeyError(item_id)
            if self._whole is not None:
                del self._whole[item_id]
            else:
                self._known[item_id] = None

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._probe()
            return iter(self._load())

    def __len__(self) -> int:
        with self._lock:
            self._probe()
            return len(self._load())

    def count(self) -> int:
        """How many items are live: the loaded index's length; before the run has read or changed any item, one
        streamed count that keeps nothing; else the index loaded whole."""
        with self._lock:
            self._probe()
            if self._whole is None and not self._known:
                return self._catalog.count_open(self._resource, self._category)
            return len(self._load())

    def in_folder(self, folder_id: str) -> list[tuple[str, OpenVersion]]:
        """(item id, live version) of every live item in the folder, in item id order: one filtered query unless
        the index is loaded whole."""
        with self._lock:
            self._probe()
            if self._whole is not None:
                return sorted(((i, v) for i, v in self._whole.items() if v.folder_id == folder_id), key=_id)
            found = dict(self._catalog.open_versions(self._resource, self._category, folder_id=folder_id))
            for item_id, version in self._known.items():
                if version is not None and version.folder_id == folder_id:
                    found[item_id] = version
                else:  # this run ended it, or it is somewhere else now
                    found.pop(item_id, None)
            return sorted(found.items(), key=_id)


def _id(pair: tuple[str, OpenVersion]) -> str:
    return pair[0]
