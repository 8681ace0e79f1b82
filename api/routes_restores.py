"""Restores: start one (validated completely before anything is written: 202 with a status URL, or a 4xx and nothing
recorded or started; what it selects is kept with the job, so the job selects nothing again), list them, and read
one's status with progress counts and per-item failures."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.audit_trail import failure_text, guard, record, record_start_failure
from api.auth import Principal
from api.context import ApiContext, Caller, Ctx
from api.problems import problem
from api.schemas import PROBLEM_RESPONSES, START_FAILED_RESPONSE, TOO_LARGE_RESPONSE, Accepted, RestoreBody
from core.bootstrap import Services
from core.errors import PermissionDeniedError
from core.resource_names import resource_key
from core.restore_plan import validate_restore
from core.restore_request import RestoreRequest
from core.signals.clean_point import clean_default_note
from core.storage.restore_jobs import new_job_id
from core.workloads.base import Pick

log = logging.getLogger(__name__)
router = APIRouter(responses=PROBLEM_RESPONSES)
JOB_PATTERN = r"^r[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$"


def _scope(request: RestoreRequest) -> dict[str, Any]:
    scope: dict[str, Any] = {"category": request.category}
    if request.item_ids:
        scope["item_ids"] = list(request.item_ids[:50])
        scope["items"] = len(request.item_ids)
    elif request.folder is not None:
        scope["folder"] = request.folder
    else:
        scope["whole"] = True
    if request.notify_attendees:
        scope["notify_attendees"] = True  # the restore will send meeting invitations: on the audit record
    return scope


def _destination(request: RestoreRequest) -> str:
    where = request.destination if request.destination != "new-folder" else f"new-folder {request.new_folder_name()}"
    if request.target_owner:
        where += f" in {request.key.workload}:{request.target_owner}"
    return where


def _prepare(ctx: ApiContext, request: Request, body: RestoreBody, who: Principal) -> tuple[Services, str, str]:
    """Check everything, then record the job: (services, job id, run id). Raises before any write."""
    svc = ctx.services()
    wanted = resolved_body(svc, body).to_core()  # UPNs, mail addresses and site URLs as their keys
    guard(svc, request, who, "restore", wanted.resource, lambda: access.check_restore(who, wanted))
    if wanted.destination == "new-folder" and wanted.destination_name is None:
        wanted = replace(wanted, destination_name=wanted.new_folder_name())
    validated = validate_restore(svc, wanted)  # the target included: it exists, and a user has a mailbox
    request.state.point_note = clean_default_note(svc, wanted, validated.run_id)  # the last clean point used
    job_id = new_job_id()
    # the one selection of this restore, kept with the job (before the job row, which makes it visible): the job's
    # planning splits it into parts and its parts read their items by id, so nothing selects again
    selected = validated.selection.items if validated.selection is not None else []
    svc.restore_jobs.save_selection(job_id, validated.run_id, validated.items, [Pick.of(s) for s in selected])
    svc.restore_jobs.create(job_id, wanted, who.to_dict())
    record(svc, who, "restore", "accepted", 202, resource=wanted.resource, scope=_scope(wanted),
           point=validated.run_id, destination=_destination(wanted), detail=job_id,
           counts={"items": validated.items, "parts": validated.parts})  # fmt: skip
    return svc, job_id, validated.run_id


def resolved_body(svc: Services, body: RestoreBody) -> RestoreBody:
    """The body with its resource and target named by their keys (core/resource_names.py): a 404 for a name that
    nobody has."""
    target = body.target_resource
    return body.model_copy(update={"resource": resource_key(svc, body.resource),
                                   "target_resource": resource_key(svc, target) if target else None})  # fmt: skip


def _check_job(who: Principal, job: dict[str, Any]) -> None:
    if not who.is_operator and job["requester"]["oid"].lower() != who.oid.lower():
        raise PermissionDeniedError("you may only read the status of restores you started")


@router.post(
    "/restores",
    status_code=202,
    response_model=Accepted,
    responses={**TOO_LARGE_RESPONSE, **START_FAILED_RESPONSE},
    summary="Start a restore: items, a folder or a whole resource, as of a run or a time, to the original place, a "
    "new folder or another resource",
)
async def start_restore(body: RestoreBody, request: Request, ctx: Ctx, who: Caller) -> JSONResponse:
    svc, job_id, run_id = await run_in_threadpool(_prepare, ctx, request, body, who)
    try:
        await ctx.orchestrations.start_restore(job_id)
    except Exception as error:
        log.exception("restore job %s could not be started", job_id)
        reason = failure_text(error)
        await run_in_threadpool(svc.restore_jobs.finish, job_id, "failed", f"could not start: {reason}")
        await run_in_threadpool(record_start_failure, svc, who, "restore", f"{job_id}: could not start: {reason}")
        detail = f"restore job {job_id} was recorded but could not be started ({reason}); it is marked failed"
        return problem(503, detail, "start-failed", instance=request.url.path, job_id=job_id)
    url = f"{request.url.path}/{job_id}"
    note = getattr(request.state, "point_note", "")  # the last clean point used instead of a suspicious one
    return JSONResponse(
        {"id": job_id, "status": "accepted", "status_url": url, "run_id": run_id, "point_note": note},
        status_code=202,
        headers={"Location": url},
    )


@router.get("/restores", summary="Restore jobs, newest first (self-service users: their own)")
def list_restores(
    ctx: Ctx,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    svc = ctx.services()
    return {"items": svc.restore_jobs.list(limit, requester=None if who.is_operator else who.oid)}


@router.get("/restores/{job_id}", summary="A restore's status: progress counts, per-item failures, what came back")
def restore_status(
    job_id: Annotated[str, Path(pattern=JOB_PATTERN)],
    request: Request,
    ctx: Ctx,
    who: Caller,
) -> dict[str, Any]:
    svc = ctx.services()
    job = svc.restore_jobs.get(job_id)
    guard(svc, request, who, "restore.status", job["resource"], lambda: _check_job(who, job))
    return job
