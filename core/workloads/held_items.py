"""Held Outlook items (core/storage/quarantine.py) retried by id, for the engine's one retry mechanism
(core.delta.lifecycle): each is read by id with its kind's $select, then its content is stored exactly as a delta
entry's would be. Captured: catalogued, then released. A 404 on the read by id: released as deleted, its live
version (if any) ended. Any other failure: held again (one more attempt) and a failure of this run, so the restore
point stays "partial" and lists it.

Items that this run's delta rounds already fetched are left to those rounds (captured there, or held again)."""

from __future__ import annotations

from core.delta.containers import Container
from core.delta.lifecycle import Failure, Settlement
from core.errors import GraphError, GraphNotFound
from core.storage.delta_state import DeltaState
from core.storage.quarantine import HeldItem
from core.workloads.container_delta import (
    IMMUTABLE_IDS,
    Failed,
    MailboxJob,
    RoundOutcome,
    anchor_of,
    fail_item,
    fetch_item,
    record_outcome,
    remove_item,
)


def read_held(job: MailboxJob, item: HeldItem) -> dict | None:
    """The held item as Graph has it now, or None when a read by id answers 404."""
    params = {"$select": job.kind.select} if job.kind.select else None
    try:
        return job.graph.get_json(job.kind.item_path(job.user, item.item_id), params=params, headers=IMMUTABLE_IDS)
    except GraphNotFound:
        return None


def apply_held(
    job: MailboxJob,
    read: dict[str, dict | None],
    unread: dict[str, Exception],
    containers: dict[str, Container],
    states: dict[tuple[str, str], DeltaState],
) -> Settlement:
    """Held items read by id (None: gone) recorded as a delta entry would be, in the container they are in now."""
    done = Settlement()
    for item_id in sorted(read.keys() | unread.keys(), key=lambda i: (job.held[i].container_id, i)):
        item = job.held[item_id]
        outcome = RoundOutcome("", set(), 0)
        _apply(job, item, read.get(item_id), unread.get(item_id), containers, states, outcome)
        done.failures.extend(Failure(f.item_id, job.kind.category, item.container_id, f.error)
                             for f in outcome.failures)  # fmt: skip
        done.released.extend(outcome.released)
    return done


def _apply(
    job: MailboxJob,
    item: HeldItem,
    entry: dict | None,
    error: Exception | None,
    containers: dict[str, Container],
    states: dict[tuple[str, str], DeltaState],
    outcome: RoundOutcome,
) -> None:
    label = f"held {job.kind.category} {item.item_id} (held since run {item.first_run})"
    if error is not None:
        fail_item(job, outcome, Failed(item.item_id, label, error))
        return
    if entry is None:
        remove_item(job, None, item.item_id)
        outcome.released.append((item.item_id, "deleted"))
        return
    entry.setdefault("id", item.item_id)
    container = containers.get(str(entry.get("parentFolderId") or "")) or containers.get(item.container_id)
    if container is None:
        error = GraphError(f"its container {item.container_id} is no longer backed up, nor is the one it is in now")
        fail_item(job, outcome, Failed(item.item_id, label, error))
        return
    state = states.get((job.kind.category, container.id))
    job.anchor = anchor_of(state) if state is not None else job.kind.params(job)
    record_outcome(job, container, entry, fetch_item(job, container, entry), outcome)
