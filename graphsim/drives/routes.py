"""Graph v1.0 file routes: user drives, sites and libraries, items by id or path, children, permissions, drive
delta, /content redirects. Writes (uploads, folders, PATCH, DELETE) live in write_routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from graphsim.delta_rounds import SyncStateNotFound
from graphsim.drives import write_routes
from graphsim.drives.addressing import Address, charge, files, item_body, parse_address, resolve
from graphsim.drives.delta_routes import drive_delta
from graphsim.drives.store import Drive, Item
from graphsim.drives.write_routes import transfer_routes
from graphsim.errors import GraphError
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.simulator import Context, Simulator


def page_of(request: Request, ctx: Context, values: list[Any], default: int) -> tuple[list[Any], str | None]:
    """A page of `values` by $top and a sealed $skiptoken offset; (page, nextLink or None)."""
    top = int_param(request, "$top", default, 1, 999)
    offset = 0
    token = qp(request, "$skiptoken")
    if token:
        try:
            offset = int(ctx.sim.sealer.unseal(token).get("o", 0))
        except SyncStateNotFound:
            raise GraphError(400, "invalidRequest", "Invalid page token.") from None
    next_link = None
    if offset + top < len(values):
        select = select_of(request)
        params = {
            "$top": top,
            "$select": ",".join(select) if select else None,
            "$skiptoken": ctx.sim.sealer.seal({"o": offset + top}),
        }
        next_link = link(request, request.url.path, params)
    return values[offset : offset + top], next_link


def collection(request: Request, what: str, values: list[Any], next_link: str | None) -> JSONResponse:
    body: dict[str, Any] = {"@odata.context": context(request, what), "value": values}
    if next_link:
        body["@odata.nextLink"] = next_link
    return JSONResponse(body)


# --- discovery ---
def _drive_for_user(ctx: Context) -> Drive:
    assert ctx.user is not None
    svc = files(ctx)
    did = svc.store.user_drives.get(ctx.user.id)
    if did is None:
        raise GraphError(404, "ResourceNotFound", "User's mysite not found.")
    return svc.store.drives[did]


async def get_drive(request: Request, ctx: Context, drive: Drive) -> Response:
    charge(ctx, 1)
    body = {"@odata.context": context(request, "drives/$entity"), **files(ctx).store.drive_json(drive)}
    return JSONResponse(pick(body, select_of(request)))


async def list_sites(request: Request, ctx: Context, all_sites: bool = False) -> Response:
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    svc = files(ctx)
    if all_sites and svc.config.all_sites_status is not None:
        status = svc.config.all_sites_status
        raise GraphError(status, "accessDenied" if status == 403 else "generalException", "getAllSites is not "
                         "available to this application.")  # fmt: skip
    search = qp(request, "search")
    sites = list(svc.store.sites.values())
    if search is not None:  # search reads the search index (https://learn.microsoft.com/graph/api/site-search)
        sites = [s for s in sites if s.id not in svc.config.unindexed_sites]
    if search and search != "*":
        sites = [s for s in sites if search.lower() in (s.display_name + " " + s.name).lower()]
    values, next_link = page_of(request, ctx, [pick(s.to_json(), select_of(request)) for s in sites], 10)
    return collection(request, "sites", values, next_link)


async def site_drives(request: Request, ctx: Context, site_ref: str) -> Response:
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    svc = files(ctx)
    site = svc.store.sites.get(site_ref)
    if site is None:
        raise GraphError(404, "itemNotFound", "Requested site could not be found")
    drives = [pick(svc.store.drive_json(svc.store.drives[d]), select_of(request)) for d in site.drive_ids]
    values, next_link = page_of(request, ctx, drives, 100)
    return collection(request, "drives", values, next_link)


# --- items ---
async def get_item(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    charge(ctx, 5 if "permissions" in (qp(request, "$expand") or "").lower() else 1)  # permission reads: 5 RU
    return JSONResponse(
        {"@odata.context": context(request, "driveItem/$entity"), **item_body(request, ctx, drive, item)}
    )


async def list_children(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
    if not item.folder:
        return collection(request, "Collection(driveItem)", [], None)
    children = [pick(drive.item_json(c), select_of(request)) for c in drive.live_children(item)]
    values, next_link = page_of(request, ctx, children, 200)
    return collection(request, "Collection(driveItem)", values, next_link)


async def list_permissions(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    charge(ctx, 5)
    owner = drive.owner
    inherited: dict[str, Any] = {
        "id": "aTowIy5mfG1lbWJlcnNoaXB8" + owner.id.replace("-", "")[:16],
        "roles": ["owner"],
        "grantedToV2": {
            "siteUser" if drive.owner_kind == "site" else "user": {
                "displayName": owner.display_name,
                "id": owner.id,
                **({"email": owner.email} if owner.email else {}),
            }
        },
    }
    if item.parent_id is not None:
        inherited["inheritedFrom"] = {
            "driveId": drive.id,
            "driveType": drive.drive_type,
            "id": drive.root_id,
            "path": "/drive/root:",
        }
    values, next_link = page_of(request, ctx, [inherited, *item.permissions], 100)
    return collection(request, "Collection(permission)", values, next_link)


async def download_redirect(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    charge(ctx, 1)
    if item.folder or item.content is None:
        raise GraphError(400, "invalidRequest", "The item is a folder and has no content to download.")
    token = files(ctx).grant_download(drive, item.id, item.content)
    return RedirectResponse(f"{ctx.sim.base_url}/_dl/{token}", status_code=302)


async def _drive_delta(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    return await drive_delta(request, ctx, drive, item)


READERS = {
    None: get_item,
    "children": list_children,
    "permissions": list_permissions,
    "content": download_redirect,
    "delta": _drive_delta,
}


KINDS = {
    None: "drive_item",
    "children": "children",
    "permissions": "permissions",
    "content": "download_redirect",
    "delta": "drive_delta",
}


async def dispatch(request: Request, drive_of: Any, rest: str) -> Response:
    """Parse the address, pick the kind (for stats and throttle faults), then run through the simulator's gate."""
    sim: Simulator = request.app.state.sim
    method = request.method
    try:
        address = parse_address(rest)
    except GraphError as exc:
        address, parse_error = Address(None, None, None), exc
    else:
        parse_error = None
    if method == "GET":
        kind = "drives" if address.base is None else KINDS.get(address.action, "drive_item")
    else:
        kind = write_routes.write_kind(method, address)
    if address.base and address.base != "root":  # the item id, for faults aimed at one item (not_found, ...)
        request.scope.setdefault("path_params", {})["item"] = address.base

    async def handler(request: Request, ctx: Context) -> Response:
        if parse_error is not None:
            raise parse_error
        drive: Drive = drive_of(ctx)
        if method == "GET":
            if address.base is None:
                return await get_drive(request, ctx, drive)
            item = resolve(drive, address)
            assert item is not None
            request.state.delta_token = address.token
            return await READERS[address.action](request, ctx, drive, item)
        return await write_routes.write(request, ctx, drive, address, method)

    return await sim.run_graph(request, kind, handler, mail=False)


def _by_drive_id(request: Request) -> Any:
    def drive_of(ctx: Context) -> Drive:
        drive = files(ctx).store.drives.get(request.path_params["drive"])
        if drive is None:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        return drive

    return drive_of


def _site_default(request: Request) -> Any:
    def drive_of(ctx: Context) -> Drive:
        store = files(ctx).store
        site = store.sites.get(request.path_params["site"])
        if site is None or not site.drive_ids:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return store.drives[site.drive_ids[0]]

    return drive_of


async def drives_endpoint(request: Request) -> Response:
    return await dispatch(request, _by_drive_id(request), request.path_params.get("rest", ""))


async def user_drive_endpoint(request: Request) -> Response:
    return await dispatch(request, _drive_for_user, request.path_params.get("rest", ""))


async def site_drive_endpoint(request: Request) -> Response:
    return await dispatch(request, _site_default(request), request.path_params.get("rest", ""))


async def user_drives_endpoint(request: Request) -> Response:
    async def handler(request: Request, ctx: Context) -> Response:
        charge(ctx, 2)  # a multi-item query: 2 RU (graphsim/drives/service.py ResourceUnits)
        assert ctx.user is not None
        svc = files(ctx)
        did = svc.store.user_drives.get(ctx.user.id)
        if did is None:
            raise GraphError(404, "ResourceNotFound", "User's mysite not found.")
        return collection(request, "drives", [svc.store.drive_json(svc.store.drives[did])], None)

    return await request.app.state.sim.run_graph(request, "drives", handler, mail=False)


async def sites_endpoint(request: Request) -> Response:
    return await request.app.state.sim.run_graph(request, "sites", list_sites, mail=False)


async def site_endpoint(request: Request) -> Response:
    ref = request.path_params["site"]

    async def handler(request: Request, ctx: Context) -> Response:
        charge(ctx, 1)
        if ref.lower() in ("getallsites", "getallsites()"):
            return await list_sites(request, ctx, all_sites=True)
        site = files(ctx).store.sites.get(ref)
        if site is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return JSONResponse({"@odata.context": context(request, "sites/$entity"), **site.to_json()})

    return await request.app.state.sim.run_graph(request, "sites", handler, mail=False)


async def site_by_path_endpoint(request: Request) -> Response:
    """GET /sites/{hostname}:/{server-relative path} ("Get a site resource by path",
    https://learn.microsoft.com/graph/api/site-getbypath): the site whose webUrl that is, case-insensitively."""
    url = f"https://{request.path_params['host']}/{request.path_params['path'].strip('/')}".lower()

    async def handler(request: Request, ctx: Context) -> Response:
        charge(ctx, 1)
        site = next((s for s in files(ctx).store.sites.values() if s.web_url.rstrip("/").lower() == url), None)
        if site is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return JSONResponse({"@odata.context": context(request, "sites/$entity"), **pick(site.to_json(),
                             select_of(request))})  # fmt: skip

    return await request.app.state.sim.run_graph(request, "sites", handler, mail=False)


async def site_drives_endpoint(request: Request) -> Response:
    ref = request.path_params["site"]

    async def handler(request: Request, ctx: Context) -> Response:
        return await site_drives(request, ctx, ref)

    return await request.app.state.sim.run_graph(request, "drives", handler, mail=False)


def drive_routes() -> list[Route]:
    writes = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route("/v1.0/sites", sites_endpoint),
        Route("/v1.0/sites/{host}:/{path:path}", site_by_path_endpoint),
        Route("/v1.0/sites/{site}", site_endpoint),
        Route("/v1.0/sites/{site}/drives", site_drives_endpoint),
        Route("/v1.0/sites/{site}/drive", site_drive_endpoint),
        Route("/v1.0/sites/{site}/drive/{rest:path}", site_drive_endpoint, methods=writes),
        Route("/v1.0/users/{user}/drives", user_drives_endpoint),
        Route("/v1.0/users/{user}/drive", user_drive_endpoint),
        Route("/v1.0/users/{user}/drive/{rest:path}", user_drive_endpoint, methods=writes),
        Route("/v1.0/drives/{drive}", drives_endpoint),
        Route("/v1.0/drives/{drive}/{rest:path}", drives_endpoint, methods=writes),
        *transfer_routes(),
    ]
