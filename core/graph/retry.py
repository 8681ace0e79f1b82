"""When and how long to wait before retrying a Graph request.

429, 503 and 504 are retried: honouring `Retry-After` (whole or decimal seconds, or an HTTP date) when Graph sends
it, otherwise with capped exponential backoff and full jitter. Attempts are bounded by the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_retry_after: float = 300.0  # never sleep longer than this on one Retry-After

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for retry number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(0, ceiling)

    def delay(self, attempt: int, retry_after: str | None, rng: random.Random | None = None) -> float:
        parsed = parse_retry_after(retry_after)
        if parsed is not None:
            return min(parsed, self.max_retry_after)
        return self.backoff(attempt, rng)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: '2', '0.5' or an HTTP date. None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds
