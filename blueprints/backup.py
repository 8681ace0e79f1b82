"""The backup functions: timer and HTTP starters, the run orchestrator, the batch sub-orchestrator, the activities.

    backup_timer (timer, %BACKUP_SCHEDULE%) ─┐
    POST /api/v1/automation/backups (key) ───┴─> backup_orchestrator  (instance id "backup": one run at a time)
                                                   start_run -> discover_resources (or store_resources, when
                                                                resources were given): the list stored in
                                                                batches (core/storage/run_resources.py); back
                                                                come its id and counts, never the list
                                                   -> backup_batch x ceil(resources / batch size), in parallel,
                                                      through backup_fanout nodes when there are more than
                                                      BACKUP_FANOUT_WIDTH (core.planning.plan_fanout)
                                                        -> batch_resources (the batch's keys)
                                                        -> backup_resource x resources in the batch, in parallel
                                                        <- the batch's counts (each result is its restore point)
                                                   -> finish_run(summary): the run recorded, the list removed
    GET /api/v1/automation/backups/status ──> the "backup" instance's runtimeStatus, customStatus, output

Orchestrators only yield Durable tasks and call pure core.planning functions (they are replayed). Activities build
the services from blueprints.services.provider and call one core.backup use case each. Payloads are ids and counts:
no orchestration has more than BACKUP_FANOUT_WIDTH children or BACKUP_BATCH_SIZE resources, so every history stays
under a fixed bound however many resources the tenant has (tests/functions/test_history_bound.py).
Every starter (and the API's, blueprints/api.py) starts a run through `start_backup` (core.backup_start).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Generator
from http import HTTPStatus
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints.fan_in import error_text, settle
from blueprints.services import provider
from core import backup as use_cases
from core.backup_start import BACKUP_INSTANCE, BACKUP_ORCHESTRATOR, start_backup_unless_running
from core.planning import (
    RESOURCE_STATUSES,
    add_counts,
    count_results,
    failed_result,
    new_run_id,
    plan_fanout,
    resources_in,
    summarize,
    summary_of,
    with_discovery_errors,
)

log = logging.getLogger(__name__)

bp = df.Blueprint()

BATCH_ORCHESTRATOR = "backup_batch"
FANOUT_ORCHESTRATOR = "backup_fanout"
MAX_STATUS_ERRORS, MAX_STATUS_ERROR = 5, 300  # a batch's custom status names its first failed resources, briefly

# Retries for infrastructure failures of one resource's activity (backup_resource itself returns resource-level
# failures as status 'failed' instead of raising): 3 attempts, the first retry after 5 s.
RESOURCE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
# finish_run records the outcome: a transient storage failure there must not leave the run 'running' forever.
FINISH_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=5)

MAX_REQUESTED_RESOURCES = 1_000
RESOURCE_KEY = re.compile(r"^[a-z][a-z0-9]*:[^\s:][^\s]{0,255}$")


# ---------------------------------------------------------------------------------------------------- starters


class DurableBackupInstance:
    """The backup instance through the Durable client the host binds (a core.backup_start.BackupInstance)."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def runtime_status(self) -> str | None:
        status = await self._client.get_status(BACKUP_INSTANCE)
        return status.runtime_status.value if status and status.runtime_status else None

    async def start(self, run_input: dict[str, Any]) -> None:
        await self._client.start_new(BACKUP_ORCHESTRATOR, BACKUP_INSTANCE, run_input)


async def start_backup(client: df.DurableOrchestrationClient, trigger: str, resources: list[str] | None = None) -> bool:
    """Start a backup run unless one is pending or running (trigger 'schedule', 'http' or 'api'). True if started."""
    return await start_backup_unless_running(DurableBackupInstance(client), trigger, resources)


@bp.timer_trigger(arg_name="timer", schedule="%BACKUP_SCHEDULE%", run_on_startup=False, use_monitor=True)
@bp.retry(strategy="exponential_backoff", max_retry_count="3", minimum_interval="00:00:10", maximum_interval="00:02:00")
@bp.durable_client_input(client_name="client")
async def backup_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start a scheduled run unless one is still going (runs never overlap: one fixed instance id)."""
    if not await start_backup(client, "schedule"):
        log.warning("backup run %r is still pending or running: scheduled run skipped", BACKUP_INSTANCE)
        return
    log.info("scheduled backup run started (instance %r)", BACKUP_INSTANCE)


class RequestProblem(ValueError):
    """A start request that cannot be carried out as sent (HTTP 400)."""


def parse_start_request(body: bytes) -> list[str] | None:
    """The resources a `POST /v1/backups` body asks for: None (empty body, `{}`, or no `resources`) means every
    resource; otherwise a non-empty list of distinct resource keys in request order. Raises RequestProblem."""
    if not body or not body.strip():
        return None
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestProblem(f"the body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise RequestProblem("the body must be a JSON object")
    unknown = sorted(set(document) - {"resources"})
    if unknown:
        raise RequestProblem(f"unknown member(s): {', '.join(unknown)}; only 'resources' is accepted")
    resources = document.get("resources")
    if resources is None:
        return None
    if not isinstance(resources, list) or not resources:
        raise RequestProblem("'resources' must be a non-empty array of resource keys such as 'exchange:<user id>'")
    if len(resources) > MAX_REQUESTED_RESOURCES:
        raise RequestProblem(f"'resources' may name at most {MAX_REQUESTED_RESOURCES} resources")
    for index, key in enumerate(resources):
        if not isinstance(key, str) or not RESOURCE_KEY.match(key):
            raise RequestProblem(f"resources[{index}] is not a resource key such as 'exchange:<user id>'")
    return list(dict.fromkeys(resources))


def _problem(status: HTTPStatus, detail: str, **members: Any) -> func.HttpResponse:
    """An RFC 9457 problem details response (type about:blank: the title is the status phrase)."""
    body = {"type": "about:blank", "title": status.phrase, "status": int(status), "detail": detail, **members}
    return func.HttpResponse(
        json.dumps(body), status_code=int(status), headers={"Content-Type": "application/problem+json"}
    )


def _already_running(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    links = client.get_client_response_links(req, BACKUP_INSTANCE)
    response = _problem(
        HTTPStatus.CONFLICT,
        "a backup run is already pending or running; poll its status or wait for it to finish",
        instance=BACKUP_INSTANCE,
        links=links,
    )
    response.headers["Location"] = links["statusQueryGetUri"]
    return response


@bp.route(route="v1/automation/backups", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def backup_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """For automation, with a function key (people use the API's POST /api/v1/backups with a bearer token).
    Start a run now: every resource, or only `{"resources": [...]}`. 202 + status URLs, 409 if one is running."""
    try:
        resources = parse_start_request(req.get_body())
    except RequestProblem as problem:
        return _problem(HTTPStatus.BAD_REQUEST, str(problem))
    if not await start_backup(client, "http", resources):
        return _already_running(req, client)
    log.info("backup run started over HTTP (instance %r, %s)", BACKUP_INSTANCE, len(resources or ()) or "all resources")
    return client.create_check_status_response(req, BACKUP_INSTANCE)


@bp.route(route="v1/automation/backups/status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def backup_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The current (or last) run's status: runtimeStatus, customStatus (progress counts), output (summary)."""
    status = await client.get_status(BACKUP_INSTANCE)
    if not status:
        return _problem(HTTPStatus.NOT_FOUND, "no backup run has been started yet", instance=BACKUP_INSTANCE)
    body = {
        "instanceId": BACKUP_INSTANCE,
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
        "customStatus": status.custom_status,
        "output": status.output,
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


# ----------------------------------------------------------------------------------------------- orchestrators


def _progress(run_id: str, stage: str, **counts: Any) -> dict:
    return {"run_id": run_id, "stage": stage, **counts}


def _finish(context: df.DurableOrchestrationContext, run_id: str, summary: dict) -> Generator[Any, Any, None]:
    payload = {"run_id": run_id, "summary": summary}
    yield context.call_activity_with_retry("finish_run", FINISH_RETRY, payload, expected_type=dict)


@bp.orchestration_trigger(context_name="context", input_type=dict)
def backup_orchestrator(context: df.DurableOrchestrationContext):
    """One backup run. Input: {"trigger": "schedule" | "http" | "api", "resources": optional list of resource keys}."""
    run_input = context.get_input() or {}
    trigger = run_input.get("trigger", "schedule")
    requested = run_input.get("resources")
    run_id = new_run_id(context.current_utc_datetime)

    context.set_custom_status(_progress(run_id, "starting"))
    yield context.call_activity("start_run", {"run_id": run_id, "trigger": trigger}, expected_type=dict)
    try:  # the list is stored; what comes back (and reaches the history) is its reference and its counts
        if requested:
            payload = {"run_id": run_id, "resources": list(requested)}
            listed = yield context.call_activity("store_resources", payload, expected_type=dict)
        else:
            context.set_custom_status(_progress(run_id, "discovering"))
            listed = yield context.call_activity("discover_resources", {"run_id": run_id}, expected_type=dict)
    except Exception as error:  # nothing to fan out: record the run as failed rather than leave it running
        what = "the requested resources were not stored" if requested else "discovery failed"
        summary = {**summarize(run_id, []), "status": "failed", "error": f"{what}: {error_text(error)}"}
        yield from _finish(context, run_id, summary)
        context.set_custom_status(_progress(run_id, "completed", status="failed"))
        return summary

    run = {key: listed[key] for key in ("list", "resources", "batch_size", "fanout_width")}
    run.update(run_id=run_id, root=context.instance_id)
    batches = listed["batches"]
    context.set_custom_status(_progress(run_id, "backing_up", resources=listed["resources"], batches=batches))
    counts = yield from _fan_out(context, run, 0, batches)

    summary = with_discovery_errors(summary_of(run_id, counts), listed.get("discovery_errors") or {})
    counts = {key: summary.get(key, 0) for key in ("resources", *RESOURCE_STATUSES)}
    context.set_custom_status(_progress(run_id, "finishing", batches=batches, **counts))
    yield from _finish(context, run_id, summary)
    context.set_custom_status(_progress(run_id, "completed", batches=batches, status=summary["status"], **counts))
    if not context.is_replaying:
        log.info("backup run %s finished: %s", run_id, summary["status"])
    return summary


def _fan_out(context: df.DurableOrchestrationContext, run: dict, first: int, count: int) -> Generator[Any, Any, dict]:
    """Back up batches `first` .. `first + count - 1` of the run's stored list through at most `fanout_width`
    sub-orchestrations (core.planning.plan_fanout: a batch each, or a backup_fanout node over a range of them) and
    return their counts summed. A child that failed counts every resource of its batches as failed."""
    run_id, root = run["run_id"], run["root"]
    children = plan_fanout(first, count, run["fanout_width"])
    tasks = [
        context.call_sub_orchestrator(
            BATCH_ORCHESTRATOR,
            {"run_id": run_id, "list": run["list"], "batch": start},
            instance_id=f"{root}-{run_id}-{start:05d}",
            expected_type=dict,
        )
        if span == 1
        else context.call_sub_orchestrator(
            FANOUT_ORCHESTRATOR,
            {**run, "first": start, "count": span},
            instance_id=f"{root}-{run_id}-{start:05d}-{span}",
            expected_type=dict,
        )
        for start, span in children
    ]
    parts = []
    for (start, span), (ok, value) in zip(children, (yield from settle(context, tasks)), strict=True):
        lost = 0 if ok else resources_in(start, span, run["resources"], run["batch_size"])
        parts.append(value if ok else {"resources": lost, "failed": lost})
    return add_counts(parts)


@bp.orchestration_trigger(context_name="context", input_type=dict)
def backup_fanout(context: df.DurableOrchestrationContext):
    """A node of the backup fan-out tree over a range of batches. Input: the run's reference ({"run_id", "root",
    "list", "resources", "batch_size", "fanout_width"}) and {"first", "count"}. Returns the range's counts."""
    node = context.get_input()
    counts = yield from _fan_out(context, node, node["first"], node["count"])
    context.set_custom_status({"run_id": node["run_id"], "batches": node["count"], "resources": counts["resources"],
                               "failed": counts["failed"]})  # fmt: skip
    return counts


@bp.orchestration_trigger(context_name="context", input_type=dict)
def backup_batch(context: df.DurableOrchestrationContext):
    """Back up one batch of the run's stored list in parallel. Input: {"run_id", "list", "batch"}. Returns the
    batch's counts (core.planning.count_results); each resource's own result is its restore point, recorded by its
    activity. A resource whose activity failed after its retries is counted failed and never fails its siblings;
    only a batch whose keys cannot be read fails (and its parent counts its resources failed)."""
    batch = context.get_input()
    run_id = batch["run_id"]
    resources = yield context.call_activity_with_retry("batch_resources", RESOURCE_RETRY, batch, expected_type=list)
    tasks = [
        context.call_activity_with_retry(
            "backup_resource", RESOURCE_RETRY, {"run_id": run_id, "resource": key}, expected_type=dict
        )
        for key in resources
    ]
    results = [
        value if ok else failed_result(key, value)
        for key, (ok, value) in zip(resources, (yield from settle(context, tasks)), strict=True)
    ]
    counts = count_results(results)
    lost = [f"{r.get('resource')}: {r.get('error')}"[:MAX_STATUS_ERROR] for r in results if r.get("status") == "failed"]
    context.set_custom_status({"run_id": run_id, "batch": batch["batch"], "resources": counts["resources"],
                               "failed": counts["failed"], "errors": lost[:MAX_STATUS_ERRORS]})  # fmt: skip
    return counts


# -------------------------------------------------------------------------------------------------- activities


@bp.activity_trigger(input_name="payload")
def start_run(payload: dict) -> dict:
    services = provider.get()
    use_cases.start_run(services, payload["run_id"], payload["trigger"])
    return {"run_id": payload["run_id"], "batch_size": services.settings.batch_size}


@bp.activity_trigger(input_name="payload")
def discover_resources(payload: dict) -> dict:
    """Discover, store the list (core/storage/run_resources.py), return its reference and counts, never the list."""
    services = provider.get()
    errors: dict[str, str] = {}
    resources = use_cases.discover_resources(services, errors)
    listed = use_cases.store_resource_list(services, payload["run_id"], resources)
    return {"run_id": payload["run_id"], **listed, "discovery_errors": errors}


@bp.activity_trigger(input_name="payload")
def store_resources(payload: dict) -> dict:
    """A run of requested resources: the list stored like a discovered one; its reference and counts."""
    listed = use_cases.store_resource_list(provider.get(), payload["run_id"], list(payload["resources"]))
    return {"run_id": payload["run_id"], **listed}


@bp.activity_trigger(input_name="payload")
def batch_resources(payload: dict) -> list[str]:
    """The resource keys of one batch of the run's stored list (at most BACKUP_BATCH_SIZE)."""
    return use_cases.batch_resources(provider.get(), payload["run_id"], payload["list"], payload["batch"])


@bp.activity_trigger(input_name="payload")
def backup_resource(payload: dict) -> dict:
    # the core result is already small: resource, status, counts, and an error text of bounded length
    return use_cases.backup_resource(provider.get(), payload["run_id"], payload["resource"])


@bp.activity_trigger(input_name="payload")
def finish_run(payload: dict) -> dict:
    summary, services = payload["summary"], provider.get()
    use_cases.finish_run(services, payload["run_id"], summary)
    use_cases.forget_resource_lists(services, payload["run_id"])
    return {key: summary.get(key) for key in ("run_id", "status", "resources", *RESOURCE_STATUSES)}
