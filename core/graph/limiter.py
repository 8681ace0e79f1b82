"""Per-scope limits on Graph traffic: every request of one scope (a mailbox: its mail, contacts and calendars, as
the Exchange workload declares its throttle_scope) shares one budget: at most N requests in flight (Outlook allows
4 per app per mailbox) and at most M requests per 10-minute window (Outlook allows 10,000)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 600.0


class _MailboxBudget:
    def __init__(self, concurrency: int, per_window: int) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.per_window = per_window
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def reserve(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Wait until one more request fits in the sliding window, then count it."""
        while True:
            with self.lock:
                now = clock()
                while self.sent and now - self.sent[0] >= WINDOW_SECONDS:
                    self.sent.popleft()
                if len(self.sent) < self.per_window:
                    self.sent.append(now)
                    return
                wait = WINDOW_SECONDS - (now - self.sent[0])
            sleep(max(wait, 0.01))


class MailboxLimiter:
    def __init__(
        self,
        concurrency: int = 4,
        per_window: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.concurrency = concurrency
        self.per_window = per_window
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, _MailboxBudget] = {}
        self._lock = threading.Lock()

    def _budget(self, mailbox: str) -> _MailboxBudget:
        with self._lock:
            budget = self._budgets.get(mailbox)
            if budget is None:
                budget = self._budgets[mailbox] = _MailboxBudget(self.concurrency, self.per_window)
            return budget

    @contextmanager
    def slot(self, mailbox: str | None) -> Iterator[None]:
        """Hold one of the mailbox's request slots for the duration of one HTTP request."""
        if mailbox is None:
            yield
            return
        budget = self._budget(mailbox.lower())
        budget.reserve(self._clock, self._sleep)
        with budget.slots:
            yield
