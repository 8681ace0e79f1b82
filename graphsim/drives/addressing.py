"""How drive routes address and show items: the item address in a drive URL (root, items/{id}, :/path:, an action,
a function-shaped delta link), resolving it to an item, the item body with its download URL, and charging a
request's resource units (429 activityLimitReached past the budget: graphsim/drives/service.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from graphsim.drives.service import DriveService
from graphsim.drives.store import Drive, Item
from graphsim.errors import GraphError
from graphsim.odata import pick, select_of
from graphsim.simulator import Context, Simulator

ACTIONS = {"content", "children", "delta", "permissions", "createuploadsession", "microsoft.graph.delta()"}
# delta(token='...'): the OData function-call form of a delta link (no query string), as the driveItem delta docs
# write it (https://learn.microsoft.com/graph/api/driveitem-delta) and as national clouds hand links out
FUNCTION_TOKEN = re.compile(r"^(?:microsoft\.graph\.)?delta\(token='([^']*)'\)$", re.IGNORECASE)


def files(ctx_or_sim: Context | Simulator) -> DriveService:
    sim = ctx_or_sim.sim if isinstance(ctx_or_sim, Context) else ctx_or_sim
    return sim.files  # type: ignore[attr-defined]


def item_not_found() -> GraphError:
    return GraphError(404, "itemNotFound", "The resource could not be found.")


@dataclass
class Address:
    """A parsed item address: base ('root' or an item id), optional ':/path:' and an optional action."""

    base: str | None  # None: the drive itself
    path: str | None
    action: str | None
    token: str | None = None  # from a function-call delta link: delta(token='...')


def parse_address(rest: str) -> Address:
    if rest in ("", "/"):
        return Address(None, None, None)
    lowered = rest.lower()
    if lowered.startswith("root"):
        base, remainder = "root", rest[4:]
    elif lowered.startswith("items/"):
        end = len(rest)
        for sep in (":", "/"):
            pos = rest.find(sep, 6)
            end = min(end, pos) if pos >= 0 else end
        base, remainder = rest[6:end], rest[end:]
    else:
        raise GraphError(400, "invalidRequest", f"Resource not found for the segment '{rest.split('/')[0]}'.")
    path = None
    if remainder.startswith(":"):
        close = remainder.find(":", 1)
        path, remainder = (remainder[1:], "") if close < 0 else (remainder[1:close], remainder[close + 1 :])
        path = path.strip("/") or None
    function_token = FUNCTION_TOKEN.match(remainder.strip("/"))
    if function_token:
        return Address(base, path, "delta", function_token.group(1))
    action = remainder.strip("/").lower() or None
    if action is not None and action not in ACTIONS:
        raise GraphError(400, "invalidRequest", f"Resource not found for the segment '{action}'.")
    return Address(base, path, "delta" if action == "microsoft.graph.delta()" else action)


def resolve(drive: Drive, address: Address, must_exist: bool = True) -> Item | None:
    item = drive.root if address.base == "root" else drive.get(address.base or "")
    if item is None:
        raise item_not_found()
    for name in (address.path or "").split("/") if address.path else []:
        child = drive.child_named(item, name)
        if child is None:
            if must_exist:
                raise item_not_found()
            return None
        item = child
    return item


def charge(ctx: Context, cost: int) -> None:
    """Spend `cost` resource units of the tenant's budget (graphsim/drives/service.py ResourceUnits): 429 with
    Retry-After when over it; RateLimit-* headers on the answer from 80% of it on."""
    retry_after, headers = files(ctx).charge(cost)
    if retry_after is not None:
        message = "The request has been throttled (resource units per minute exceeded)."
        raise GraphError(429, "activityLimitReached", message, {"Retry-After": retry_after, **headers})
    ctx.headers.update(headers)


def item_body(request: Request, ctx: Context, drive: Drive, item: Item) -> dict[str, Any]:
    body = drive.item_json(item)
    if not item.folder and item.content is not None:
        token = files(ctx).grant_download(drive, item.id, item.content)
        body["@microsoft.graph.downloadUrl"] = f"{ctx.sim.base_url}/_dl/{token}"
    return pick(body, select_of(request))
