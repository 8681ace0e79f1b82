"""The pages of one delta round in flight, so that a resource's request slots stay busy across page boundaries: a
page's item downloads are submitted as soon as the page arrives and the round asks for its next page while they
run; the downloads of consecutive pages queue in one pool, so no page waits for the slowest download of the one
before it. Pages are applied in the order they came, each once all its downloads are in, with at most `depth`
pages outstanding (a bound on the entries held in memory).

Nothing of the durability order changes: the round's caller drains the pipeline before it has a round to end, so
a delta link is still saved only after every page of its round is applied and its content stored. If the round
breaks off (a page that cannot be read, a link Graph no longer accepts), the pages received before are applied as
they would have been one by one; if applying a page fails, the pages after it are discarded, their downloads
cancelled or waited for, never applied out of order."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, Protocol


class PendingPage(Protocol):
    def finish(self) -> None:
        """Wait for the page's downloads and apply the page."""
        ...

    def discard(self) -> None:
        """Cancel the page's downloads not yet started and wait for the others; apply nothing."""
        ...


class PagePipeline:
    def __init__(self, depth: int = 2) -> None:
        self.depth = max(depth, 1)
        self._pages: deque[PendingPage] = deque()

    def __len__(self) -> int:
        return len(self._pages)

    def add(self, page: PendingPage) -> None:
        """A page whose downloads are submitted: the oldest pages are applied while more than `depth` are out."""
        self._pages.append(page)
        self._finish(lambda: len(self._pages) > self.depth)

    def drain(self) -> None:
        """Apply every outstanding page, in order."""
        self._finish(lambda: bool(self._pages))

    def discard(self) -> None:
        while self._pages:
            self._pages.popleft().discard()

    def _finish(self, more: Callable[[], bool]) -> None:
        try:
            while more():
                self._pages.popleft().finish()
        except BaseException:
            self.discard()
            raise


class InFlight:
    """The item downloads of a round's pages not yet applied, by item id. A page is decided before the pages ahead of
    it are applied, so an item those pages name is not judged by the catalog's index (it may be about to change):
    it is fetched again, or shares the download already under way for the same change key."""

    def __init__(self) -> None:
        self.fetches: dict[str, tuple[str, Future]] = {}  # item id -> (change key, its download)
        self.named: Counter[str] = Counter()  # item ids named by pages not yet applied

    def is_pending(self, item_id: str) -> bool:
        return self.named[item_id] > 0

    def shared(self, item_id: str, change_key: str) -> Future | None:
        """The download under way for this change of the item, if a page ahead asked for it."""
        found = self.fetches.get(item_id)
        return found[1] if found is not None and found[0] == change_key else None

    def track(self, item_id: str, change_key: str, future: Future) -> Future:
        self.fetches[item_id] = (change_key, future)
        return future


@dataclass
class SubmittedPage:
    """A page whose downloads (item id -> future) are submitted; `apply` takes their results (a PendingPage)."""

    fetches: dict[str, Future]
    entries: list  # the page's entries: those with an id are named in flight until the page is applied
    in_flight: InFlight
    apply: Callable[[dict[str, Any]], None]

    def __post_init__(self) -> None:
        self.ids = [e["id"] for e in self.entries if isinstance(e, dict) and isinstance(e.get("id"), str)]
        self.in_flight.named.update(self.ids)

    def finish(self) -> None:
        try:
            fetched = {item_id: future.result() for item_id, future in self.fetches.items()}
        finally:
            self._forget()
        self.apply(fetched)

    def discard(self) -> None:
        for future in self.fetches.values():
            future.cancel()
        wait(self.fetches.values())
        self._forget()

    def _forget(self) -> None:
        for item_id, future in self.fetches.items():
            if self.in_flight.fetches.get(item_id, ("", None))[1] is future:
                del self.in_flight.fetches[item_id]
        named = self.in_flight.named
        for item_id in self.ids:  # counts that reach zero are dropped: memory stays bounded by the pages in flight
            named[item_id] -= 1
            if named[item_id] <= 0:
                del named[item_id]
