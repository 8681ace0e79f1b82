"""Repeated denials are aggregated before they reach the audit log, so a flood of refused requests cannot flood it.

Every refused request (401, 403) used to be one audit row: 4,000 unauthenticated requests wrote 4,000 rows, and
`GET /audit` had to page through them. Rate-limiting the requests themselves would not help (a refused request
already costs next to nothing but its audit write) and would also refuse legitimate callers behind the same
address; so the denials are *aggregated* instead:

- a denial is keyed by (source address, status, caller, and for 403s the action) and by the kind of its message
  (quoted names and numbers taken out, so made-up key ids or resource names do not make new kinds);
- the first denial of a key in a minute is written in full, as before, while at most FULL_PER_MINUTE denials a
  minute are written in full in all (so varying the address or the token cannot defeat the bound);
- the others are counted, and each key's count is written as one `denied.repeated` entry (counts.requests = how
  many, detail naming the source and the minute) once its minute is over: at the next denial, at the next read of
  the audit log (`flush`), or when the server stops.

The counts live in the process (one API instance's view): a process that dies loses at most a minute of counts of
denials whose first one was logged in full. At most FULL_PER_MINUTE + one entry per key (bounded by MAX_KEYS) are
written a minute, however many requests are refused."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.storage.audit_log import AuditEntry

FULL_PER_MINUTE = 50
MAX_KEYS = 1_000  # distinct keys counted per minute; beyond, denials are counted under one catch-all key
_NAMES = re.compile(r"'[^']*'|\"[^\"]*\"|\([^)]*\)|[0-9]+")


@dataclass(frozen=True)
class DenialKey:
    source: str
    status: int
    actor: str
    action: str  # '' for 401s: an unauthenticated caller is one caller whatever path it tries
    kind: str


@dataclass
class _Pending:
    count: int = 0
    actions: list[str] = field(default_factory=list)
    actor_name: str = ""
    roles: tuple[str, ...] = ()
    resource: str = ""


def denial_kind(detail: str) -> str:
    """A message with the names and numbers in it taken out: 'the token has expired (at ...)' for every expiry."""
    return " ".join(_NAMES.sub("_", detail).split())[:80]


class DenialAggregator:
    """Thread-safe; one per API app (ApiContext.denials)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._minute = -1
        self._full = 0  # denials written in full this minute
        self._seen: set[DenialKey] = set()  # keys whose first denial this minute was written in full
        self._pending: dict[tuple[int, DenialKey], _Pending] = {}  # (minute, key) -> denials counted, not written

    def admit(self, key: DenialKey, action: str, actor_name: str, roles: tuple[str, ...], resource: str) -> bool:
        """True if this denial is to be written in full now; else it is counted for a `denied.repeated` entry."""
        with self._lock:
            minute = int(self._clock() // 60)
            if minute != self._minute:
                self._minute, self._full, self._seen = minute, 0, set()
            if key not in self._seen and self._full < FULL_PER_MINUTE:
                self._seen.add(key)
                self._full += 1
                return True
            if (minute, key) not in self._pending and len(self._pending) >= MAX_KEYS:
                key = DenialKey("(many sources)", key.status, "", "", "denials beyond the per-minute key limit")
            pending = self._pending.setdefault((minute, key), _Pending(actor_name=actor_name, roles=roles))
            pending.count += 1
            if action not in pending.actions and len(pending.actions) < 5:
                pending.actions.append(action)
            if resource and not pending.resource:
                pending.resource = resource
            return False

    def due(self, everything: bool = False) -> list[AuditEntry]:
        """The `denied.repeated` entries of minutes that are over (of every minute, with `everything`); each is
        handed out once."""
        with self._lock:
            now_minute = int(self._clock() // 60)
            ready = [k for k in self._pending if everything or k[0] < now_minute]
            taken = [(minute, key, self._pending.pop((minute, key))) for minute, key in ready]
        return [_entry(minute, key, pending) for minute, key, pending in taken]


def _entry(minute: int, key: DenialKey, pending: _Pending) -> AuditEntry:
    start = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%MZ")
    detail = (
        f"{pending.count} more denied request(s) ({key.status}) from {key.source} in the minute from {start}, "
        f"counted, not logged one by one; the first was logged in full: {key.kind}"
    )
    return AuditEntry(
        actor=key.actor,
        actor_name=pending.actor_name,
        roles=pending.roles,
        action="denied.repeated",
        result="denied",
        resource=pending.resource,
        scope={"source": key.source, "minute": start, "actions": pending.actions},
        counts={"requests": pending.count},
        status=key.status,
        detail=detail,
    )
