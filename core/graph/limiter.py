"""Per-scope limits on Graph traffic: every request of one scope (a mailbox: its mail, contacts and calendars, as
the Exchange workload declares its throttle_scope) shares one budget: at most N requests in flight (Outlook allows
4 per app per mailbox) and at most M requests per 10-minute window (Outlook allows 10,000,
https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).

The window's budget is a token bucket, so requests are paced rather than sent in a burst followed by a stall: the
bucket holds `burst` requests (a fifth of the budget unless told: a mailbox of a few thousand items is backed up at
full speed) and refills at (M - burst - N) / 600 requests a second. Any 10-minute window therefore holds at most
burst + refill = M - N requests, whatever the phase, and the N left over absorb the spread between when a request
is counted here and when the service counts it. A request takes its token once it holds an in-flight slot, right
before it is sent (a token taken while waiting for a slot would be counted earlier than the service counts it). A
bucket in debt makes its caller wait its turn: concurrent callers are spaced 1/refill apart, never released
together. Retries are requests too (the service counts throttled requests): each attempt takes a token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 600.0
BURST_SHARE = 0.2  # the share of the window's budget the bucket holds when no burst is given


class TokenBucket:
    """`per_window` requests per `window` seconds, at most `burst` at once; `headroom` of them never spent."""

    def __init__(self, per_window: int, window: float, burst: int, clock: Callable[[], float], headroom: int = 0):
        spendable = max(per_window - headroom, 1)
        self.capacity = float(min(max(burst, 1), spendable))
        self.rate = max(spendable - self.capacity, 1.0) / window  # tokens a second
        self._tokens = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self, tokens: int = 1) -> float:
        """Take `tokens`; the seconds its caller must wait before sending (0: at once)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= float(tokens)
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class _MailboxBudget:
    def __init__(self, concurrency: int, bucket: TokenBucket) -> None:
        self.concurrency = concurrency
        self.slots = threading.BoundedSemaphore(concurrency)
        self.gathering = threading.Lock()  # one caller at a time gathers several slots: two never hold part each
        self.bucket = bucket

    @contextmanager
    def held(self, count: int) -> Iterator[None]:
        if count == 1:
            with self.slots:
                yield
            return
        with self.gathering:
            for _ in range(count):
                self.slots.acquire()
        try:
            yield
        finally:
            for _ in range(count):
                self.slots.release()


class MailboxLimiter:
    def __init__(
        self,
        concurrency: int = 4,
        per_window: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        burst: int | None = None,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.concurrency = concurrency
        self.per_window = per_window
        self.burst = max(1, int(per_window * BURST_SHARE)) if burst is None else burst
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, _MailboxBudget] = {}
        self._lock = threading.Lock()

    def _budget(self, mailbox: str) -> _MailboxBudget:
        with self._lock:
            budget = self._budgets.get(mailbox)
            if budget is None:
                bucket = TokenBucket(self.per_window, self.window, self.burst, self._clock, headroom=self.concurrency)
                budget = self._budgets[mailbox] = _MailboxBudget(self.concurrency, bucket)
            return budget

    @contextmanager
    def slot(self, mailbox: str | None, requests: int = 1) -> Iterator[None]:
        """Hold one of the mailbox's request slots for the duration of one HTTP request, sent in its turn.
        A JSON batch of `requests` to the mailbox is that many requests to Graph ("each request is evaluated
        individually against throttling limits", https://learn.microsoft.com/graph/throttling#throttling-and-batching)
        and Outlook runs up to 4 of them at once: it takes a token each and holds up to all the mailbox's slots."""
        if mailbox is None:
            yield
            return
        budget = self._budget(mailbox.lower())
        with budget.held(min(max(requests, 1), budget.concurrency)):
            wait = budget.bucket.take(max(requests, 1))
            if wait > 0:
                self._sleep(wait)
            yield
