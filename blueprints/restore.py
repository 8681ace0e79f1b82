"""The restore job functions: the job orchestrator, the batch sub-orchestrator, the activities.

    (the restore API records a job, then starts) restore_orchestrator  (instance id "restore-<job id>")
        plan_restore {job_id} -> {job_id, run_id, parts, batch_size, items, destination_name}   (retried)
            parts 0 (the request can no longer be carried out): no fan-out, straight to finish_restore
        -> restore_batch x ceil(parts / batch size), in parallel  (instance ids "restore-<job id>-00000"...)
             -> restore_part {job_id, part, parts, run_id, destination_name} -> counts, in parallel, NOT retried
        -> finish_restore {job_id, totals, failed_parts[, error]}  (retried) -> status, audit entry

A part is never retried by the host: under 'keep-both' a part run twice would restore its items twice. A part whose
activity fails is reported as a failed part (recorded by finish_restore) and never fails its siblings. Orchestrators
only yield Durable tasks and call pure core.restore_plan helpers (they are replayed); activities call one
core.restore_job use case each. Payloads are ids and counts.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from blueprints.fan_in import error_text, settle
from blueprints.services import provider
from core import restore_job
from core.restore_plan import part_batches
from core.storage.restore_jobs import COUNTS

log = logging.getLogger(__name__)

bp = df.Blueprint()

ORCHESTRATOR = "restore_orchestrator"
BATCH_ORCHESTRATOR = "restore_batch"

# Planning only reads (and marks the job started or failed): a transient failure is worth retrying.
PLAN_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
# finish_restore records the outcome: a transient storage failure there must not leave the job 'running' forever.
FINISH_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=5)


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def _add(totals: dict[str, int], counts: dict[str, Any]) -> None:
    for name in COUNTS:
        totals[name] += int(counts.get(name, 0) or 0)


def _progress(job_id: str, stage: str, **counts: Any) -> dict:
    return {"job_id": job_id, "stage": stage, **counts}


def _finish(
    context: df.DurableOrchestrationContext, job_id: str, totals: dict, failed_parts: list, error: str = ""
) -> Generator[Any, Any, dict]:
    payload: dict[str, Any] = {"job_id": job_id, "totals": totals, "failed_parts": failed_parts}
    if error:
        payload["error"] = error
    return (yield context.call_activity_with_retry("finish_restore", FINISH_RETRY, payload, expected_type=dict))


# ----------------------------------------------------------------------------------------------- orchestrators


@bp.orchestration_trigger(context_name="context", input_type=dict)
def restore_orchestrator(context: df.DurableOrchestrationContext):
    """One restore job. Input: {"job_id", "part_size": optional items per part (tests, tuning)}."""
    job = context.get_input() or {}
    job_id = job["job_id"]
    plan_input: dict[str, Any] = {"job_id": job_id}
    if job.get("part_size"):
        plan_input["part_size"] = job["part_size"]

    context.set_custom_status(_progress(job_id, "planning"))
    try:
        plan = yield context.call_activity_with_retry("plan_restore", PLAN_RETRY, plan_input, expected_type=dict)
    except Exception as error:  # the job must not stay 'accepted': finish it as failed
        plan = {"job_id": job_id, "run_id": "", "parts": 0, "error": f"planning failed: {error_text(error)}"}
    run_id, parts = plan["run_id"], int(plan["parts"])
    if parts == 0:
        summary = yield from _finish(context, job_id, _zero(), [], plan.get("error") or "nothing to restore")
        context.set_custom_status(_progress(job_id, "completed", status=summary["status"], parts=0))
        return summary

    batches = part_batches(parts, int(plan["batch_size"]))
    context.set_custom_status(
        _progress(job_id, "restoring", run_id=run_id, items=plan.get("items", 0), parts=parts, batches=len(batches))
    )
    common = {"job_id": job_id, "run_id": run_id, "parts": parts, "destination_name": plan.get("destination_name")}
    tasks = [
        context.call_sub_orchestrator(
            BATCH_ORCHESTRATOR,
            {**common, "part_list": batch},
            instance_id=f"{context.instance_id}-{index:05d}",
            expected_type=dict,
        )
        for index, batch in enumerate(batches)
    ]
    totals, failed_parts = _zero(), []
    for batch, (ok, value) in zip(batches, (yield from settle(context, tasks)), strict=True):
        if ok:
            _add(totals, value["totals"])
            failed_parts.extend(value["failed_parts"])
        else:  # restore_batch never fails on its own; if its instance failed anyway, each of its parts failed
            failed_parts.extend({"part": part, "error": f"batch failed: {value}"} for part in batch)

    done = {"parts": parts, "failed_parts": len(failed_parts), **totals}
    context.set_custom_status(_progress(job_id, "finishing", run_id=run_id, **done))
    summary = yield from _finish(context, job_id, totals, failed_parts)
    context.set_custom_status(_progress(job_id, "completed", run_id=run_id, status=summary["status"], **done))
    if not context.is_replaying:
        log.info("restore job %s finished: %s", job_id, summary["status"])
    return summary


@bp.orchestration_trigger(context_name="context", input_type=dict)
def restore_batch(context: df.DurableOrchestrationContext):
    """Restore a batch of parts in parallel. Input: {"job_id", "run_id", "parts", "destination_name", "part_list"}.
    Returns {"totals": counts of the parts that ran, "failed_parts": [{"part", "error"}]}; a part whose activity
    failed is listed there and never fails its siblings. Parts are not retried (see the module docstring)."""
    batch = context.get_input()
    parts = batch["part_list"]
    tasks = [
        context.call_activity(
            "restore_part",
            {
                "job_id": batch["job_id"],
                "part": part,
                "parts": batch["parts"],
                "run_id": batch["run_id"],
                "destination_name": batch["destination_name"],
            },
            expected_type=dict,
        )
        for part in parts
    ]
    totals, failed_parts = _zero(), []
    for part, (ok, value) in zip(parts, (yield from settle(context, tasks)), strict=True):
        if ok:
            _add(totals, value)
        else:
            failed_parts.append({"part": part, "error": value})
    context.set_custom_status({"job_id": batch["job_id"], "parts": len(parts), "failed_parts": len(failed_parts)})
    return {"totals": totals, "failed_parts": failed_parts}


# -------------------------------------------------------------------------------------------------- activities


@bp.activity_trigger(input_name="payload")
def plan_restore(payload: dict) -> dict:
    return restore_job.plan_job(provider.get(), payload["job_id"], payload.get("part_size"))


@bp.activity_trigger(input_name="payload")
def restore_part(payload: dict) -> dict:
    return restore_job.run_part(
        provider.get(),
        payload["job_id"],
        payload["part"],
        payload["parts"],
        payload["run_id"],
        payload.get("destination_name"),
    )


@bp.activity_trigger(input_name="payload")
def finish_restore(payload: dict) -> dict:
    return restore_job.finish_job(
        provider.get(), payload["job_id"], payload["totals"], payload["failed_parts"], payload.get("error", "")
    )
