"""Graph v1.0 drive delta (GET /drives/{d}/root/delta): rounds, page sizes, sharing-change annotations and delta
links in the configured shape (https://learn.microsoft.com/graph/api/driveitem-delta)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graphsim.drives.addressing import charge, files
from graphsim.drives.delta import Resync
from graphsim.drives.service import DriveService
from graphsim.drives.store import Drive, Item
from graphsim.errors import GraphError
from graphsim.odata import context, int_param, link, qp
from graphsim.simulator import Context

MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
SHARING_CHANGES = ("deltashowremovedasdeleted", "deltatraversepermissiongaps", "deltashowsharingchanges")


def _page_size(request: Request) -> int:
    raw = qp(request, "$top")
    if raw is not None:
        return int_param(request, "$top", 200, 1, 999)
    match = MAXPAGESIZE.search(request.headers.get("prefer", ""))
    return max(1, min(int(match.group(1)), 999)) if match else 200


def delta_link(request: Request, svc: DriveService, path: str, token: str) -> str:
    """A nextLink, deltaLink or 410 Location in the simulator's link shape (`/_sim/config` link_style, see
    graphsim/delta_links.py): `...?token=X`, or `...(token='X')` with no query string. Remembered, to tell whether
    links come back exactly as handed out (delta_links_edited)."""
    if request.app.state.sim.config.link_style == "function":
        out = f"{request.app.state.sim.base_url}{path}(token='{token}')"
    else:
        out = link(request, path, {"token": token})
    svc.links_given.append(_link_key(out))
    return out


def _link_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    return unquote(parts.path), tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def _note_edited_link(request: Request, svc: DriveService) -> None:
    if _link_key(str(request.url)) not in svc.links_given:
        svc.stats.counters["delta_links_edited"] += 1


async def drive_delta(request: Request, ctx: Context, drive: Drive, item: Item) -> Response:
    svc = files(ctx)
    if item.id != drive.root_id:
        raise GraphError(400, "invalidRequest", "Delta is only supported on the root of a drive in this simulator.")
    function_token = getattr(request.state, "delta_token", None)
    token = function_token or qp(request, "token")
    path = f"/v1.0/drives/{drive.id}/root/delta"
    charge(ctx, 1 if token else 2)
    exclude = "deltaexcludeparent" in {k.lower() for k in request.headers}
    prefer = request.headers.get("prefer", "").lower()
    show_sharing = all(flag in prefer for flag in SHARING_CHANGES)  # the docs require all three together
    if token and token != "latest":
        _note_edited_link(request, svc)
    if function_token and request.query_params:  # a function-shaped link carries its whole query in its token
        names = ", ".join(sorted(request.query_params))
        raise GraphError(400, "invalidRequest", f"The query options '{names}' are not supported on this request: "
                         "its link encodes its whole query.")  # fmt: skip
    try:
        if token == "latest":
            latest = svc.delta.latest(drive, _page_size(request))
            body = {
                "@odata.context": context(request, "Collection(driveItem)"),
                "value": [],
                "@odata.deltaLink": delta_link(request, svc, path, latest),
            }
            return JSONResponse(body)
        payload = svc.delta.resolve(token, drive) if token else {"k": "f"}
        if payload["k"] == "s":
            round_, offset = svc.delta.round(payload)
        else:
            watermark = payload.get("w") if payload["k"] == "d" else None
            asked = qp(request, "$top") is not None or MAXPAGESIZE.search(prefer) is not None
            size = _page_size(request) if asked or not payload.get("n") else int(payload["n"])
            round_ = svc.delta.start_round(drive, watermark, size, exclude, show_sharing, svc.config.delta_order)
            offset = 0
    except Resync as exc:
        fresh = delta_link(request, svc, path, svc.delta.fresh(drive))
        raise GraphError(410, exc.code, str(exc), {"Location": fresh}) from None
    values, next_token, delta_token = svc.delta.page(round_, offset)
    body = {"@odata.context": context(request, "Collection(driveItem)"), "value": values}
    if next_token:
        body["@odata.nextLink"] = delta_link(request, svc, path, next_token)
    else:
        body["@odata.deltaLink"] = delta_link(request, svc, path, delta_token or "")
    return JSONResponse(body)
