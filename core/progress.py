"""A progress line on stderr for long CLI work (backup, restore, export), shown only on a terminal or when asked.

It counts what moves: resources done of all (backup) or items done of all selected (restore, export: the total set
by `plan` once the selection is known, each item counted through core/work_progress.py), items and bytes (from a
`counters` callable the command gives: the content store's counts for a backup, the bytes restored and Graph
requests for a restore, the bytes written for an export), the elapsed time and, when a total is known, an ETA. A
ticker redraws it twice a second, so a long resource does not look stuck. While it is shown, log records (urllib3's
"connection pool is full", a retry warning) are written on their own line above it instead of through it; the line
is cut to the terminal's width, never to a fixed 40."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

Counters = Callable[[], dict[str, int]]


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else (
        f"{seconds // 60}:{seconds % 60:02d}")  # fmt: skip


class Progress:
    def __init__(self, total: int, label: str, enabled: bool, stream: TextIO = sys.stderr,
                 counters: Counters | None = None, unit: str = "resources", interval: float = 0.5) -> None:  # fmt: skip
        self.total = max(total, 0)
        self.label = label
        self.enabled = enabled
        self.stream = stream
        self.counters = counters
        self.unit = unit
        self.done = 0
        self.text = ""
        self._lock = threading.RLock()
        self._started = time.monotonic()
        self._closed = threading.Event()
        self._handlers: list[tuple[logging.Handler, logging.Handler]] = []
        if enabled:
            self._route_logging()
            threading.Thread(target=self._tick, args=(interval,), name="progress", daemon=True).start()
        self._draw()

    def plan(self, total: int) -> None:
        """The total, once it is known (a restore or an export learns its selection's size after it started)."""
        with self._lock:
            self.total = max(total, 0)
            self._draw()

    def advance(self, text: str = "") -> None:
        with self._lock:
            self.done += 1
            self.text = text
            self._draw()

    def line(self) -> str:
        """The progress line as text (without the carriage return)."""
        elapsed = time.monotonic() - self._started
        parts = [self.label]
        if self.total:
            width = 20
            filled = int(width * min(self.done, self.total) / self.total)
            parts.append(f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} {self.unit}")
        counts = self.counters() if self.counters else {}
        if "items" in counts:
            parts.append(f"{counts['items']} items")
        if "requests" in counts:
            parts.append(f"{counts['requests']} requests")
        if "bytes" in counts:
            parts.append(human_bytes(counts["bytes"]))
        parts.append(_duration(elapsed))
        if self.total and 0 < self.done < self.total:
            parts.append(f"ETA {_duration(elapsed / self.done * (self.total - self.done))}")
        if self.text:
            parts.append(self.text)
        return "  ".join(parts)

    def _draw(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            columns = shutil.get_terminal_size((120, 24)).columns
            self.stream.write("\r" + self.line()[: max(columns - 1, 20)] + "\x1b[K")
            self.stream.flush()

    def _tick(self, interval: float) -> None:
        while not self._closed.wait(interval):
            self._draw()

    def _route_logging(self) -> None:
        """Stream handlers of the root logger write through the bar: clear it, write the record, draw it again."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stderr, self.stream):
                above = _AboveBar(self)
                above.setFormatter(handler.formatter)
                above.setLevel(handler.level)
                root.removeHandler(handler)
                root.addHandler(above)
                self._handlers.append((handler, above))

    def write_above(self, text: str) -> None:
        with self._lock:
            self.stream.write("\r\x1b[K" + text + "\n")
            self._draw()

    def close(self) -> None:
        self._closed.set()
        if self.enabled:
            with self._lock:
                self._draw()
                self.stream.write("\n")
                self.stream.flush()
        root = logging.getLogger()
        for handler, above in self._handlers:
            root.removeHandler(above)
            root.addHandler(handler)
        self._handlers.clear()


class _AboveBar(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.write_above(self.format(record))
        except Exception:
            self.handleError(record)
