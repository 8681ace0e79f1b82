"""The blob-sweep lock: what keeps a blob deletion (purge, erasure) and a backup from crossing.

A backup that finds its content already stored (409 on the write-once put) relies on that blob staying; a sweep that
decided the blob was unreferenced a moment earlier would delete it under the new version. So the two exclude each
other through two rows of the runs table, each side writing its own row FIRST and reading the other's after:

    sweep:  write the lock row (partition 'lock', row 'blob-sweep', heartbeat) -> no backup run `running`? -> delete
            one batch -> heartbeat and look again before the next batch; release the lock at the end
    backup: write its `running` row (RunStore.start) -> a fresh lock? -> wait until it is released or stale

Table storage is strongly consistent, so at least one side sees the other: either the sweep sees the run (and
defers deleting blobs to its next purge; its marks stay) or the backup sees the lock (and waits: the sweep sees the
backup's row before its next batch and stops). A lock whose heartbeat is older than STALE_AFTER is a sweep that
died (SIGKILL): nobody waits for it. Not journaled: it means nothing after a rebuild."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from core.storage.tables import REPLAY_SAFE

LOCK_PK, LOCK_RK = "lock", "blob-sweep"
STALE_AFTER = timedelta(minutes=2)  # a sweep beats before every batch; a batch takes seconds
WAIT_POLL_SECONDS = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


class SweepLock:
    def __init__(self, table: TableClient, owner: str) -> None:
        self._table = table
        self.owner = owner

    def holder(self, now: datetime | None = None) -> str:
        """The owner of a fresh lock ('' when there is none or it went stale)."""
        return fresh_holder(self._table, now)

    def acquire(self) -> bool:
        """Take the lock (or renew one this owner holds); False when another sweep holds a fresh one."""
        other = self.holder()
        if other and other != self.owner:
            return False
        self.beat()
        return True

    def beat(self) -> None:
        entity = {"PartitionKey": LOCK_PK, "RowKey": LOCK_RK, "owner": self.owner, "heartbeat_at": _now().isoformat()}
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE, **REPLAY_SAFE)

    def release(self) -> None:
        if self.holder() in ("", self.owner):
            self._table.delete_entity(LOCK_PK, LOCK_RK)


def fresh_holder(table: TableClient, now: datetime | None = None) -> str:
    try:
        row = table.get_entity(LOCK_PK, LOCK_RK)
    except ResourceNotFoundError:
        return ""
    try:
        beat = datetime.fromisoformat(str(row.get("heartbeat_at") or ""))
    except ValueError:
        return ""
    return str(row.get("owner") or "?") if (now or _now()) - beat <= STALE_AFTER else ""


def wait_for_sweep(table: TableClient, poll: float = WAIT_POLL_SECONDS) -> float:
    """Block while a fresh sweep lock is held (called right after a backup run records itself `running`, which the
    sweep sees before its next batch); returns the seconds waited. Never longer than STALE_AFTER per holder."""
    started = time.monotonic()
    deadline = started + STALE_AFTER.total_seconds() + poll
    while fresh_holder(table) and time.monotonic() < deadline:
        time.sleep(poll)
    return time.monotonic() - started
