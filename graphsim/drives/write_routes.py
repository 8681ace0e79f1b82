"""File writes and transfers: simple PUT uploads, folder create, PATCH (rename/move/fileSystemInfo), DELETE,
createUploadSession with its upload URL (/_up/{token}), and the pre-authenticated download URL (/_dl/{token})."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.drives.addressing import charge, item_body, item_not_found, resolve
from graphsim.drives.content import Content, ContentWriter
from graphsim.drives.download import download_url
from graphsim.drives.service import FRAGMENT_UNIT, MAX_FRAGMENT, SIMPLE_UPLOAD_LIMIT, DriveService, UploadSession
from graphsim.drives.store import Drive, Item
from graphsim.errors import GraphError, graph_error, json_object
from graphsim.ids import iso
from graphsim.simulator import Context, Simulator

INVALID_NAME = re.compile(r'["*:<>?/\\|]')
CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)


def write_kind(method: str, address: Any) -> str:
    if address.action == "createuploadsession":
        return "upload_session"
    if method == "PUT":
        return "upload"
    return {"POST": "drive_create", "PATCH": "drive_update", "DELETE": "drive_delete"}.get(method, "drive_update")


def _svc(ctx: Context) -> DriveService:
    return ctx.sim.files  # type: ignore[attr-defined]


def check_name(name: str) -> str:
    if not name or name.strip() in (".", "..") or INVALID_NAME.search(name) or name != name.rstrip(" ."):
        raise GraphError(400, "invalidRequest", f"The provided name '{name}' is not valid.")
    return name


def _exists() -> GraphError:
    return GraphError(409, "nameAlreadyExists", "The specified item name already exists.")


def place(drive: Drive, parent: Item, name: str, conflict: str) -> tuple[Item | None, str]:
    """(existing item to replace or None, final name) under the conflict behaviour fail | replace | rename."""
    existing = drive.child_named(parent, name)
    if existing is None:
        return None, name
    if conflict == "fail":
        raise _exists()
    if conflict == "replace":
        return existing, name
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    n = 1
    while drive.child_named(parent, f"{stem} {n}{ext}") is not None:
        n += 1
    return None, f"{stem} {n}{ext}"


def _conflict(value: Any, default: str) -> str:
    value = str(value or default).lower()
    if value not in ("fail", "replace", "rename"):
        raise GraphError(400, "invalidRequest", f"Invalid value '{value}' for @microsoft.graph.conflictBehavior.")
    return value


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        raise GraphError(400, "invalidRequest", f"Invalid date value '{value}'.") from None


async def _body(request: Request) -> dict[str, Any]:
    return await json_object(request, "invalidRequest")


def _target(drive: Drive, address: Any, create_parents: bool) -> tuple[Item, str | None, Item | None]:
    """(parent folder, new file name or None, existing item or None) for a write addressed by id or path."""
    base = drive.root if address.base == "root" else drive.get(address.base or "")
    if base is None:
        raise item_not_found()
    if not address.path:
        return (drive.items[base.parent_id] if base.parent_id else base), None, base
    names = address.path.split("/")
    parent = base
    for name in names[:-1]:
        child = drive.child_named(parent, name)
        if child is None:
            if not create_parents:
                raise item_not_found()
            child = drive.add(parent, check_name(name), True)
        parent = child
    return parent, check_name(names[-1]), drive.child_named(parent, names[-1])


def commit_content(
    drive: Drive, parent: Item, name: str, existing: Item | None, conflict: str, content: Content, ctx: Context
) -> tuple[Item, int]:
    by = _svc(ctx).identity(None)
    if existing is not None and existing.folder:
        raise _exists()
    if existing is not None and conflict == "replace":
        drive.set_content(existing, content, by=by)
        return existing, 200
    replace, final = place(drive, parent, name, conflict)
    if replace is not None:
        drive.set_content(replace, content, by=by)
        return replace, 200
    return drive.add(parent, final, False, content, by=by), 201


async def write(request: Request, ctx: Context, drive: Drive, address: Any, method: str) -> Response:
    svc = _svc(ctx)
    charge(ctx, 2)
    if address.action == "createuploadsession" and method == "POST":
        return await create_session(request, ctx, drive, address)
    if method == "PUT" and address.action == "content":
        if int(request.headers.get("content-length") or 0) > SIMPLE_UPLOAD_LIMIT:
            raise GraphError(413, "invalidRequest", "Simple upload is limited to 4 MB; use an upload session.")
        data = await request.body()
        if len(data) > SIMPLE_UPLOAD_LIMIT:
            raise GraphError(413, "invalidRequest", "Simple upload is limited to 4 MB; use an upload session.")
        parent, name, existing = _target(drive, address, create_parents=True)
        writer = ContentWriter(svc.spill_dir, len(data))
        writer.write(data)
        conflict = _conflict(request.query_params.get("@microsoft.graph.conflictBehavior"), "replace")
        if name is None:  # PUT /items/{id}/content: new content for that file
            assert existing is not None
            name, conflict = existing.name, "replace"
        item, status = commit_content(drive, parent, name, existing, conflict, writer.finish(), ctx)
        return JSONResponse(item_body(request, ctx, drive, item), status_code=status)
    if method == "POST" and address.action == "children":
        parent = resolve(drive, address)
        assert parent is not None
        body = await _body(request)
        name = check_name(str(body.get("name") or ""))
        if "folder" not in body:
            raise GraphError(400, "invalidRequest", "Only folders can be created here (give a 'folder' facet).")
        replace, final = place(drive, parent, name, _conflict(body.get("@microsoft.graph.conflictBehavior"), "fail"))
        if replace is not None:
            if replace.folder:  # replace keeps the existing folder
                return JSONResponse(item_body(request, ctx, drive, replace), status_code=200)
            drive.delete(replace)
        folder = drive.add(parent, final, True, by=svc.identity(None))
        return JSONResponse(item_body(request, ctx, drive, folder), status_code=201)
    item = resolve(drive, address)
    assert item is not None
    if method == "DELETE" and address.action is None:
        if item.parent_id is None:
            raise GraphError(403, "accessDenied", "The root of a drive cannot be deleted.")
        drive.delete(item)
        return Response(status_code=204)
    if method == "PATCH" and address.action is None:
        body = await _body(request)
        await_patch(drive, item, body)
        return JSONResponse(item_body(request, ctx, drive, item))
    raise GraphError(405, "invalidRequest", "The HTTP method is not allowed on this resource.")


def await_patch(drive: Drive, item: Item, body: dict[str, Any]) -> None:
    if item.parent_id is None and ("name" in body or "parentReference" in body):
        raise GraphError(403, "accessDenied", "The root of a drive cannot be renamed or moved.")
    name = check_name(str(body["name"])) if body.get("name") else item.name
    ref = body.get("parentReference") or {}
    parent = drive.items[item.parent_id] if item.parent_id else None
    if ref.get("id") and parent is not None and ref["id"] != parent.id:
        new_parent = drive.get(str(ref["id"]))
        if new_parent is None or not new_parent.folder:
            raise item_not_found()
        if item.id in {i.id for i in drive.walk(item)} & {new_parent.id, *_ancestors(drive, new_parent)}:
            raise GraphError(400, "invalidRequest", "An item cannot be moved into itself.")
        clash = drive.child_named(new_parent, name)
        if clash is not None:
            raise _exists()
        drive.move(item, new_parent, name)
    elif name != item.name and parent is not None:
        clash = drive.child_named(parent, name)
        if clash is not None and clash.id != item.id:
            raise _exists()
        drive.rename(item, name)
    fs = body.get("fileSystemInfo")
    if isinstance(fs, dict):
        drive.set_fs_info(item, _when(fs.get("createdDateTime")), _when(fs.get("lastModifiedDateTime")))


def _ancestors(drive: Drive, item: Item) -> list[str]:
    out = []
    while item.parent_id is not None:
        out.append(item.parent_id)
        item = drive.items[item.parent_id]
    return out


async def create_session(request: Request, ctx: Context, drive: Drive, address: Any) -> Response:
    svc = _svc(ctx)
    body = await _body(request)
    props = body.get("item") if isinstance(body.get("item"), dict) else {}
    conflict = _conflict(props.get("@microsoft.graph.conflictBehavior"), "fail")
    parent, name, existing = _target(drive, address, create_parents=True)
    target_id = None
    if name is None:  # on an existing item: new content for it
        assert existing is not None
        if existing.folder:
            raise GraphError(400, "invalidRequest", "Cannot upload content to a folder.")
        name, conflict, target_id = existing.name, "replace", existing.id
    elif existing is not None and conflict == "fail":
        raise _exists()
    fs = props.get("fileSystemInfo") if isinstance(props.get("fileSystemInfo"), dict) else {}
    session = svc.new_session(drive, parent.id, name, conflict, target_id, fs)
    return JSONResponse(
        {
            "@odata.context": f"{ctx.sim.base_url}/v1.0/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{ctx.sim.base_url}/_up/{session.token}",
            "expirationDateTime": _expiry(session),
            "nextExpectedRanges": ["0-"],
        }
    )


def _expiry(session: UploadSession) -> str:
    return iso(dt.datetime.fromtimestamp(session.expires, dt.UTC))


def _status(session: UploadSession) -> dict[str, Any]:
    ranges = [f"{session.received}-" if session.total is None else f"{session.received}-{session.total - 1}"]
    return {"expirationDateTime": _expiry(session), "nextExpectedRanges": ranges}


async def upload_url(request: Request) -> Response:
    """The upload URL: PUT a fragment, GET the status, DELETE to cancel. Authorization is neither needed nor used."""
    sim: Simulator = request.app.state.sim
    svc: DriveService = sim.files  # type: ignore[attr-defined]
    sim.count("upload_fragment")
    if "authorization" in request.headers:
        svc.stats.counters["upload_with_authorization"] += 1
    response = await _upload_url(request, sim, svc)
    sim.stats.by_status[response.status_code] += 1
    return response


async def _upload_url(request: Request, sim: Simulator, svc: DriveService) -> Response:
    session = svc.uploads.get(request.path_params["token"])
    if session is None or session.expires < time.time():
        return graph_error(request, 404, "itemNotFound", "The upload session was not found or has expired.")
    if request.method == "GET":
        return Response(_json(_status(session)), media_type="application/json")
    if request.method == "DELETE":
        if session.writer is not None:
            session.writer.discard()
        svc.uploads.pop(session.token, None)
        return Response(status_code=204)
    match = CONTENT_RANGE.match(request.headers.get("content-range", ""))
    if match is None:
        return graph_error(request, 400, "invalidRequest", "A valid Content-Range header is required.")
    start, end, total = (int(g) for g in match.groups())
    length = end - start + 1
    if session.total is not None and total != session.total:
        return graph_error(request, 400, "invalidRequest", "The file size differs from earlier fragments.")
    if end < start or end >= total:
        return graph_error(request, 416, "invalidRange", "The Content-Range is not valid.")
    if start != session.received:
        return graph_error(
            request,
            416,
            "invalidRange",
            f"The uploaded fragment overlaps or skips data; expected the fragment to start at {session.received}.",
        )
    if length > MAX_FRAGMENT:
        return graph_error(request, 413, "invalidRequest", "A fragment must be smaller than 60 MiB.")
    if end + 1 < total and length % FRAGMENT_UNIT and svc.config.strict_fragments:
        return graph_error(
            request,
            400,
            "invalidRequest",
            "Fragments other than the last must be a multiple of 320 KiB (327,680 bytes).",
        )
    data = await request.body()
    if len(data) != length:
        return graph_error(request, 400, "invalidRequest", "The body length does not match the Content-Range.")
    svc.stats.counters["upload_fragments"] += 1
    fault = sim.faults.take_drive_fault("fail_upload_fragment", session.name, session.target_id or "")
    if fault is not None:
        svc.stats.counters["upload_fragment_failed"] += 1
        code = "serviceNotAvailable" if fault.status == 503 else "generalException"
        return graph_error(request, fault.status, code, "An error occurred while writing the fragment.")
    if session.writer is None:
        session.total = total
        session.writer = ContentWriter(svc.spill_dir, total)
    session.writer.write(data)
    session.received += length
    if session.received < total:
        return Response(_json(_status(session)), status_code=202, media_type="application/json")
    return _finish(request, sim, svc, session)


def _finish(request: Request, sim: Simulator, svc: DriveService, session: UploadSession) -> Response:
    drive = svc.store.drives[session.drive_id]
    parent = drive.get(session.parent_id)
    existing = drive.get(session.target_id) if session.target_id else None
    if parent is None or (session.target_id and existing is None):
        return graph_error(request, 404, "itemNotFound", "The upload's destination no longer exists.")
    assert session.writer is not None
    content = session.writer.finish()
    ctx = Context(sim, None)
    try:
        existing = existing or drive.child_named(parent, session.name)
        item, status = commit_content(drive, parent, session.name, existing, session.conflict, content, ctx)
    except GraphError as exc:  # a name taken during the session: the session stays for a retry
        session.received, session.writer = 0, None
        return graph_error(request, exc.status, exc.code, exc.message)
    fs = session.fs_info
    if fs:
        drive.set_fs_info(item, _when(fs.get("createdDateTime")), _when(fs.get("lastModifiedDateTime")))
    svc.uploads.pop(session.token, None)
    return JSONResponse(item_body(request, ctx, drive, item), status_code=status)


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def transfer_routes() -> list[Route]:
    return [
        Route("/_dl/{token}", download_url, methods=["GET"]),
        Route("/_up/{token}", upload_url, methods=["GET", "PUT", "DELETE"]),
    ]
