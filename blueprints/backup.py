"""The backup functions: timer and HTTP starters, the run orchestrator, the batch sub-orchestrator, the activities.

    backup_timer (timer, %BACKUP_SCHEDULE%) ─┐
    POST /api/v1/automation/backups (key) ───┴─> backup_orchestrator  (instance id "backup": one run at a time)
                                                   start_run -> discover_resources (unless resources were given)
                                                   -> backup_batch x ceil(resources / batch size), in parallel
                                                        -> backup_resource x resources in the batch, in parallel
                                                   -> finish_run(summary)
    GET /api/v1/automation/backups/status ──> the "backup" instance's runtimeStatus, customStatus, output

Orchestrators only yield Durable tasks and call pure core.planning functions (they are replayed). Activities build
the services from blueprints.services.provider and call one core.backup use case each. Payloads are ids and counts.
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
    failed_result,
    new_run_id,
    plan_batches,
    summarize,
    with_discovery_errors,
)

log = logging.getLogger(__name__)

bp = df.Blueprint()

BATCH_ORCHESTRATOR = "backup_batch"

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
    discovery_errors: dict[str, str] = {}
    run_id = new_run_id(context.current_utc_datetime)

    context.set_custom_status(_progress(run_id, "starting"))
    started = yield context.call_activity("start_run", {"run_id": run_id, "trigger": trigger}, expected_type=dict)
    if requested:
        resources, batch_size = list(requested), started["batch_size"]
    else:
        context.set_custom_status(_progress(run_id, "discovering"))
        try:
            discovered = yield context.call_activity("discover_resources", {"run_id": run_id}, expected_type=dict)
        except Exception as error:  # nothing to fan out: record the run as failed rather than leave it running
            summary = {**summarize(run_id, []), "status": "failed", "error": f"discovery failed: {error_text(error)}"}
            yield from _finish(context, run_id, summary)
            context.set_custom_status(_progress(run_id, "completed", status="failed"))
            return summary
        resources, batch_size = discovered["resources"], discovered["batch_size"]
        discovery_errors = discovered.get("discovery_errors") or {}

    batches = plan_batches(resources, batch_size)
    context.set_custom_status(_progress(run_id, "backing_up", resources=len(resources), batches=len(batches)))
    tasks = [
        context.call_sub_orchestrator(
            BATCH_ORCHESTRATOR,
            {"run_id": run_id, "resources": batch},
            instance_id=f"{context.instance_id}-{run_id}-{index:05d}",
            expected_type=list,
        )
        for index, batch in enumerate(batches)
    ]
    results: list[dict] = []
    for batch, (ok, value) in zip(batches, (yield from settle(context, tasks)), strict=True):
        # backup_batch never fails on its own; if its instance failed anyway, every resource in it failed.
        results.extend(value if ok else [failed_result(key, f"batch failed: {value}") for key in batch])

    summary = with_discovery_errors(summarize(run_id, results), discovery_errors)
    counts = {key: summary.get(key, 0) for key in ("resources", *RESOURCE_STATUSES)}
    context.set_custom_status(_progress(run_id, "finishing", batches=len(batches), **counts))
    yield from _finish(context, run_id, summary)
    context.set_custom_status(_progress(run_id, "completed", batches=len(batches), status=summary["status"], **counts))
    if not context.is_replaying:
        log.info("backup run %s finished: %s", run_id, summary["status"])
    return summary


@bp.orchestration_trigger(context_name="context", input_type=dict)
def backup_batch(context: df.DurableOrchestrationContext):
    """Back up one batch of resources in parallel. Input: {"run_id", "resources"}. Returns one result per resource;
    a resource whose activity failed after its retries gets a failed result and never fails its siblings."""
    batch = context.get_input()
    run_id, resources = batch["run_id"], batch["resources"]
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
    context.set_custom_status({"run_id": run_id, "resources": len(results), "failed": _count_failed(results)})
    return results


def _count_failed(results: list[dict]) -> int:
    return sum(1 for result in results if result.get("status") == "failed")


# -------------------------------------------------------------------------------------------------- activities


@bp.activity_trigger(input_name="payload")
def start_run(payload: dict) -> dict:
    services = provider.get()
    use_cases.start_run(services, payload["run_id"], payload["trigger"])
    return {"run_id": payload["run_id"], "batch_size": services.settings.batch_size}


@bp.activity_trigger(input_name="payload")
def discover_resources(payload: dict) -> dict:
    services = provider.get()
    errors: dict[str, str] = {}
    resources = use_cases.discover_resources(services, errors)
    return {"run_id": payload["run_id"], "resources": resources, "batch_size": services.settings.batch_size,
            "discovery_errors": errors}  # fmt: skip


@bp.activity_trigger(input_name="payload")
def backup_resource(payload: dict) -> dict:
    # the core result is already small: resource, status, counts, and an error text of bounded length
    return use_cases.backup_resource(provider.get(), payload["run_id"], payload["resource"])


@bp.activity_trigger(input_name="payload")
def finish_run(payload: dict) -> dict:
    summary = payload["summary"]
    use_cases.finish_run(provider.get(), payload["run_id"], summary)
    return {key: summary.get(key) for key in ("run_id", "status", "resources", *RESOURCE_STATUSES)}
