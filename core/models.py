"""Values that cross boundaries: activity payloads and results (plain dicts through Durable), run reports."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.signals.run_signals import RunSignals


@dataclass(frozen=True)
class ResourceKey:
    """'<workload>:<owner id>' ('exchange:<user id>', 'sharepoint:<site id>'): a workload and the owner of the
    data it backs up (core/workloads/registry.py knows the workloads)."""

    workload: str
    owner: str

    @classmethod
    def parse(cls, key: str) -> ResourceKey:
        workload, sep, owner = key.partition(":")
        if not sep or not workload or not owner:
            raise ValueError(f"resource key must look like 'workload:owner id', got {key!r}")
        return cls(workload, owner)

    def __str__(self) -> str:
        return f"{self.workload}:{self.owner}"


@dataclass
class BackupReport:
    """What one resource's backup did; thread-safe, since items are fetched in parallel."""

    resource: str
    items: int = 0  # new item versions captured
    bytes: int = 0  # content bytes newly written (deduplicated content excluded)
    deduplicated: int = 0  # items whose content was already stored
    removed: int = 0  # item versions ended (deleted, moved away)
    failures: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_reason: str = ""
    fatal: str = ""
    kind: str = ""  # what the resource is, as its workload tells it (a 'shared' mailbox); '' when not known
    kind_read_at: str = ""  # when `kind` was read from the tenant (ISO, UTC); a kind reused keeps its reading's time
    # (kind, read at) the resource's restore points recorded from a reading at or after the given time, ('', '') if
    # none: looked up only when a workload asks (core.backup sets it; mailbox_purpose.py asks)
    recent_kind: Callable[[datetime], tuple[str, str]] = field(
        default=lambda since: ("", ""), repr=False, compare=False
    )
    signals: RunSignals = field(default_factory=RunSignals, repr=False, compare=False)  # for the ransomware signal
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def fail(self, where: str, error: Exception | str) -> None:
        with self._lock:
            self.failures.append({"item": where, "error": str(error)[:500]})

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)

    @property
    def status(self) -> str:
        if self.fatal:
            return "failed"
        if self.skipped_reason:
            return "skipped"
        return "partial" if self.failures else "succeeded"

    def result(self) -> dict[str, Any]:
        """The small dict an activity returns (ids and counts only)."""
        return {
            "resource": self.resource,
            "status": self.status,
            "items": self.items,
            "bytes": self.bytes,
            "removed": self.removed,
            "failed_items": len(self.failures),
            "error": self.fatal or self.skipped_reason or None,
            "kind": self.kind,
            "kind_read_at": self.kind_read_at,
        }
