"""The backup path's half of core/lifecycle/protection.py: a put that finds its content already stored
(`StoredContent.written` is False: deduplicated) makes the point being taken depend on a blob that may have been
written long ago, whose protection may have ended. So it is extended at once, to now + IMMUTABILITY_DAYS + margin,
before the point is recorded; a blob written during this run needs nothing (the container's default protects it
for the window from its creation, which is after the point's time). The need is taken as now + window - SLACK: a
blob written within the last SLACK passes (it is at most SLACK short of a point taken before it, which the next
renewal makes up), so the same content stored twice within a run costs no extension.

`ProtectingContentStore` wraps the content store the composition root built (core/bootstrap.py) and leaves it
otherwise as it is: every other call goes straight through. Per process each content is looked at once while its
known protection still covers the window, so fifty mailboxes holding one message cost one look (and at most one
extension). An extension that fails is logged and left to the next renewal, which reports it; the backup goes on."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import NotFoundError, StorageError
from core.storage.immutability import ImmutabilityPolicies, present_protection

log = logging.getLogger(__name__)
SLACK = timedelta(hours=1)
CACHE_LIMIT = 200_000  # contents remembered per process; forgotten all at once beyond (a look costs one read)


class ProtectingContentStore:
    """A content store whose deduplicated puts keep the old blob protected for the window."""

    def __init__(self, inner: Any, immutability: ImmutabilityPolicies, days: int) -> None:
        self._inner = inner
        self._immutability = immutability
        self._window = timedelta(days=days)
        self._margin = timedelta(days=max(1, days))
        self._known: dict[str, datetime] = {}  # sha256 -> protected at least until (as last seen or set)
        self._lock = threading.Lock()
        self.looks = 0  # protections read (what the cache saves: tests and benchmarks read it)
        self.extensions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put(self, spool: Any, content_type: str = "application/octet-stream") -> Any:
        return self._protected(self._inner.put(spool, content_type=content_type))

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> Any:
        return self._protected(self._inner.put_bytes(data, content_type=content_type))

    def _protected(self, stored: Any) -> Any:
        if not stored.written:
            self.keep_protected(stored.sha256)
        return stored

    def keep_protected(self, sha256: str, now: datetime | None = None) -> None:
        """Make sure every stored name of the content is protected until at least now + the window."""
        now = now or datetime.now(UTC)
        need = now + self._window - SLACK
        with self._lock:
            if self._known.get(sha256, now) >= need:
                return
            if len(self._known) >= CACHE_LIMIT:
                self._known.clear()
            self._known[sha256] = need + self._margin  # claimed: concurrent puts of the same content wait for none
            self.looks += 1
        try:
            until = present_protection(self._immutability, self._inner.stored_names(sha256))  # the names present
            covered = need + self._margin
            for name, ends in until.items():
                if ends is not None and ends >= need:
                    covered = min(covered, ends)
                    continue
                try:
                    self._immutability.extend(name, need + self._margin)
                    with self._lock:
                        self.extensions += 1
                except NotFoundError:
                    continue  # another name of the same content (plain or keyed) holds it
            with self._lock:
                self._known[sha256] = covered
        except (StorageError, ValueError) as exc:
            with self._lock:
                self._known.pop(sha256, None)  # look again at the next put; the renewal catches up meanwhile
            log.warning("could not extend the protection of content %s: %s", sha256, exc)
