"""The verification functions: content read back against its hashes, on a schedule, across the tenant.

    verify_timer (timer, %VERIFY_SCHEDULE%) ──> verify_orchestrator  (instance id "verify": one at a time)
        verify_plan -> {resources, batch_size, fraction}
        -> verify_batch x ceil(resources / batch size), in parallel  (instance ids "verify-<id>-00000"...)
             -> verify_resource {resource, fraction, seed} x resources in the batch, in parallel -> counts
           each batch returns its resources' counts summed (core.verify.add_up), so the parent's history holds one
           small result per batch, not one per resource
        -> verify_finish {summary} (retried): the record the CLI, the API and the dashboard read

A resource whose activity fails after its retries is counted unreadable and named; it never fails its siblings.
Orchestrators only yield Durable tasks and call pure core.verify helpers (they are replayed)."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints.fan_in import error_text, settle, start_unless_running
from blueprints.services import provider
from core import verify as use_cases
from core.planning import new_run_id, plan_batches

log = logging.getLogger(__name__)

bp = df.Blueprint()

VERIFY_INSTANCE = "verify"
ORCHESTRATOR = "verify_orchestrator"
BATCH_ORCHESTRATOR = "verify_batch"
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
    batches = plan_batches(plan["resources"], plan["batch_size"])
    context.set_custom_status({"verification_id": verification_id, "resources": len(plan["resources"])})
    tasks = [
        context.call_sub_orchestrator(
            BATCH_ORCHESTRATOR,
            {"verification_id": verification_id, "fraction": plan["fraction"], "resources": batch},
            instance_id=f"{context.instance_id}-{verification_id}-{index:05d}",
            expected_type=dict,
        )
        for index, batch in enumerate(batches)
    ]
    parts = [
        value if ok else use_cases.add_up([use_cases.failed_resource(key, f"batch failed: {value}") for key in batch])
        for batch, (ok, value) in zip(batches, (yield from settle(context, tasks)), strict=True)
    ]
    finished = context.current_utc_datetime.isoformat()
    totals = use_cases.add_up(parts)
    summary = use_cases.summarize(verification_id, started.isoformat(), finished, plan["fraction"], trigger, totals)
    yield context.call_activity_with_retry("verify_finish", FINISH_RETRY, {"summary": summary}, expected_type=dict)
    return {k: summary[k] for k in ("verification_id", "status", "resources", "checked", "missing", "corrupted")}


@bp.orchestration_trigger(context_name="context", input_type=dict)
def verify_batch(context: df.DurableOrchestrationContext):
    """Verify one batch of resources in parallel; return their counts summed and their first problems."""
    batch = context.get_input()
    seed, fraction = batch["verification_id"], batch["fraction"]
    tasks = [
        context.call_activity_with_retry(
            "verify_resource", RESOURCE_RETRY, {"resource": key, "fraction": fraction, "seed": seed}, expected_type=dict
        )
        for key in batch["resources"]
    ]
    results = [
        value if ok else use_cases.failed_resource(key, str(value))
        for key, (ok, value) in zip(batch["resources"], (yield from settle(context, tasks)), strict=True)
    ]
    return use_cases.add_up(results)


@bp.activity_trigger(input_name="payload")
def verify_plan(payload: dict) -> dict:
    services = provider.get()
    fraction = use_cases.check_fraction(services.settings.verify_sample_percent)
    resources = sorted(services.runs.resources())
    return {"resources": resources, "batch_size": services.settings.batch_size, "fraction": fraction}


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
    use_cases.record(provider.get(), summary)  # the record, and its telemetry event
    if summary["status"] != "ok":
        log.error("verification %s found problems: %s", summary["verification_id"], summary)
    return {"verification_id": summary["verification_id"], "status": summary["status"]}
