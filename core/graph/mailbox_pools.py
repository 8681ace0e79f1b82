"""Graph connections pooled per mailbox group instead of in one pool of 200: an httpx transport that sends each
request through one of a few small pools, chosen by the request's throttling scope (the mailbox, the drive, ...).

Why: httpcore scans its whole pool twice per request, and each idle connection it meets makes it count the idle
connections again (`_assign_requests_to_connections`), so a pool's CPU cost grows with the square of the
connections it holds. One pool shared by 5 mailboxes x 4 requests did ~400 `is_idle` checks per message
(issue 16); a pool per group of mailboxes holds only what those mailboxes have in flight (Outlook allows 4 each).

The number of pools is fixed (BACKUP_LOCAL_CONCURRENCY, at least 1): nothing is made or closed per mailbox while
requests are in flight, and the same mailbox always lands in the same pool. Requests with no scope (sign-in is
msal's own, directory listings, pre-authenticated download URLs) share pool 0, which keeps more connections alive
(`make(0)`): every resource's downloads meet there.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import httpx


class MailboxPools(httpx.BaseTransport):
    def __init__(self, pools: int, scope_of: Callable[[str], str | None], make: Callable[[int], httpx.HTTPTransport]):
        self._pools = [make(n) for n in range(max(1, pools))]
        self._scope_of = scope_of

    def pool_for(self, url: str) -> int:
        """The pool a URL's requests use: a stable hash of its scope (crc32; Python's hash() varies by process)."""
        scope = self._scope_of(url)
        return zlib.crc32(scope.encode()) % len(self._pools) if scope else 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pools[self.pool_for(str(request.url))].handle_request(request)

    def close(self) -> None:
        for pool in self._pools:
            pool.close()
