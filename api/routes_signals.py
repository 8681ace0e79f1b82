"""The ransomware signal's one write (Backup.Admin only): clear a restore point's false-positive suspicious flag,
with the reason, audited by the core use case (core/signals/clear_flag.py); a refused role is audited here (403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import Field, StrictStr

from api import access
from api.audit_trail import guard
from api.context import Caller, Svc
from api.params import ResourcePath
from api.schemas import PROBLEM_RESPONSES, Strict
from core.lifecycle.holds import Actor
from core.signals.clear_flag import clear_suspicious

router = APIRouter(responses=PROBLEM_RESPONSES)
RunPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]


class ClearBody(Strict):
    """What was checked: why the flag was a false positive."""

    reason: Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=r"\S")]


@router.post(
    "/resources/{resource}/points/{run_id}/clear-suspicious",
    summary="Mark a restore point flagged suspicious as clean (Backup.Admin)",
)
def post_clear_suspicious(
    resource: ResourcePath, run_id: RunPath, request: Request, who: Caller, svc: Svc,
    body: Annotated[ClearBody, Body()],
) -> dict[str, Any]:  # fmt: skip
    """The point keeps its reasons and records who cleared it, when and why; it counts as clean again (the last
    clean point, restores' default) and its shares join the resource's baseline. 404 for a point that does not
    exist, 400 for one that is not flagged."""
    guard(svc, request, who, "signal.clear", resource, lambda: access.check_admin(who))
    actor = Actor(id=who.oid, name=who.name, roles=tuple(sorted(who.roles)))
    return clear_suspicious(svc, resource, run_id, body.reason, actor)
