"""Legal holds and erasures (Backup.Admin only): list, place and release holds; plan an erasure of one person's data,
carry it out with the plan's confirmation code, list the erasures recorded. Each change is audited by the core use
case it calls (core/lifecycle/holds.py, core/lifecycle/erasure.py); a refused role is audited here (403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import Field, StrictStr

from api import access
from api.audit_trail import guard
from api.auth import Principal
from api.context import Caller, Svc
from api.params import ResourcePath
from api.schemas import PROBLEM_RESPONSES, Strict
from core.bootstrap import Services
from core.lifecycle.erasure import erase, list_erasures, show_plan
from core.lifecycle.erasure_plan import USER_PATTERN
from core.lifecycle.holds import Actor, list_holds, place_hold, release_hold

router = APIRouter(responses=PROBLEM_RESPONSES)
HOLD_CONFLICT = {
    409: {**PROBLEM_RESPONSES[400], "description": "a resource of theirs is on legal hold, or a backup runs"}
}


class HoldBody(Strict):
    """Why the resource is held (the matter or case)."""

    reason: Annotated[StrictStr, Field(min_length=1, max_length=1000, pattern=r"\S")]


def _admin(svc: Services, request: Request, who: Principal, action: str, resource: str = "") -> Actor:
    guard(svc, request, who, action, resource, lambda: access.check_admin(who))
    return Actor(id=who.oid, name=who.name, roles=tuple(sorted(who.roles)))


@router.get("/holds", summary="Every legal hold: resource, who placed it, when, why (Backup.Admin)")
def holds(request: Request, who: Caller, svc: Svc) -> dict[str, Any]:
    _admin(svc, request, who, "holds.read")
    return {"items": list_holds(svc)}


@router.put("/resources/{resource}/hold", summary="Place a legal hold: neither purge nor erasure removes the resource")
def put_hold(
    resource: ResourcePath, request: Request, who: Caller, svc: Svc, body: Annotated[HoldBody, Body()]
) -> dict[str, Any]:
    """Placing it again replaces who, when and why. 404 for a resource that has no backup."""
    actor = _admin(svc, request, who, "hold.place", resource)
    return place_hold(svc, resource, body.reason, actor)


@router.delete("/resources/{resource}/hold", summary="Release a legal hold (Backup.Admin)")
def delete_hold(resource: ResourcePath, request: Request, who: Caller, svc: Svc) -> dict[str, Any]:
    """Returns the hold that was cleared; 404 when the resource is not on hold."""
    actor = _admin(svc, request, who, "hold.release", resource)
    return release_hold(svc, resource, actor)


class ErasureBody(Strict):
    """Without `confirm`: the plan of erasing the person's data and its confirmation code (nothing changes). With
    the code the plan showed: the erasure, if the plan still hashes to it."""

    user: Annotated[StrictStr, Field(pattern=USER_PATTERN, description="a user object id, or a UPN (resolved)")]
    confirm: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")] | None = Field(
        None, description="the plan's confirmation code: erase now"
    )


@router.post(
    "/erasures",
    summary="Erase one person's data: the plan and its code, then (with confirm) the erasure (Backup.Admin)",
    responses=HOLD_CONFLICT,
)
def post_erasure(request: Request, who: Caller, svc: Svc, body: Annotated[ErasureBody, Body()]) -> dict[str, Any]:
    """The plan lists every resource of theirs with its points, versions and bytes, the blobs only they reference
    (and how many are still immutable), the journal blobs holding their rows, holds, and what is NOT erased. With
    `confirm`: 400 when the code does not match the plan as it is now, 409 when a resource of theirs is on legal
    hold; else the report (status 'completed', or 'pending' while immutable blobs wait)."""
    actor = _admin(svc, request, who, "erasure", f"user:{body.user}")
    if body.confirm is None:
        return show_plan(svc, body.user, actor)
    return erase(svc, body.user, body.confirm, actor)


@router.get("/erasures", summary="The recorded erasures, newest first (Backup.Admin)")
def erasures(
    request: Request, who: Caller, svc: Svc, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    _admin(svc, request, who, "erasures.read")
    return {"items": list_erasures(svc, limit)}
