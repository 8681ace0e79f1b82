"""Retry of held items (core/storage/quarantine.py) at every run after the one that held them: each is read by id
with its kind's $select, then its content is stored exactly as a delta entry's would be. Captured: catalogued, then
released. A 404 on the read by id: released as deleted, its live version (if any) ended. Any other failure: held
again (one more attempt) and a failure of this run, so the restore point stays "partial" and lists it.

Items that this run's delta rounds already fetched are left to those rounds (captured there, or held again)."""

from __future__ import annotations

from core.errors import GraphError, GraphNotFound
from core.storage.delta_state import DeltaState
from core.storage.quarantine import HeldItem
from core.workloads.container_delta import (
    IMMUTABLE_IDS,
    Container,
    Failed,
    MailboxJob,
    RoundOutcome,
    anchor_of,
    fail_item,
    fetch_item,
    record_outcome,
    release,
    remove_item,
)


def retry_held(job: MailboxJob, containers: dict[str, Container], states: dict[tuple[str, str], DeltaState]) -> None:
    """Every item of the job's kind held before this run and not fetched by it, retried by id."""
    for item in sorted(job.held.values(), key=lambda i: (i.container_id, i.item_id)):
        if item.item_id in job.tried:
            continue
        outcome = RoundOutcome("", set(), 0)
        _retry(job, item, containers, states, outcome)
        job.writer.flush()
        for failure in outcome.failures:
            job.quarantine.hold(job.resource, job.kind.category, item.item_id, item.container_id,
                                str(failure.error), job.run_id)  # fmt: skip
        release(job, outcome.released)


def _retry(
    job: MailboxJob,
    item: HeldItem,
    containers: dict[str, Container],
    states: dict[tuple[str, str], DeltaState],
    outcome: RoundOutcome,
) -> None:
    label = f"held {job.kind.category} {item.item_id} (held since run {item.first_run})"
    params = {"$select": job.kind.select} if job.kind.select else None
    try:
        entry = job.graph.get_json(job.kind.item_path(job.user, item.item_id), params=params, headers=IMMUTABLE_IDS)
    except GraphNotFound:
        remove_item(job, None, item.item_id)
        outcome.released.append((item.item_id, "deleted"))
        return
    except GraphError as exc:
        fail_item(job, outcome, Failed(item.item_id, label, exc))
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
