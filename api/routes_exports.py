"""Downloads and exports, streamed: one item's content (a file, a message as .eml, a contact as .vcf, an event as
.ics) and a zip of a folder or a whole resource. Unknown items and folders are 404s before the first byte."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api import access
from api.audit_trail import guard, record
from api.context import Caller, Svc
from api.params import AtPoint, Point, ResourcePath
from api.schemas import PROBLEM_RESPONSES, CategoryName
from api.streaming import writer_chunks
from core.exports.downloads import OCTET_STREAM, open_download, open_zip
from core.workloads import registry

router = APIRouter(responses=PROBLEM_RESPONSES)
# each category's media type, or a file in the type its name implies
_TYPES = {c.media_type for w in registry.WORKLOADS.values() for c in w.categories if c.media_type}
DOWNLOAD_TYPES = {t: {} for t in (*sorted(_TYPES), OCTET_STREAM, "*/*")}
Category = Annotated[CategoryName | None, Query(description="what kind of item")]


def _attachment(filename: str) -> str:
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _point_text(at_point: Point) -> str:
    return at_point.run_id or (at_point.at.isoformat() if at_point.at else "latest")


@router.get(
    "/resources/{resource}/download",
    summary="Download one item as of a point: a file's bytes, .eml, .vcf or .ics",
    response_class=StreamingResponse,
    responses={200: {"content": DOWNLOAD_TYPES, "description": "the item's content in its own media type"}},
)
def download(
    resource: ResourcePath,
    request: Request,
    item_id: Annotated[str, Query(min_length=1, max_length=512)],
    at_point: AtPoint,
    who: Caller,
    svc: Svc,
    category: Category = None,
) -> StreamingResponse:
    guard(svc, request, who, "download", resource, lambda: access.check_read(who, resource))
    item = open_download(svc, resource, item_id, run_id=at_point.run_id, at=at_point.at, category=category)
    record(svc, who, "download", "accepted", 200, resource=resource, scope={"item_ids": [item_id]},
           point=_point_text(at_point), counts={"bytes": item.size or 0}, detail=item.filename)  # fmt: skip
    headers = {"Content-Disposition": _attachment(item.filename), "X-Content-SHA256": item.sha256}
    if item.size is not None:
        headers["Content-Length"] = str(item.size)
    return StreamingResponse(item.chunks, media_type=item.media_type, headers=headers)


@router.get(
    "/resources/{resource}/export",
    summary="Export a folder (and below) or a whole resource as of a point, as a zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "a zip, streamed"}},
)
def export(
    resource: ResourcePath,
    request: Request,
    at_point: AtPoint,
    who: Caller,
    svc: Svc,
    folder: Annotated[str | None, Query(max_length=1024, description="this folder and below (default: all)")] = None,
    category: Category = None,
) -> StreamingResponse:
    guard(svc, request, who, "export", resource, lambda: access.check_read(who, resource))
    archive = open_zip(svc, resource, folder=folder, run_id=at_point.run_id, at=at_point.at, category=category)
    scope: dict[str, Any] = {"folder": folder} if folder is not None else {"whole": True}
    if category:
        scope["category"] = category
    record(svc, who, "export", "accepted", 200, resource=resource, scope=scope, point=_point_text(at_point),
           detail=archive.filename)  # fmt: skip
    headers = {"Content-Disposition": _attachment(archive.filename)}
    return StreamingResponse(writer_chunks(archive.write_to), media_type="application/zip", headers=headers)
