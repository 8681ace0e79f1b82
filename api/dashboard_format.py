"""Human-readable figures for the dashboard page: sizes, durations, counts, times. Every function returns plain
text; escaping is the caller's job (`esc`), done once where text meets markup."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def esc(value: Any) -> str:
    """Text safe in element content and in double- or single-quoted attributes; None is empty."""
    return "" if value is None else html.escape(str(value), quote=True)


def human_bytes(value: float | None) -> str:
    """1536 -> '1.5 KiB' (binary units, three significant figures); None -> '—'."""
    if value is None:
        return "—"
    size = float(value)
    sign = "-" if size < 0 else ""
    size = abs(size)
    for unit in BYTE_UNITS:
        if size < 1024 or unit == BYTE_UNITS[-1]:
            return f"{sign}{int(size)} B" if unit == "B" else f"{sign}{three_figures(size)} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float | None) -> str:
    """0.4 -> '0.4 s', 75 -> '1 min 15 s', 7500 -> '2 h 05 min', 200000 -> '2 d 07 h'; None -> '—'."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def human_count(value: float | None) -> str:
    """1234567 -> '1,234,567'; None -> '—'."""
    return "—" if value is None else f"{round(value):,}"


def short_count(value: float) -> str:
    """Axis labels: 950 -> '950', 12500 -> '12.5k', 3_400_000 -> '3.4M'."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{three_figures(value / limit)}{suffix}"
    return three_figures(value)


def three_figures(value: float) -> str:
    """About three significant figures, never in exponent notation, no trailing zeros: 1.50 -> '1.5'."""
    digits = 0 if abs(value) >= 99.5 else 1 if abs(value) >= 9.95 else 2
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(ratio: float | None) -> str:
    """0.4235 -> '42.4 %'; None -> '—'."""
    return "—" if ratio is None else f"{ratio * 100:.1f} %"


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def human_time(text: Any) -> str:
    """An ISO time as '2026-11-22 06:21 UTC'; unreadable text is returned as it is, missing as '—'."""
    moment = parse_time(text)
    if moment is None:
        return str(text) if text else "—"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def axis_times(texts: list[Any]) -> list[str]:
    """Short labels for a series of ISO times: '06:21:05' when they span under an hour, else '11-22 06:21'."""
    moments = [parse_time(t) for t in texts]
    known = [m for m in moments if m is not None]
    close = bool(known) and (max(known) - min(known)).total_seconds() < 3600
    pattern = "%H:%M:%S" if close else "%m-%d %H:%M"
    return [m.strftime(pattern) if m else "" for m in moments]
