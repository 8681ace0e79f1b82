"""The protection report (core/report.py) over HTTP: every resource by name with its state, last good point against
the RPO, items, bytes and quarantined items. JSON by default; CSV with `Accept: text/csv` or `?format=csv`.
Restore.Operator or Backup.Admin: it names every resource of the tenant."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api import access
from api.audit_trail import guard
from api.context import Caller, Svc
from api.schemas import PROBLEM_RESPONSES
from core.report import protection_report, report_csv

router = APIRouter(responses=PROBLEM_RESPONSES)
CSV = "text/csv"


@router.get(
    "/report",
    summary="The protection report: every resource, its state, last good backup against the RPO (Restore.Operator)",
    responses={200: {"content": {"application/json": {}, CSV: {}}, "description": "the report, JSON or CSV"}},
)
def report(
    request: Request,
    who: Caller,
    svc: Svc,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv: the resources as CSV")] = None,
) -> Response:
    """States: failing, past_rpo, never_backed_up, partial, skipped, excluded, protected (problems first)."""
    guard(svc, request, who, "report", "", lambda: access.check_operator(who))
    data: dict[str, Any] = protection_report(svc)
    wants_csv = format == "csv" or (format is None and CSV in request.headers.get("accept", ""))
    if wants_csv:
        headers = {"Content-Disposition": 'attachment; filename="protection-report.csv"', "Cache-Control": "no-store"}
        return Response(report_csv(data), media_type=f"{CSV}; charset=utf-8", headers=headers)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
