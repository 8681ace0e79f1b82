"""Server-rendered SVG bar charts for the dashboard: no script, no style attributes (colours come from classes in
the page's one stylesheet, so a hash-based Content-Security-Policy holds), one `<g class="bar">` per run with a
`<title>` tooltip, and `role="img"` with an `aria-label` summary on each chart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from api.dashboard_format import (
    BYTE_UNITS,
    axis_times,
    esc,
    human_bytes,
    human_count,
    human_duration,
    human_time,
    short_count,
    three_figures,
)

WIDTH, HEIGHT = 560, 210
LEFT, RIGHT, TOP, BOTTOM = 58, 10, 12, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
ZERO_STUB = 2.0  # a zero still shows as a sliver, so every run has a visible, hoverable bar
OUTCOMES = ("succeeded", "partial", "failed", "skipped")
FAILURE_KEY = (("failed", "bad", "failed resources"), ("partial", "warn", "partial (some items failed)"),
               ("", "ok", "none: every resource backed up"))  # fmt: skip
# a run with no failed or partial resource is drawn as a sliver: green only when it finished and backed everything
# up; a run still going (or with nothing to back up) grey; one interrupted or that could not start red
FAILURE_LEGEND = (*FAILURE_KEY, ("", "muted", "running, or nothing to back up"),
                  ("", "bad", "interrupted or could not start (a red sliver)"))  # fmt: skip
_ZERO_CSS = {"succeeded": "ok", "running": "muted", "skipped": "muted"}


@dataclass(frozen=True)
class Segment:
    value: float
    css: str  # a class of the page's stylesheet: 'fill-items', 'ok', 'bad', ...


@dataclass(frozen=True)
class Bar:
    label: str  # the run's start time, for the axis
    tooltip: str
    segments: tuple[Segment, ...]
    zero_css: str = ""  # the sliver drawn for a zero (default: the first segment's class)

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


Scale = Callable[[float], tuple[float, Callable[[float], str]]]  # peak -> (axis top, tick label)


def nice_ceiling(value: float, steps: Sequence[float] = (1, 2, 2.5, 5, 10)) -> float:
    """The axis top: the smallest step x 10^k at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in steps:
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def count_scale(peak: float) -> tuple[float, Callable[[float], str]]:
    """Whole numbers: an even top, so the middle gridline is whole too."""
    return max(nice_ceiling(peak, (1, 2, 4, 6, 8, 10)), 2.0), short_count


def bytes_scale(peak: float) -> tuple[float, Callable[[float], str]]:
    """Round in the unit the peak is shown in (200 KiB, not 195.3 KiB)."""
    power = 0
    while power < len(BYTE_UNITS) - 1 and peak >= 1024 ** (power + 1):
        power += 1
    unit = 1024**power
    top = nice_ceiling(peak / unit) * unit if peak > 0 else 1024.0
    return top, lambda v: f"{three_figures(v / unit)} {BYTE_UNITS[power]}" if v else "0"


def duration_scale(peak: float) -> tuple[float, Callable[[float], str]]:
    unit, name = (3600, "h") if peak >= 7200 else (60, "min") if peak >= 120 else (1, "s")
    return nice_ceiling(peak / unit) * unit, lambda v: f"{three_figures(v / unit)} {name}" if v else "0"


def bar_chart(kind: str, label: str, bars: Sequence[Bar], scale: Scale) -> str:
    """An SVG bar chart (stacked when bars have several segments); `scale` picks the axis top and tick labels."""
    top, axis = scale(max((b.total for b in bars), default=0))
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(label)}" data-chart="{esc(kind)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_H * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        tick = esc(axis(top * fraction))
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    slot = PLOT_W / max(len(bars), 1)
    width = max(min(slot * 0.72, 34.0), 1.5)
    for index, bar in enumerate(bars):
        x = LEFT + slot * index + (slot - width) / 2
        parts.append(f'<g class="bar" data-value="{bar.total:g}"><title>{esc(bar.tooltip)}</title>')
        parts.extend(_segments(bar, x, width, top))
        parts.append("</g>")
    parts.extend(_x_labels(bars, slot))
    parts.append("</svg>")
    return "".join(parts)


def _segments(bar: Bar, x: float, width: float, top: float) -> list[str]:
    if bar.total <= 0:
        css = bar.zero_css or (bar.segments[0].css if bar.segments else "muted")
        y = TOP + PLOT_H - ZERO_STUB
        return [f'<rect class="{css} zero" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{ZERO_STUB}" rx="1"/>']
    out, base = [], TOP + PLOT_H
    for segment in bar.segments:
        if segment.value <= 0:
            continue
        height = max(PLOT_H * segment.value / top, 1.0)
        base -= height
        out.append(
            f'<rect class="{segment.css}" x="{x:.1f}" y="{base:.1f}" width="{width:.1f}" height="{height:.1f}" rx="2"/>'
        )
    return out


def _x_labels(bars: Sequence[Bar], slot: float) -> list[str]:
    """The first, middle and last runs' times (more would overlap at 30 runs), kept inside the plot."""
    if not bars:
        return []
    last = len(bars) - 1
    out = []
    for index in sorted({0, len(bars) // 2, last}):
        if len(bars) > 2 and index == 0:
            x, anchor = LEFT + slot * index, "start"
        elif len(bars) > 2 and index == last:
            x, anchor = LEFT + slot * (index + 1), "end"
        else:
            x, anchor = LEFT + slot * (index + 0.5), "middle"
        label = esc(bars[index].label)
        out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}">{label}</text>')
    return out


# -- the four run charts ---------------------------------------------------------------------------------------
def _when(run: dict[str, Any]) -> str:
    return f"Run of {human_time(run.get('started_at'))} ({run.get('status') or 'unknown'})"


def run_charts(runs: Sequence[dict[str, Any]]) -> dict[str, str]:
    """kind -> SVG for 'items', 'bytes', 'duration' and 'failures' over `runs` (oldest first)."""
    n = len(runs)
    labels = axis_times([r.get("started_at") for r in runs])

    def series(key: str, css: str, describe: Callable[[dict[str, Any]], str]) -> list[Bar]:
        return [Bar(at, f"{_when(r)}: {describe(r)}", (Segment(float(r.get(key) or 0), css),))
                for r, at in zip(runs, labels, strict=True)]  # fmt: skip

    items = series("items", "fill-items", lambda r: f"{human_count(r.get('items', 0))} item versions captured")
    data = series("bytes", "fill-bytes", lambda r: f"{human_bytes(r.get('bytes', 0))} of new content")
    durations = series(
        "duration_seconds", "fill-duration", lambda r: f"took {human_duration(r.get('duration_seconds'))}"
    )
    failures = [_failures(r, at) for r, at in zip(runs, labels, strict=True)]
    last = runs[-1] if runs else {}
    return {
        "items": bar_chart(
            "items", f"Item versions captured in each of the last {n} runs; latest {human_count(last.get('items'))}",
            items, count_scale,
        ),
        "bytes": bar_chart(
            "bytes", f"New content written in each of the last {n} runs; latest {human_bytes(last.get('bytes'))}",
            data, bytes_scale,
        ),
        "duration": bar_chart(
            "duration",
            f"Duration of each of the last {n} runs; latest {human_duration(last.get('duration_seconds'))}",
            durations, duration_scale,
        ),
        "failures": bar_chart(
            "failures",
            f"Failed and partial resources in each of the last {n} runs; "
            f"{sum(int(r.get('failed') or 0) for r in runs)} failed resource backups in all",
            failures, count_scale,
        ),
    }  # fmt: skip


def _failures(run: dict[str, Any], label: str) -> Bar:
    """Failed resources stacked on partial ones (a run where every resource succeeded is a green sliver)."""
    counts = {name: int(run.get(name) or 0) for name in OUTCOMES}
    text = ", ".join(f"{counts[name]} {name}" for name in OUTCOMES)
    failed_items = int(run.get("failed_items") or 0)
    tooltip = f"{_when(run)}: {text} resources; {failed_items} failed items"
    segments = tuple(Segment(counts[name], css) for name, css, _ in FAILURE_KEY if name)
    status = str(run.get("status") or "")
    if status == "interrupted" or (status == "failed" and not int(run.get("resources") or 0)):
        tooltip += f" (never finished: {str(run.get('error') or status)[:200]})"
    return Bar(label, tooltip, segments, zero_css=_ZERO_CSS.get(status, "bad"))
