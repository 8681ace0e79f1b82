"""The purge functions: retention applied on a schedule, under the purge's own identity (PURGE_CLIENT_ID).

    purge_timer (timer, %PURGE_SCHEDULE%) ──> purge_orchestrator  (instance id "purge": one at a time)
        purge_plan: every resource stored in batches under the purge id (core/storage/run_resources.py)
                    -> {list, resources, batches, batch_size, fanout_width}: a reference, never the list
        -> purge_batch x ceil(resources / batch size), in parallel  (instance ids "purge-<id>-00000"...),
           through purge_fanout nodes when there are more than BACKUP_FANOUT_WIDTH (blueprints.fan_in.fan_out_list)
             -> purge_batch_resources (the batch's keys)
             -> purge_resource {resource, now} x resources in the batch, in parallel -> counts
                (mark, sweep points, sweep versions: core.lifecycle.purge.purge_resource)
           each batch returns its resources' counts summed (core.lifecycle.purge.add_up): one small result per
           batch, at most BACKUP_FANOUT_WIDTH per orchestration
        -> purge_blobs {now, after}, again from its 'next' while it says 'more' (at most MAX_BLOB_ROUNDS): the blob
           sweep, once for all resources, after every resource's versions are gone
        -> purge_erasures {now}: what confirmed erasures could not remove then (immutable), removed now if it may be
        -> purge_finish {summary} (retried): the record (`purges`, GET /api/v1/purges), the audit entry; the list
           removed

Every activity is idempotent (core/lifecycle/purge.py), so a retried or replayed one, or a purge stopped and started
again, finishes the job without removing what a retained point needs. `now` is the orchestration's time, the same
in every replay. A resource whose activity fails after its retries is counted failed; its siblings go on."""

from __future__ import annotations

import logging
from datetime import datetime
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
from core.bootstrap import ServiceProvider, Services
from core.lifecycle import purge as use_cases
from core.lifecycle.purge_identity import build_purge_services
from core.planning import new_run_id

log = logging.getLogger(__name__)

bp = df.Blueprint()

PURGE_INSTANCE = "purge"
ORCHESTRATOR = "purge_orchestrator"
BATCH_ORCHESTRATOR, FANOUT_ORCHESTRATOR = "purge_batch", "purge_fanout"
NAMES = (BATCH_ORCHESTRATOR, FANOUT_ORCHESTRATOR)
MAX_BLOB_ROUNDS = 20
RESOURCE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
FINISH_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=5)

purge_provider = ServiceProvider(lambda: build_purge_services(provider.get().settings))


def purge_services() -> Services:
    """The purge's services: built with PURGE_CLIENT_ID's identity when one is set, else the host's own."""
    services = provider.get()
    return purge_provider.get() if services.settings.purge_client_id else services


@bp.timer_trigger(arg_name="timer", schedule="%PURGE_SCHEDULE%", run_on_startup=False, use_monitor=True)
@bp.retry(strategy="exponential_backoff", max_retry_count="3", minimum_interval="00:00:10", maximum_interval="00:02:00")
@bp.durable_client_input(client_name="client")
async def purge_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start a scheduled purge unless the last one is still going."""
    await start_unless_running(client, ORCHESTRATOR, PURGE_INSTANCE, "purge")


@bp.orchestration_trigger(context_name="context", input_type=dict)
def purge_orchestrator(context: df.DurableOrchestrationContext):
    """One purge. Input: {"trigger"}."""
    trigger = (context.get_input() or {}).get("trigger", "schedule")
    started = context.current_utc_datetime
    purge_id, now = new_run_id(started), started.isoformat()
    plan = yield context.call_activity("purge_plan", {"purge_id": purge_id}, expected_type=dict)
    context.set_custom_status({"purge_id": purge_id, "resources": plan["resources"]})
    node = {key: plan[key] for key in REFERENCE}  # the stored list's reference and counts, never the list
    node.update(purge_id=purge_id, now=now, first=0, count=plan["batches"], prefix=f"{context.instance_id}-{purge_id}")
    parts = yield from fan_out_list(context, node, NAMES, use_cases.failed_batch)
    cursor = ""
    for _round in range(MAX_BLOB_ROUNDS):
        payload = {"now": now, "after": cursor}
        swept = yield context.call_activity_with_retry("purge_blobs", RESOURCE_RETRY, payload, expected_type=dict)
        parts.append({**swept, "resources": 0})
        if not swept.get("more"):
            break
        cursor = swept["next"]
    erased = yield context.call_activity_with_retry("purge_erasures", RESOURCE_RETRY, {"now": now}, expected_type=dict)
    parts.append(erased)
    finished = context.current_utc_datetime.isoformat()
    summary = use_cases.summarize(purge_id, now, finished, trigger, use_cases.add_up(parts))
    yield context.call_activity_with_retry("purge_finish", FINISH_RETRY, {"summary": summary}, expected_type=dict)
    return {k: summary[k] for k in ("purge_id", "status", "resources", "points", "versions", "blobs", "bytes")}


@bp.orchestration_trigger(context_name="context", input_type=dict)
def purge_fanout(context: df.DurableOrchestrationContext):
    """A node of the purge's fan-out tree over a range of batches ({"first", "count"} and the list's reference).
    Returns the range's counts summed."""
    return use_cases.add_up((yield from fan_out_list(context, context.get_input(), NAMES, use_cases.failed_batch)))


@bp.orchestration_trigger(context_name="context", input_type=dict)
def purge_batch(context: df.DurableOrchestrationContext):
    """Purge one batch of the stored list in parallel ({"purge_id", "list", "batch", "now"}); return their counts
    summed. Only a batch whose keys cannot be read fails."""
    batch = context.get_input()
    read = {"purge_id": batch["purge_id"], "list": batch["list"], "batch": batch["batch"]}
    resources = yield context.call_activity_with_retry("purge_batch_resources", RESOURCE_RETRY, read,
                                                       expected_type=list)  # fmt: skip
    tasks = [
        context.call_activity_with_retry(
            "purge_resource", RESOURCE_RETRY, {"resource": key, "now": batch["now"]}, expected_type=dict
        )
        for key in resources
    ]
    results = [
        value if ok else use_cases.failed_resource(key, str(value))
        for key, (ok, value) in zip(resources, (yield from settle(context, tasks)), strict=True)
    ]
    return use_cases.add_up(results)


@bp.activity_trigger(input_name="payload")
def purge_plan(payload: dict) -> dict:
    """Every resource to purge, stored under the purge id (core/storage/run_resources.py); returns the list's
    reference and counts, never the list."""
    services = purge_services()
    resources = use_cases.resources_to_purge(services)
    return store_list(services.runs.purge_lists, payload["purge_id"], resources, services.settings)


@bp.activity_trigger(input_name="payload")
def purge_batch_resources(payload: dict) -> list[str]:
    """The resource keys of one batch of the purge's stored list (at most BACKUP_BATCH_SIZE)."""
    return purge_services().runs.purge_lists.batch(payload["purge_id"], payload["list"], payload["batch"])


@bp.activity_trigger(input_name="payload")
def purge_resource(payload: dict) -> dict:
    resource, now = payload["resource"], datetime.fromisoformat(payload["now"])
    try:  # protection is renewed under the backup identity (it sets policies), the rest under the purge's
        return use_cases.purge_resource(purge_services(), resource, now, protect_with=provider.get())
    except Exception as error:  # this resource waits for the next purge; the others go on
        return use_cases.failed_resource(payload["resource"], error_text(error))


@bp.activity_trigger(input_name="payload")
def purge_blobs(payload: dict) -> dict:
    now = datetime.fromisoformat(payload["now"])
    return use_cases.sweep_blobs(purge_services(), now, after=payload.get("after", ""))


@bp.activity_trigger(input_name="payload")
def purge_erasures(payload: dict) -> dict:
    return use_cases.finish_erasures(purge_services(), datetime.fromisoformat(payload["now"]))


@bp.activity_trigger(input_name="payload")
def purge_finish(payload: dict) -> dict[str, Any]:
    services = purge_services()
    summary = use_cases.finish(services, payload["summary"])
    forget_lists(services.runs.purge_lists, summary["purge_id"])  # the stored list is done with
    return {"purge_id": summary["purge_id"], "status": summary["status"]}
