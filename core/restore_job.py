"""Carrying out a recorded restore job: the use cases behind the restore orchestration's activities.

    plan_job(services, job_id)      split the selection kept with the job into parts (a job recorded without one,
                                    validated and selected here, once), fix its destination folder, prepare what its
                                    category prepares once per job (mail: find or make the target folders, kept with
                                    the job), start it
    run_part(services, job_id, ...) restore one part (its items of the kept selection, read by id) and record it
    finish_job(services, job_id, ...)  record failed parts, set the job's final status, append the audit entry

Each is safe to run again (activities run at least once): planning reuses the selection kept with the job (it
selects at most once), derives the destination folder's name from the job's creation time, parts record their
outcome under their own row, finishing overwrites the same fields. Payloads in and out are ids and counts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import GraphError, InvalidRequestError, NotFoundError, StorageError
from core.restore import restore, restore_picks
from core.restore_plan import PART_BATCH_SIZE, PART_SIZE, job_status, part_request, parts_of, validate_restore
from core.storage.audit_log import AuditEntry
from core.storage.restore_jobs import COUNTS
from core.workloads.base import Pick

if TYPE_CHECKING:
    from core.bootstrap import Services

log = logging.getLogger(__name__)

MAX_AUDITED_IDS = 50  # item ids named in the audit entry's scope (the count is always there)


def _created(job: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(job.get("created_at") or "")).astimezone(UTC)
    except ValueError:
        return None


def plan_job(services: Services, job_id: str, part_size: int | None = None) -> dict[str, Any]:
    """Start the job from the selection kept with it (the API's validation kept it; a job recorded without one is
    validated against the backup and the tenant as they are now, and its selection kept, here): returns {job_id,
    run_id, parts, batch_size, items, destination_name}. A request that can no longer be carried out finishes the
    job as failed and returns parts 0 with the reason in `error`. NotFoundError if there is no job."""
    store = services.restore_jobs
    job = store.get(job_id)
    plan: dict[str, Any] = {"job_id": job_id, "run_id": "", "parts": 0, "batch_size": PART_BATCH_SIZE, "items": 0}
    try:
        request = store.request(job_id)
        kept = store.selection(job_id)
        if kept is None:
            checked = validate_restore(services, request, part_size or PART_SIZE)
            selected = checked.selection.items if checked.selection is not None else []
            store.save_selection(job_id, checked.run_id, checked.items, [Pick.of(s) for s in selected])
            kept = {"run_id": checked.run_id, "items": checked.items}
    except (InvalidRequestError, NotFoundError) as exc:
        store.finish(job_id, "failed", str(exc))
        log.info("restore job %s refused at planning: %s", job_id, exc)
        return {**plan, "destination_name": None, "error": str(exc)}
    run_id, items = str(kept["run_id"]), int(kept["items"])
    parts = parts_of(request, items, part_size or PART_SIZE)
    name = request.new_folder_name(_created(job)) if request.destination == "new-folder" else None
    prepare = request.kind.prepare
    if prepare is not None and store.folders(job_id) is None:
        whole = part_request(request, run_id, 1, 0, name)
        try:
            store.save_folders(job_id, prepare(services, whole, store.part_picks(job_id, 0, 1) or []))
        except (GraphError, StorageError, NotFoundError, ValueError) as exc:  # each part finds its folders itself
            log.warning("restore job %s: target folders not resolved at planning: %s", job_id, exc)
    store.start(job_id, run_id, parts, name or "")
    return {**plan, "run_id": run_id, "parts": parts, "items": items, "destination_name": name}


def run_part(
    services: Services, job_id: str, part: int, parts: int, run_id: str, destination_name: str | None
) -> dict[str, int]:
    """Restore part `part` of `parts` of the job (its slice of the kept selection, each item read by id) and record
    its outcome; returns its counts."""
    store = services.restore_jobs
    done = store.recorded_part(job_id, part)
    if done is not None:  # the activity runs again after its part finished: nothing is restored twice
        return done
    request = part_request(store.request(job_id), run_id, parts, part, destination_name)
    prepared = store.folders(job_id) if request.kind.prepare is not None else None
    if store.begin_part(job_id, part) and prepared:  # it began before and never finished: what it restored then
        prepared = {path: (folder_id, False) for path, (folder_id, _made) in prepared.items()}  # is looked for
    picks = store.part_picks(job_id, part, parts)
    if picks is None:  # a job planned before selections were kept: its part selects its share itself
        return store.record_part(job_id, part, restore(services, request, prepared))
    return store.record_part(job_id, part, restore_picks(services, request, picks, prepared))


def finish_job(
    services: Services, job_id: str, totals: dict[str, int], failed_parts: list[dict[str, Any]], error: str = ""
) -> dict[str, Any]:
    """Record the parts that could not run, set the job's final status (succeeded / partial / failed, see
    restore_plan.job_status) and append the 'restore.finished' audit entry. Returns a small summary."""
    store = services.restore_jobs
    counts = {name: int(totals.get(name, 0)) for name in COUNTS}
    try:
        job = store.get(job_id)
    except NotFoundError:
        log.error("restore job %s is not recorded: nothing to finish", job_id)
        return {"job_id": job_id, "status": "failed", **counts, "failed_parts": len(failed_parts), "error": "no job"}
    for failure in failed_parts:
        store.record_part_failure(job_id, int(failure["part"]), str(failure.get("error", "")))
    status = job_status(counts, len(failed_parts), error)
    if not error and failed_parts:
        error = f"{len(failed_parts)} of {job['parts']} parts failed: {failed_parts[0].get('error', '')}"
    store.finish(job_id, status, error)
    _audit(services, job_id, job, status, {**counts, "parts": int(job["parts"]), "failed_parts": len(failed_parts)})
    return {"job_id": job_id, "status": status, "run_id": job["run_id"], "parts": int(job["parts"]), **counts,
            "failed_parts": len(failed_parts)}  # fmt: skip


def _audit(services: Services, job_id: str, job: dict[str, Any], status: str, counts: dict[str, int]) -> None:
    request = job["request"]
    ids = list(request.get("item_ids") or [])
    scope = {"item_ids": ids[:MAX_AUDITED_IDS], "item_count": len(ids), "folder": request.get("folder"),
             "whole": bool(request.get("whole")), "category": request.get("category")}  # fmt: skip
    destination = job.get("destination_folder") or request.get("destination") or "original"
    if request.get("target_owner"):
        destination = f"{destination} in another resource: {request['target_owner']}"
    requester = job.get("requester") or {}
    services.audit.append(
        AuditEntry(
            actor=str(requester.get("oid", "")),
            actor_name=str(requester.get("name", "")),
            roles=tuple(str(r) for r in requester.get("roles", ())),
            action="restore.finished",
            result=status,
            resource=str(job.get("resource", "")),
            scope=scope,
            point=str(job.get("run_id", "")),
            destination=destination,
            counts=counts,
            detail=job_id,
        )
    )
