"""Graph v1.0 shares: a drive item reached by a sharing token or an encoded sharing URL, as "Access shared items"
documents it (https://learn.microsoft.com/graph/api/shares-get):

- GET /shares/{shareIdOrEncodedSharingUrl}/driveItem: the shared driveItem ("Access the shared item directly");
- GET /shares/{shareIdOrEncodedSharingUrl}/root: the same item through the sharedDriveItem's `root` relationship
  (https://learn.microsoft.com/graph/api/resources/shareddriveitem: "used to access the underlying driveItem").

The encoded form ("Encoding sharing URLs" on that page) is 'u!' + the URL in unpadded base64url. A URL resolves to
the item it names in a drive of the tenant: the drive's webUrl followed by the item's path (the webUrl a driveItem
shows, what a Teams reference attachment's contentUrl holds), or a sharing link's webUrl; a 's!' token is a
permission's shareId. The item answers with its parentReference naming its drive and, for a document library, its
site (itemReference.siteId, https://learn.microsoft.com/graph/api/resources/itemreference: "the same as the id
property of that site resource"). A URL naming no live item (another host, a path with nothing there, a file
deleted since) answers 404 itemNotFound; a token that is not a share id nor a decodable 'u!' URL answers 400
invalidRequest (https://learn.microsoft.com/graph/errors: the error shape of both)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.drives.addressing import charge, files, item_body, item_not_found
from graphsim.drives.store import Drive, DriveStore, Item
from graphsim.errors import GraphError
from graphsim.odata import context
from graphsim.simulator import Context


def encode_sharing_url(url: str) -> str:
    """'u!' + unpadded base64url of the URL ("Encoding sharing URLs")."""
    return "u!" + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    """The sharing URL a 'u!' token encodes; 400 invalidRequest when it encodes none."""
    body = token[2:]
    try:
        url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _malformed() from None
    parts = urlsplit(url)
    if not body or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _malformed()
    return url


def _malformed() -> GraphError:
    return GraphError(400, "invalidRequest", "The sharing token or encoded sharing URL is malformed.")


def _by_path(drive: Drive, rest: str) -> Item | None:
    item: Item | None = drive.root
    for name in [n for n in rest.split("/") if n]:
        item = drive.child_named(item, name) if item is not None else None
    return item


def _by_url(store: DriveStore, url: str) -> tuple[Drive, Item] | None:
    parts = urlsplit(url)
    wanted = unquote(f"{parts.scheme}://{parts.netloc}{parts.path}").rstrip("/").lower()
    for drive in store.drives.values():
        base = unquote(drive.web_url).rstrip("/").lower()
        if wanted == base or wanted.startswith(base + "/"):
            item = _by_path(drive, wanted[len(base) :])  # names match case-insensitively, as in a drive
            return (drive, item) if item is not None else None
    return _by_link(store, lambda p: str((p.get("link") or {}).get("webUrl") or "").lower() == url.lower())


def _by_link(store: DriveStore, matches: object) -> tuple[Drive, Item] | None:
    for drive in store.drives.values():
        for item in drive.items.values():
            if not item.deleted and any(matches(p) for p in item.permissions):  # type: ignore[operator]
                return drive, item
    return None


def shared_item(store: DriveStore, token: str) -> tuple[Drive, Item]:
    if token.startswith("u!"):
        found = _by_url(store, decode_token(token))
    elif token.startswith("s!") and len(token) > 2:
        found = _by_link(store, lambda p: p.get("shareId") == token)
    else:
        raise _malformed()
    if found is None:
        raise item_not_found()
    return found


async def shared_drive_item(request: Request) -> Response:
    async def handler(request: Request, ctx: Context) -> Response:
        charge(ctx, 1)
        drive, item = shared_item(files(ctx).store, request.path_params["share"])
        body = item_body(request, ctx, drive, item)
        if drive.owner_kind == "site" and isinstance(body.get("parentReference"), dict):
            body["parentReference"]["siteId"] = drive.owner_id
        return JSONResponse({"@odata.context": context(request, "driveItem/$entity"), **body})

    return await request.app.state.sim.run_graph(request, "drive_item", handler, mail=False)


def share_routes() -> list[Route]:
    return [
        Route("/v1.0/shares/{share}/driveItem", shared_drive_item),
        Route("/v1.0/shares/{share}/driveitem", shared_drive_item),
        Route("/v1.0/shares/{share}/root", shared_drive_item),
    ]
