"""patternedRecurrence: normalise Graph's JSON and expand a series into the original start times of its occurrences."""

from __future__ import annotations

import calendar as cal
import datetime as dt
from collections.abc import Iterator
from typing import Any

from graphsim.errors import GraphError

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEXES = ["first", "second", "third", "fourth", "last"]
PATTERNS = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGES = ("endDate", "noEnd", "numbered")
MAX_EXPANSION = 2000  # occurrences a noEnd series is expanded to at most (per request)
NO_DATE = "0001-01-01"


def _bad(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", f"The recurrence is invalid: {message}")


def normalize(value: Any) -> dict[str, Any] | None:
    """Graph's full patternedRecurrence shape (every property present, defaults filled) or None."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("pattern"), dict)
        or not isinstance(value.get("range"), dict)
    ):
        raise _bad("pattern and range are required.")
    p, r = value["pattern"], value["range"]
    if p.get("type") not in PATTERNS:
        raise _bad(f"pattern type {p.get('type')!r}.")
    if r.get("type") not in RANGES:
        raise _bad(f"range type {r.get('type')!r}.")
    days = [str(d).lower() for d in p.get("daysOfWeek") or []]
    if any(d not in DAYS for d in days) or (p["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not days):
        raise _bad("daysOfWeek.")
    pattern = {
        "type": p["type"],
        "interval": int(p.get("interval") or 1),
        "month": int(p.get("month") or 0),
        "dayOfMonth": int(p.get("dayOfMonth") or 0),
        "daysOfWeek": days,
        "firstDayOfWeek": str(p.get("firstDayOfWeek") or "sunday").lower(),
        "index": str(p.get("index") or "first"),
    }
    if pattern["interval"] < 1 or pattern["index"] not in INDEXES or pattern["firstDayOfWeek"] not in DAYS:
        raise _bad("interval, index or firstDayOfWeek.")
    if p["type"] in ("absoluteMonthly", "absoluteYearly") and not 1 <= pattern["dayOfMonth"] <= 31:
        raise _bad("dayOfMonth.")
    if p["type"] in ("absoluteYearly", "relativeYearly") and not 1 <= pattern["month"] <= 12:
        raise _bad("month.")
    try:
        start = dt.date.fromisoformat(str(r.get("startDate")))
        end = str(r.get("endDate") or NO_DATE)
        if r["type"] == "endDate":
            if dt.date.fromisoformat(end) < start:
                raise _bad("endDate before startDate.")
        else:
            end = NO_DATE
    except ValueError:
        raise _bad("startDate / endDate.") from None
    count = int(r.get("numberOfOccurrences") or 0) if r["type"] == "numbered" else 0
    if r["type"] == "numbered" and count < 1:
        raise _bad("numberOfOccurrences.")
    rng = {"type": r["type"], "startDate": start.isoformat(), "endDate": end,
           "recurrenceTimeZone": str(r.get("recurrenceTimeZone") or "UTC"), "numberOfOccurrences": count}  # fmt: skip
    return {"pattern": pattern, "range": rng}


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def _relative_day(year: int, month: int, days: list[str], index: str) -> dt.date:
    wanted = {DAYS.index(d) for d in days}
    last = cal.monthrange(year, month)[1]
    matches = [dt.date(year, month, d) for d in range(1, last + 1) if dt.date(year, month, d).weekday() in wanted]
    return matches[-1] if index == "last" else matches[INDEXES.index(index)]


def _dates(pattern: dict[str, Any], start: dt.date) -> Iterator[dt.date]:
    """Candidate dates of the pattern in ascending order, from `start` on (unbounded)."""
    kind, interval = pattern["type"], pattern["interval"]
    if kind == "daily":
        day = start
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif kind == "weekly":
        first = DAYS.index(pattern["firstDayOfWeek"])
        week = start - dt.timedelta(days=(start.weekday() - first) % 7)
        offsets = sorted((DAYS.index(d) - first) % 7 for d in pattern["daysOfWeek"])
        while True:
            for offset in offsets:
                day = week + dt.timedelta(days=offset)
                if day >= start:
                    yield day
            week += dt.timedelta(weeks=interval)
    else:
        yearly = kind in ("absoluteYearly", "relativeYearly")
        step = 12 * interval if yearly else interval
        year, month = (start.year, pattern["month"]) if yearly else (start.year, start.month)
        while True:
            if kind in ("absoluteMonthly", "absoluteYearly"):
                day = dt.date(year, month, min(pattern["dayOfMonth"], cal.monthrange(year, month)[1]))
            else:
                day = _relative_day(year, month, pattern["daysOfWeek"], pattern["index"])
            if day >= start:
                yield day
            year, month = _add_months(year, month, step)


def original_starts(
    recurrence: dict[str, Any], first_start: dt.datetime, until: dt.datetime | None = None, cap: int = MAX_EXPANSION
) -> Iterator[dt.datetime]:
    """Original start times (UTC) of every occurrence, in order, before `until` (exclusive), at most `cap`.
    Cancelled occurrences are included: they still use up a numbered range."""
    rng = recurrence["range"]
    start = dt.date.fromisoformat(rng["startDate"])
    end = dt.date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    count = rng["numberOfOccurrences"] if rng["type"] == "numbered" else None
    time_of_day = first_start.astimezone(dt.UTC).timetz()
    for produced, day in enumerate(_dates(recurrence["pattern"], start)):
        if (end is not None and day > end) or (count is not None and produced >= count) or produced >= cap:
            return
        when = dt.datetime.combine(day, time_of_day)
        if until is not None and when >= until:
            return
        yield when
