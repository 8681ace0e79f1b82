"""Read-only routes: who am I, the backed-up resources, their restore points, browsing a tree as of a point, searching
items, and the backup runs. Self-service users see only their own mailbox and OneDrive."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime

from api import access
from api.audit_trail import guard
from api.auth import Principal
from api.context import Caller, Svc
from api.params import AtPoint, Continuation, PageSize, ResourcePath
from api.schemas import PROBLEM_RESPONSES, RUN_PATTERN, CategoryName, WorkloadName
from core.bootstrap import Services
from core.browse import ItemQuery, list_tree, search_page
from core.errors import InvalidRequestError, NotFoundError
from core.lifecycle.holds import held_map
from core.models import ResourceKey
from core.quarantine_view import points_with_quarantine, quarantine_listing
from core.resource_names import directory_of, named
from core.signals.clean_point import last_clean_point
from core.storage.runs import USABLE

router = APIRouter(responses=PROBLEM_RESPONSES)
Category = Annotated[CategoryName | None, Query(description="what kind of item")]


def _readable(svc: Services, request: Request, who: Principal, resource: str, action: str) -> None:
    guard(svc, request, who, action, resource, lambda: access.check_read(who, resource))


@router.get("/me", summary="The caller: identity, roles, and the resources it may browse and restore")
def me(who: Caller, svc: Svc) -> dict[str, Any]:
    mine = access.visible(who, svc.runs.resources())
    names = directory_of(svc)
    return {**who.to_dict(), "resources": mine, "names": {r: named(names.get(r), r)["name"] for r in mine}}


@router.get("/resources", summary="Backed-up resources the caller may see, with their latest restore point")
def resources(
    request: Request,
    who: Caller,
    svc: Svc,
    workload: Annotated[WorkloadName | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    by_resource = svc.runs.points_by_resource()  # one scan, not one query per resource
    names = directory_of(svc)  # every name: one query
    held = held_map(svc) if who.is_admin else {}  # one query; a hold's matter is the compliance team's business
    keys = [k for k in access.visible(who, by_resource) if workload is None or k.startswith(f"{workload}:")]
    rows = []
    for key in keys[:limit]:
        found = by_resource[key]
        good = [p for p in found if p["status"] in USABLE]
        rows.append(
            {
                "resource": key,
                **named(names.get(key), key),  # Adele Vance <adele@contoso.com>; the key when none is known
                "workload": ResourceKey.parse(key).workload,
                "kind": next((p["kind"] for p in reversed(found) if p.get("kind")), ""),  # e.g. a 'shared' mailbox
                "points": len(found),
                "last_status": found[-1]["status"],
                "last_run_id": found[-1]["run_id"],
                "last_good_run_id": good[-1]["run_id"] if good else "",
                "last_good_at": good[-1]["finished_at"] if good else "",
                "last_suspicious": bool(good and good[-1]["suspicious"]),  # the ransomware signal (core/signals/)
                "last_clean_point": last_clean_point(found) or "",
            }
        )
        if who.is_admin:
            rows[-1]["hold"] = held.get(key)  # who placed it, when, why; None when not held
    return {"items": rows, "truncated": len(keys) > limit}


@router.get("/resources/{resource}/points", summary="A resource's restore points, oldest first")
def points(resource: ResourcePath, request: Request, who: Caller, svc: Svc) -> dict[str, Any]:
    _readable(svc, request, who, resource, "points")
    found = points_with_quarantine(svc, resource, count_only=True)  # quarantined: how many items it lacks
    if not found:
        raise NotFoundError(f"no backup of {resource!r}")
    items = [{k: v for k, v in p.items() if k != "failures"} for p in found]
    entry = svc.directory.get(resource) if svc.directory is not None else None
    return {"resource": resource, **named(entry, resource), "last_clean_point": last_clean_point(found), "items": items}


@router.get(
    "/resources/{resource}/quarantine",
    summary="Items held in quarantine: content a backup could not capture yet, retried by id on every run",
)
def quarantine(
    resource: ResourcePath,
    request: Request,
    at_point: AtPoint,
    who: Caller,
    svc: Svc,
    history: Annotated[bool, Query(description="every item ever held, released ones with their release run")] = False,
) -> dict[str, Any]:
    """The items held now; as of a point (`run_id` or `at`: what that restore point lacks); or, with `history`,
    every item ever held. Each: category, item_id, container_id, error, first_run, last_run, attempts,
    released_run and released_as ('captured' or 'deleted', '' while held)."""
    _readable(svc, request, who, resource, "quarantine")
    if history and (at_point.run_id or at_point.at):
        raise InvalidRequestError("give history or a point (run_id, at), not both")
    if not svc.runs.points(resource):
        raise NotFoundError(f"no backup of {resource!r}")
    run_id = None
    if at_point.run_id or at_point.at:
        run_id = svc.runs.resolve_point(resource, at_point.run_id, at_point.at)
    return quarantine_listing(svc, resource, run_id, history)


@router.get("/resources/{resource}/tree", summary="The folders and items directly under a folder, as of a point")
def tree(
    resource: ResourcePath,
    request: Request,
    at_point: AtPoint,
    who: Caller,
    svc: Svc,
    path: Annotated[str, Query(max_length=1024, description="folder path ('' = top)")] = "",
    category: Category = None,
    page_size: PageSize = 1000,
    continuation: Continuation = None,
) -> dict[str, Any]:
    """Every direct subfolder; the items directly in the folder a page at a time (continuation: the next page)."""
    _readable(svc, request, who, resource, "browse")
    listing = list_tree(svc, resource, run_id=at_point.run_id, at=at_point.at, path=path, category=category,
                        page_size=page_size, continuation=continuation)  # fmt: skip
    return listing.to_dict()


@router.get("/resources/{resource}/items", summary="Search a resource's items as of a point, page by page")
def search(
    resource: ResourcePath,
    request: Request,
    at_point: AtPoint,
    who: Caller,
    svc: Svc,
    category: Category = None,
    subject: Annotated[str | None, Query(max_length=256, description="subject (mail, events) or name contains")] = None,
    sender: Annotated[str | None, Query(max_length=256, description="sender address contains (mail)")] = None,
    recipient: Annotated[str | None, Query(max_length=256, description="a recipient address contains (mail)")] = None,
    has_attachments: Annotated[bool | None, Query(description="mail with / without attachments")] = None,
    folder: Annotated[str | None, Query(max_length=1024, description="in this folder path and below")] = None,
    name: Annotated[str | None, Query(max_length=256, description="file name contains (files)")] = None,
    after: Annotated[AwareDatetime | None, Query(description="received (mail) or modified (files) at or after")] = None,
    before: Annotated[AwareDatetime | None, Query(description="received (mail) or modified (files) before")] = None,
    page_size: PageSize = 100,
    continuation: Continuation = None,
) -> dict[str, Any]:
    _readable(svc, request, who, resource, "search")
    query = ItemQuery(
        resource=resource,
        run_id=at_point.run_id,
        at=at_point.at,
        folder=folder,
        subject=subject,
        sender=sender,
        recipient=recipient,
        has_attachments=has_attachments,
        name=name,
        category=category,
        after=after,
        before=before,
    )
    page = search_page(svc, query, page_size, continuation)
    return {"run_id": page.run_id, "items": page.items, "continuation": page.continuation}


@router.get("/runs", summary="Backup runs, newest first")
def runs(
    request: Request,
    who: Caller,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    guard(svc, request, who, "runs", "", lambda: access.check_operator(who))
    return {"items": svc.runs.list(limit)}


@router.get("/runs/{run_id}", summary="One backup run: status and counts")
def run(
    run_id: Annotated[str, Path(pattern=RUN_PATTERN)],
    request: Request,
    who: Caller,
    svc: Svc,
) -> dict[str, Any]:
    guard(svc, request, who, "runs", "", lambda: access.check_operator(who))
    return svc.runs.get(run_id)
