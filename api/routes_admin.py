"""Administration: start a backup (all or some resources) and read its status, the audit log, the dashboard."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from api import access
from api.audit_trail import failure_text, flush_denials, guard, record, record_start_failure
from api.auth import Principal
from api.context import ApiContext, Caller, Ctx
from api.dashboard_page import CONTENT_SECURITY_POLICY, render_dashboard
from api.orchestrations import BACKUP_INSTANCE
from api.params import Continuation
from api.problems import problem
from api.schemas import (
    CONFLICT_RESPONSE,
    PROBLEM_RESPONSES,
    START_FAILED_RESPONSE,
    TOO_LARGE_RESPONSE,
    Accepted,
    BackupBody,
)
from core.dashboard import dashboard_data
from core.errors import AlreadyRunningError, NotFoundError
from core.resource_names import resource_key

log = logging.getLogger(__name__)

router = APIRouter(responses=PROBLEM_RESPONSES)


def _admin(ctx: ApiContext, request: Request, who: Principal, action: str) -> None:
    guard(ctx.services(), request, who, action, "", lambda: access.check_admin(who))


@router.post(
    "/backups",
    status_code=202,
    response_model=Accepted,
    summary="Back up now: every resource, or some",
    responses={**CONFLICT_RESPONSE, **TOO_LARGE_RESPONSE, **START_FAILED_RESPONSE},
)
async def start_backup(
    request: Request,
    ctx: Ctx,
    who: Caller,
    body: Annotated[BackupBody | None, Body()] = None,
) -> JSONResponse:
    await run_in_threadpool(_admin, ctx, request, who, "backup")
    resources = body.resources if body is not None else None
    if resources:  # UPNs, mail addresses, site URLs: their keys, or a 404 before anything starts
        named = resources
        resources = await run_in_threadpool(lambda: [resource_key(ctx.services(), r) for r in named])
    scope = {"resources": resources[:50], "count": len(resources)} if resources else {"whole": True}
    try:
        await ctx.orchestrations.start_backup(list(dict.fromkeys(resources)) if resources else None)
    except AlreadyRunningError:
        raise
    except Exception as error:
        log.exception("a backup run could not be started")
        reason = failure_text(error)
        await run_in_threadpool(record_start_failure, ctx.services(), who, "backup", f"could not start: {reason}")
        detail = f"the backup run could not be started ({reason})"
        return problem(503, detail, "start-failed", instance=request.url.path)
    await run_in_threadpool(record, ctx.services(), who, "backup", "accepted", 202, scope=scope)
    url = request.url.path + "/current"
    return JSONResponse({"id": BACKUP_INSTANCE, "status": "accepted", "status_url": url}, 202, {"Location": url})


@router.get("/backups/current", summary="The current (or last) backup run's orchestration status")
async def backup_status(request: Request, ctx: Ctx, who: Caller) -> dict[str, Any]:
    await run_in_threadpool(
        guard, ctx.services(), request, who, "backup.status", "", lambda: access.check_operator(who)
    )
    status = await ctx.orchestrations.backup_status()
    if status is None:
        raise NotFoundError("no backup run has been started yet")
    return status


@router.get("/audit", summary="The audit log, newest first (Backup.Admin)")
def audit(
    request: Request,
    ctx: Ctx,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    continuation: Continuation = None,
) -> dict[str, Any]:
    _admin(ctx, request, who, "audit.read")
    flush_denials(ctx.services(), ctx.denials, everything=True)  # the counts of repeated denials so far, too
    entries, more = ctx.services().audit.list(limit, before=continuation)
    return {"items": entries, "continuation": more}


@router.get("/verifications", summary="The latest content verifications, newest first (Backup.Admin)")
def verifications(
    request: Request, ctx: Ctx, who: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    """Each verification read stored content back against its hashes (on VERIFY_SCHEDULE, or `python -m core
    verify`): its counts, and the first problems, each naming the resource, item and version that needs the blob."""
    _admin(ctx, request, who, "verifications.read")
    return {"items": ctx.services().runs.verifications.latest(limit)}


@router.get("/purges", summary="The latest purges, newest first (Backup.Admin)")
def purges(request: Request, ctx: Ctx, who: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """Each purge applied retention (on PURGE_SCHEDULE, or `python -m core purge`): the points, versions and blobs
    it removed, what it marked, what stays immutable for now, and the held resources it skipped."""
    _admin(ctx, request, who, "purges.read")
    return {"items": ctx.services().runs.purges.latest(limit)}


@router.get("/dashboard/data", summary="The dashboard's figures as JSON (Backup.Admin)")
def dashboard_json(request: Request, ctx: Ctx, who: Caller) -> dict:
    _admin(ctx, request, who, "dashboard")
    return dashboard_data(ctx.services())


@router.get(
    "/dashboard",
    summary="The dashboard: runs, resources, storage and dedup, recent restores (Backup.Admin)",
    response_class=HTMLResponse,
)
def dashboard(request: Request, ctx: Ctx, who: Caller) -> HTMLResponse:
    _admin(ctx, request, who, "dashboard")
    page = render_dashboard(dashboard_data(ctx.services()))
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(page, headers=headers)
