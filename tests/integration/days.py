"""Times relative to today (UTC midnight), as the tests' simulated events need them."""

from __future__ import annotations

import datetime as dt


def when(days: int, hour: int = 0) -> dt.datetime:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + dt.timedelta(days=days, hours=hour)


def at(days: int, hour: int) -> str:
    """The same time, ISO 8601, as the simulator's control API takes it."""
    return when(days, hour).isoformat()
