"""A plain progress bar on stderr for long CLI work (shown only on a terminal, or when asked)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.total = max(total, 0)
        self.label = label
        self.enabled = enabled
        self.stream = stream
        self.done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._draw()

    def advance(self, text: str = "") -> None:
        with self._lock:
            self.done += 1
            self._draw(text)

    def _draw(self, text: str = "") -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        elapsed = time.monotonic() - self._started
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s {text[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
