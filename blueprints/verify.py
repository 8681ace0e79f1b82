"""The verification functions: content read back against its hashes, on a schedule, across the tenant.

    verify_timer (timer, %VERIFY_SCHEDULE%) ──> verify_orchestrator  (instance id "verify": one at a time)
        verify_plan: every resource stored in batches under the verification id (core/storage/run_resources.py)
                     -> {list, resources, batches, batch_size, fanout_width, fraction}: a reference, never the list
        -> verify_batch x ceil(resources / batch size), in parallel  (instance ids "verify-<id>-00000"...),
           through verify_fanout nodes when there are more than BACKUP_FANOUT_WIDTH (blueprints.fan_in.fan_out_list)
             -> verify_batch_resources (the batch's keys)
             -> verify_resource {resource, fraction, seed} x resources in the batch, in parallel -> counts
           each batch returns its resources' counts summed (core.verify.add_up), so no orchestration's history holds
           more than BACKUP_FANOUT_WIDTH small results, however many resources there are
        -> verify_finish {summary} (retried): the record the CLI, the API and the dashboard read; the list removed

A resource whose activity fails after its retries is counted unreadable and named; it never fails its siblings.
Orchestrators only yield Durable tasks and call pure core.verify helpers (they are replayed)."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints.fan_in import (
    REFERENCE,
    error_text,
    fan_out_list,
    forget_lists,
    settle,
    start_unless_running,
    store_list,
)
from blueprints.services import provider
from core import verify as use_cases
from core.planning import new_run_id

log = logging.getLogger(__name__)

bp = df.Blueprint()

VERIFY_INSTANCE = "verify"
ORCHESTRATOR = "verify_orchestrator"
BATCH_ORCHESTRATOR, FANOUT_ORCHESTRATOR = "verify_batch", "verify_fanout"
NAMES = (BATCH_ORCHESTRATOR, FANOUT_ORCHESTRATOR)
RESOURCE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
FINISH_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=5)


@bp.timer_trigger(arg_name="timer", schedule="%VERIFY_SCHEDULE%", run_on_startup=False, use_monitor=True)
@bp.retry(strategy="exponential_backoff", max_retry_count="3", minimum_interval="00:00:10", maximum_interval="00:02:00")
@bp.durable_client_input(client_name="client")
async def verify_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start a scheduled verification unless the last one is still going."""
    await start_unless_running(client, ORCHESTRATOR, VERIFY_INSTANCE, "verification")


@bp.orchestration_trigger(context_name="context", input_type=dict)
def verify_orchestrator(context: df.DurableOrchestrationContext):
    """One verification. Input: {"trigger"}; the sample is the VERIFY_SAMPLE_PERCENT the plan reads."""
    trigger = (context.get_input() or {}).get("trigger", "schedule")
    started = context.current_utc_datetime
    verification_id = new_run_id(started)
    plan = yield context.call_activity("verify_plan", {"verification_id": verification_id}, expected_type=dict)
    context.set_custom_status({"verification_id": verification_id, "resources": plan["resources"]})
    node = {key: plan[key] for key in REFERENCE}  # the stored list's reference and counts, never the list
    node.update(verification_id=verification_id, fraction=plan["fraction"], first=0, count=plan["batches"],
                prefix=f"{context.instance_id}-{verification_id}")  # fmt: skip
    parts = yield from fan_out_list(context, node, NAMES, use_cases.failed_batch)
    finished = context.current_utc_datetime.isoformat()
    totals = use_cases.add_up(parts)
    summary = use_cases.summarize(verification_id, started.isoformat(), finished, plan["fraction"], trigger, totals)
    yield context.call_activity_with_retry("verify_finish", FINISH_RETRY, {"summary": summary}, expected_type=dict)
    return {k: summary[k] for k in ("verification_id", "status", "resources", "checked", "missing", "corrupted")}


@bp.orchestration_trigger(context_name="context", input_type=dict)
def verify_fanout(context: df.DurableOrchestrationContext):
    """A node of the verification's fan-out tree over a range of batches ({"first", "count"} and the list's
    reference). Returns the range's results summed."""
    return use_cases.add_up((yield from fan_out_list(context, context.get_input(), NAMES, use_cases.failed_batch)))


@bp.orchestration_trigger(context_name="context", input_type=dict)
def verify_batch(context: df.DurableOrchestrationContext):
    """Verify one batch of the stored list in parallel ({"verification_id", "list", "batch", "fraction"}); return
    their counts summed and their first problems. Only a batch whose keys cannot be read fails."""
    batch = context.get_input()
    seed, fraction = batch["verification_id"], batch["fraction"]
    read = {"verification_id": seed, "list": batch["list"], "batch": batch["batch"]}
    resources = yield context.call_activity_with_retry("verify_batch_resources", RESOURCE_RETRY, read,
                                                       expected_type=list)  # fmt: skip
    tasks = [
        context.call_activity_with_retry(
            "verify_resource", RESOURCE_RETRY, {"resource": key, "fraction": fraction, "seed": seed}, expected_type=dict
        )
        for key in resources
    ]
    results = [
        value if ok else use_cases.failed_resource(key, str(value))
        for key, (ok, value) in zip(resources, (yield from settle(context, tasks)), strict=True)
    ]
    return use_cases.add_up(results)


@bp.activity_trigger(input_name="payload")
def verify_plan(payload: dict) -> dict:
    """Every backed-up resource, stored under the verification id (core/storage/run_resources.py); returns the
    list's reference and counts and the sample, never the list."""
    services = provider.get()
    fraction = use_cases.check_fraction(services.settings.verify_sample_percent)
    resources = sorted(services.runs.resources())
    listed = store_list(services.runs.verify_lists, payload["verification_id"], resources, services.settings)
    return {**listed, "fraction": fraction}


@bp.activity_trigger(input_name="payload")
def verify_batch_resources(payload: dict) -> list[str]:
    """The resource keys of one batch of the verification's stored list (at most BACKUP_BATCH_SIZE)."""
    lists = provider.get().runs.verify_lists
    return lists.batch(payload["verification_id"], payload["list"], payload["batch"])


@bp.activity_trigger(input_name="payload")
def verify_resource(payload: dict) -> dict:
    services = provider.get()
    try:
        result = use_cases.verify_resource(services, payload["resource"], payload["fraction"], payload["seed"])
    except Exception as error:  # the catalog could not be read: this resource is unproven, the others go on
        return use_cases.failed_resource(payload["resource"], error_text(error))
    return result.to_dict()


@bp.activity_trigger(input_name="payload")
def verify_finish(payload: dict) -> dict[str, Any]:
    summary = payload["summary"]
    services = provider.get()
    use_cases.record(services, summary)  # the record, and its telemetry event
    forget_lists(services.runs.verify_lists, summary["verification_id"])  # the stored list is done with
    if summary["status"] != "ok":
        log.error("verification %s found problems: %s", summary["verification_id"], summary)
    return {"verification_id": summary["verification_id"], "status": summary["status"]}
