"""/_sim control API for drives (not Graph; no auth): change drive items, their sharing and their listing, add big
generated files, remove a library, expire drive delta tokens, drive knobs and statistics, and the drive part of
/_sim/state."""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from graphsim.control_api import control, control_body
from graphsim.drives.content import Content
from graphsim.drives.delta import ORDERS
from graphsim.drives.seed import add_bulk, grant_permission
from graphsim.drives.service import DriveService
from graphsim.drives.store import Drive, Identity, Item
from graphsim.errors import GraphError
from graphsim.simulator import Simulator


def _svc(request: Request) -> DriveService:
    return request.app.state.sim.files


def _drive(request: Request) -> Drive:
    drive = _svc(request).drive_of(request.path_params["drive"])
    if drive is None:
        raise GraphError(404, "NotFound", f"no drive {request.path_params['drive']!r}")
    return drive


def _item(drive: Drive, ref: str) -> Item:
    """An item by id, or by path ('/' is the root, '/A/b.txt')."""
    item = drive.get(ref)
    if item is None and (ref.startswith("/") or ref == ""):
        item = drive.root
        for name in [n for n in ref.split("/") if n]:
            child = drive.child_named(item, name)
            if child is None:
                raise GraphError(404, "NotFound", f"no item {ref!r}")
            item = child
    if item is None:
        raise GraphError(404, "NotFound", f"no item {ref!r}")
    return item


def item_summary(drive: Drive, item: Item) -> dict[str, Any]:
    content = item.content
    if content is not None and content.sha256 is None and content.size <= 64 << 20:
        content.ensure_hashes()
    return {
        "id": item.id,
        "name": item.name,
        "path": drive.path_of(item),
        "parent_id": item.parent_id,
        "folder": item.folder,
        "size": drive.size_of(item) if item.folder else (content.size if content else 0),
        "sha256": content.sha256 if content else None,
        "quickXorHash": content.quick_xor if content else None,
        "eTag": drive.etag(item),
        "version": item.version,
        "content_version": item.content_version,
    }


def drive_summary(drive: Drive, with_items: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": drive.id,
        "name": drive.name,
        "driveType": drive.drive_type,
        "webUrl": drive.web_url,
        "owner_kind": drive.owner_kind,
        "owner_id": drive.owner_id,
        "root_id": drive.root_id,
    }
    if with_items:
        out["items"] = [item_summary(drive, i) for i in drive.walk()]
    return out


def drives_state(sim: Simulator) -> dict[str, Any]:
    svc: DriveService = sim.files  # type: ignore[attr-defined]
    return {
        "drives": [drive_summary(d) for d in svc.store.drives.values()],
        "sites": [{**s.to_json(), "drive_ids": list(s.drive_ids)} for s in svc.store.sites.values()],
    }


def _new_content(svc: DriveService, drive: Drive, body: dict[str, Any], version: int) -> Content:
    if body.get("content_base64") is not None:
        data = base64.b64decode(body["content_base64"])
        content = Content(len(data), data=data)
    else:
        svc.added += 1
        size = int(body.get("size", 2048))
        content = Content(size, key=f"ctl:{svc.seed}:{drive.id}:{svc.added}:{version}")
    return content


@control
async def state(request: Request) -> Response:
    return JSONResponse(drives_state(request.app.state.sim))


@control
async def add_item(request: Request) -> Response:
    svc, drive = _svc(request), _drive(request)
    body = await control_body(request)
    parent = _item(drive, str(body.get("parent", "/")))
    name = str(body["name"])
    if drive.child_named(parent, name) is not None:
        raise GraphError(409, "nameAlreadyExists", f"{name!r} exists")
    if body.get("folder"):
        item = drive.add(parent, name, True)
    else:
        content = _new_content(svc, drive, body, 1)
        if content.size > 16 << 20:
            await asyncio.to_thread(content.ensure_hashes)
        item = drive.add(parent, name, False, content)
    return JSONResponse(item_summary(drive, item), status_code=201)


@control
async def bulk_add(request: Request) -> Response:
    """Many folders, zero-byte files and generated files in one request (see drives_seed.add_bulk)."""
    svc, drive = _svc(request), _drive(request)
    body = await control_body(request)
    parent = _item(drive, str(body.get("parent", "/")))
    if not parent.folder:
        raise GraphError(400, "BadRequest", "parent must be a folder")
    svc.added += 1
    counts = {k: int(body.get(k, 0)) for k in ("folders", "empty_files", "files")}
    try:
        out = add_bulk(drive, parent, f"{svc.seed}:{svc.added}", **counts,
                       file_size=int(body.get("file_size", 2048)), fanout=int(body.get("fanout", 8)))  # fmt: skip
    except FileExistsError as exc:
        raise GraphError(409, "nameAlreadyExists", str(exc)) from None
    except ValueError as exc:
        raise GraphError(400, "BadRequest", str(exc)) from None
    return JSONResponse(out, status_code=201)


@control
async def modify_item(request: Request) -> Response:
    svc, drive = _svc(request), _drive(request)
    item = _item(drive, request.path_params["item"])
    if item.folder:
        raise GraphError(400, "BadRequest", "folders have no content")
    body = await control_body(request)
    content = _new_content(svc, drive, body, item.content_version + 1)
    if content.size > 16 << 20:
        await asyncio.to_thread(content.ensure_hashes)
    drive.set_content(item, content)
    return JSONResponse(item_summary(drive, item))


@control
async def encrypt(request: Request) -> Response:
    """What ransomware does to a drive, as its users' sync client would upload it: `percent` of its files (or
    `count`), picked by `seed`, get random bytes as content and `extension` appended to their name (default
    '.locky'; '' keeps the name), each as one change."""
    drive = _drive(request)
    body = await control_body(request)
    files = sorted((i for i in drive.walk() if not i.folder and i.content is not None), key=lambda i: i.id)
    count = int(body["count"]) if "count" in body else round(len(files) * float(body.get("percent", 50)) / 100)
    rng = random.Random(str(body.get("seed", "encrypt")))
    extension = str(body.get("extension", ".locky"))
    hit = []
    for item in rng.sample(files, min(max(0, count), len(files))):
        before = item.name
        data = rng.randbytes(max(item.content.size, 1024))
        drive.set_content(item, Content(len(data), data=data))
        if extension:
            drive.rename(item, before + extension)
        hit.append({"id": item.id, "was": before, "name": item.name})
    return JSONResponse({"encrypted": hit})


@control
async def update_item(request: Request) -> Response:
    drive = _drive(request)
    item = _item(drive, request.path_params["item"])
    body = await control_body(request)
    if body.get("parent"):
        parent = _item(drive, str(body["parent"]))
        drive.move(item, parent, body.get("name"))
    elif body.get("name"):
        drive.rename(item, str(body["name"]))
    return JSONResponse(item_summary(drive, item))


@control
async def delete_item(request: Request) -> Response:
    drive = _drive(request)
    gone = drive.delete(_item(drive, request.path_params["item"]))
    return JSONResponse({"deleted": [i.id for i in gone]})


@control
async def remove_drive(request: Request) -> Response:
    """Delete a document library (or a OneDrive): it leaves its site's drive list and /drives/{id} answers 404."""
    svc, drive = _svc(request), _drive(request)
    svc.store.remove_drive(drive)
    return JSONResponse({"removed": drive.id})


@control
async def set_permissions(request: Request) -> Response:
    """Replace an item's own sharing (links and grants; what it inherits is added when listed): `permissions` as
    Graph permission JSON, and/or `grants`: that many generated user grants (a heavily shared item), or `clear`."""
    drive = _drive(request)
    item = _item(drive, request.path_params["item"])
    body = await control_body(request)
    permissions = [] if body.get("clear") else list(body.get("permissions") or item.permissions)
    for n in range(int(body.get("grants", 0))):
        who = Identity(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{drive.id}:{item.id}:grantee:{n}")),
                       f"Grantee {n:05d} of a heavily shared item", f"grantee{n:05d}@partner.example")  # fmt: skip
        permissions.append(grant_permission(who, "read" if n % 3 else "write"))
    drive.set_permissions(item, permissions)
    return JSONResponse({**item_summary(drive, item), "permissions": len(permissions)})


@control
async def set_listing(request: Request) -> Response:
    """Make the item's listing disagree with its content: `size_delta` bytes off, and/or `wrong_hash`."""
    drive = _drive(request)
    item = _item(drive, request.path_params["item"])
    if item.folder:
        raise GraphError(400, "BadRequest", "folders have no content")
    body = await control_body(request)
    item.listed_size_delta = int(body.get("size_delta", 0))
    item.listed_hash_wrong = bool(body.get("wrong_hash", False))  # no change to the item: delta does not list it
    return JSONResponse(item_summary(drive, item))


@control
async def item_content(request: Request) -> Response:
    drive = _drive(request)
    item = _item(drive, request.path_params["item"])
    if item.content is None:
        raise GraphError(400, "BadRequest", "folders have no content")
    return StreamingResponse(item.content.iter_range(0, None, 1 << 20), media_type="application/octet-stream")


@control
async def expire_tokens(request: Request) -> Response:
    svc = _svc(request)
    body = await control_body(request)
    code = str(body.get("code") or "resyncChangesApplyDifferences")
    if code not in ("resyncChangesApplyDifferences", "resyncChangesUploadDifferences"):
        raise GraphError(400, "BadRequest", "code must be resyncChangesApplyDifferences or ...UploadDifferences")
    drive = svc.drive_of(str(body["drive"])) if body.get("drive") else None
    if body.get("drive") and drive is None:
        raise GraphError(404, "NotFound", f"no drive {body['drive']!r}")
    svc.delta.expire(drive, code)
    return JSONResponse({"expired": drive.id if drive else "all", "code": code})


@control
async def config(request: Request) -> Response:
    svc = _svc(request)
    if request.method == "POST":
        body = await control_body(request)
        cfg = svc.config
        for key in ("download_url_lifetime", "upload_session_lifetime", "ru_window"):
            if key in body:
                setattr(cfg, key, float(body[key]))
        if "ru_budget" in body:
            cfg.ru_budget = None if body["ru_budget"] is None else int(body["ru_budget"])
            svc.ru.reset()
        if "strict_fragments" in body:
            cfg.strict_fragments = bool(body["strict_fragments"])
        if "delta_order" in body:
            if body["delta_order"] not in ORDERS:
                raise GraphError(400, "BadRequest", f"delta_order must be one of {ORDERS}")
            cfg.delta_order = str(body["delta_order"])
        if "all_sites_status" in body:
            cfg.all_sites_status = None if body["all_sites_status"] is None else int(body["all_sites_status"])
        if "unindexed_sites" in body:
            cfg.unindexed_sites = [str(s) for s in body["unindexed_sites"] or []]

    return JSONResponse(svc.config.to_json())


@control
async def stats(request: Request) -> Response:
    svc = _svc(request)
    if request.method == "POST":
        svc.stats = type(svc.stats)()
    return JSONResponse(svc.stats.to_json())


def drive_control_routes() -> list[Route]:
    d = "/_sim/drives/{drive}"
    return [
        Route("/_sim/drives", state),
        Route("/_sim/drives-config", config, methods=["GET", "POST"]),
        Route("/_sim/drives-stats", stats, methods=["GET", "POST"]),
        Route("/_sim/drives-expire-delta-tokens", expire_tokens, methods=["POST"]),
        Route(d, remove_drive, methods=["DELETE"]),
        Route(f"{d}/items", add_item, methods=["POST"]),
        Route(f"{d}/items/{{item:path}}/permissions", set_permissions, methods=["POST"]),
        Route(f"{d}/items/{{item:path}}/listing", set_listing, methods=["POST"]),
        Route(f"{d}/bulk-items", bulk_add, methods=["POST"]),
        Route(f"{d}/encrypt", encrypt, methods=["POST"]),
        Route(f"{d}/items/{{item:path}}/content", item_content, methods=["GET"]),
        Route(f"{d}/items/{{item:path}}/content", modify_item, methods=["POST"]),
        Route(f"{d}/items/{{item:path}}", update_item, methods=["PATCH"]),
        Route(f"{d}/items/{{item:path}}", delete_item, methods=["DELETE"]),
    ]
