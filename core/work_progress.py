"""Per-item progress of a CLI restore or export: what the work selected, and each item as it finishes, told to
whoever watches (the CLI's progress line, core/progress.py). Nothing watching (the API, Durable activities, a CLI
with no progress line): every call here is a no-op and nothing is counted.

    with watching(ItemCounter(bar)):    the CLI, around a restore or an export
        plan(n, sizes)                  the work selected n more items (sizes: their ids -> bytes, where known)
        finished(item_id, status)       one of them is done: restored, skipped, failed, written

The watcher lives in a ContextVar, which does not follow into a thread pool's threads: a RestoreReport takes the
watcher when it is made (core/restore_request.py), so the threads of a category's pool still reach it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Protocol, TypeVar

from core.progress import Progress

T = TypeVar("T")
RESTORED, WRITTEN = "restored", "written"


class Watcher(Protocol):
    def plan(self, items: int, sizes: Mapping[str, int] | None = None) -> None: ...

    def finished(self, item_id: str, status: str) -> None: ...


_watcher: ContextVar[Watcher | None] = ContextVar("work_progress", default=None)


def watcher() -> Watcher | None:
    """The watcher of the work running here, if any."""
    return _watcher.get()


@contextlib.contextmanager
def watching(watcher: Watcher | None) -> Iterator[None]:
    """`watcher` watches the work done inside (None: nothing does)."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)


def plan(items: int, sizes: Callable[[], Mapping[str, int]] | None = None) -> None:
    """The work selected `items` more items; `sizes` (called only when watched) names them with their bytes."""
    current = _watcher.get()
    if current is not None:
        current.plan(items, sizes() if sizes is not None else None)


def finished(item_id: str, status: str = WRITTEN) -> None:
    current = _watcher.get()
    if current is not None:
        current.finished(item_id, status)


def counted(select: Callable[[], Iterable[T]]) -> Iterable[T]:
    """The selection `select()` streams. Watched, it is first counted by a pass of its own (catalog rows only, no
    content) and its size announced, so the total and an ETA are known before the first item is written."""
    if _watcher.get() is None:
        return select()
    plan(sum(1 for _ in select()))
    return select()


class ItemCounter:
    """The CLI's watcher: a progress line's items done of all selected, and the bytes of the items restored.
    Given sizes, only the items they name count (once each: a root brought along for its replies, a failed
    step that names no item, a second report of the same item are not items of the selection)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.total = 0
        self.bytes = 0
        self._sizes: dict[str, int] = {}
        self._seen: set[str] = set()
        self._named = False
        self._lock = threading.Lock()

    def plan(self, items: int, sizes: Mapping[str, int] | None = None) -> None:
        with self._lock:
            self.total += items
            if sizes is not None:
                self._named = True
                self._sizes.update(sizes)
        self.bar.plan(self.total)

    def finished(self, item_id: str, status: str) -> None:
        with self._lock:
            if self._named:
                if item_id not in self._sizes or item_id in self._seen:
                    return
                self._seen.add(item_id)
            if status == RESTORED:
                self.bytes += self._sizes.get(item_id, 0)
        self.bar.advance()
