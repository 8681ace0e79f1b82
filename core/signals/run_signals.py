"""What one resource's backup saw of its changes, counted as it goes (thread-safe: files are captured in parallel):
the ransomware signal's raw material (core/signals/assessment.py judges it).

Only workloads whose bytes pass through the backup and whose catalog tells a change from a rename count here:
OneDrive and SharePoint files (core/workloads/files/). `tracked` stays False for the others, and their restore
points carry no signal."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from core.signals.content_rules import LOOKS_ENCRYPTED, UNJUDGED, has_ransom_extension, judge

EXAMPLES = 5  # names kept per reason, to show an operator what was seen


@dataclass
class RunSignals:
    tracked: bool = False  # a workload counted this resource's changes
    live_before: int = 0  # the resource's live files before the run (the shares' denominator)
    added: int = 0  # new files
    changed: int = 0  # files whose content changed
    renamed: int = 0  # files whose name changed (same item id; the catalog versions show it)
    deleted: int = 0  # files ended at this run
    judged: int = 0  # new contents of a type the content rules judge
    encrypted: int = 0  # of those, contents that look encrypted (high entropy, broken magic)
    ransom_named: int = 0  # files new or renamed to a known ransomware extension
    examples: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def track(self, live_before: int) -> None:
        with self._lock:
            self.tracked = True
            self.live_before += live_before

    def file_version(self, name: str, new: bool, content_changed: bool, renamed: bool) -> None:
        """A file's new version: new, or its content changed, or renamed (or several at once)."""
        with self._lock:
            self.added += int(new)
            self.changed += int(content_changed and not new)
            self.renamed += int(renamed and not new)
            if (new or renamed) and has_ransom_extension(name):
                self.ransom_named += 1
                self._example("ransom_named", name)

    def file_deleted(self, count: int = 1) -> None:
        with self._lock:
            self.deleted += count

    def content(self, name: str, sample: bytes) -> None:
        """New content of a file, judged by its first bytes (core/signals/content_rules.py)."""
        verdict = judge(name, sample)
        if verdict == UNJUDGED:
            return
        with self._lock:
            self.judged += 1
            if verdict in LOOKS_ENCRYPTED:
                self.encrypted += 1
                self._example("encrypted", f"{name} ({verdict})")

    def _example(self, reason: str, text: str) -> None:
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES:
            kept.append(text)

    def counts(self) -> dict[str, Any]:
        with self._lock:
            names = ("live_before", "added", "changed", "renamed", "deleted", "judged", "encrypted", "ransom_named")
            return {**{n: getattr(self, n) for n in names}, "examples": {k: list(v) for k, v in self.examples.items()}}
