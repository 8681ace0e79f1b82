"""contactFolder delta (https://learn.microsoft.com/graph/api/contactfolder-delta): `GET
/users/{id}/contactFolders/delta`, "a set of contact folders that have been added, deleted, or removed from the
user's mailbox", to "maintain and synchronize a local store of a user's contact folders without having to fetch all
the contact folders of that mailbox from the server every time".

What the simulator makes of it: the collection is every contact folder of the mailbox (the default Contacts folder,
the folders beside it and every child folder, parents before children), each a contactFolder object with its
`parentFolderId`; a round from a delta token lists the folders made or renamed since, and those deleted since as
`{"id", "@removed": {"reason": "deleted"}}` (https://learn.microsoft.com/graph/delta-query-overview). A change to a
folder's contacts is not a change of the folder (contact delta reports those). `$select` on the first request,
`Prefer: odata.maxpagesize` on every page; tokens share the mailbox's generation (graphsim/pim/delta.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graphsim.delta_links import delta_response, folder_round, function_routes
from graphsim.delta_rounds import Round
from graphsim.pim.contact_routes import page_size, pim_of, service
from graphsim.pim.contact_store import FOLDERS, ContactStore
from graphsim.simulator import Context, graph_route

SCOPE = "contactFolders"
TYPE = "#microsoft.graph.contactFolder"


def folder_entries(store: ContactStore, watermark: int | None) -> list[dict[str, Any]]:
    """Every contact folder (no watermark), or those changed since it and those deleted since it."""
    entries = [{"@odata.type": TYPE, **f.to_json()} for f in store.tree() if watermark is None or f.seq > watermark]
    if watermark is not None:
        for removal in store.log.removed_since(watermark, FOLDERS):
            if removal.item_id not in store.folders:
                entries.append({"@odata.type": TYPE, "id": removal.item_id, "@removed": {"reason": "deleted"}})
    return entries


@graph_route("contact_folders")
async def contact_folder_delta(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None and ctx.user.mailbox is not None
    mailbox, store = ctx.user.mailbox, pim_of(ctx).contacts
    size, headers = page_size(request)
    engine = service(ctx).delta

    def start(watermark: int | None, select: list[str] | None) -> Round:
        return engine.new_round(mailbox, SCOPE, folder_entries(store, watermark), store.log.seq, select)

    round_, offset = folder_round(request, ctx.sim.sealer, engine, mailbox, SCOPE, start, headers)
    path = f"/v1.0/users/{ctx.user.id}/contactFolders/delta"
    return delta_response(request, path, engine.page(round_, offset, size), "Collection(contactFolder)", headers)


def contact_folder_delta_routes(users: str = "/v1.0/users/{user}") -> list[Route]:
    """Mounted before graphsim.pim.contact_routes' `{users}/contactFolders/{folder}`: 'delta' is not a folder id."""
    routes = []
    for cf in ("contactFolders", "contactfolders"):
        routes += [
            Route(f"{users}/{cf}/delta", contact_folder_delta),
            Route(function_routes(f"{users}/{cf}/delta"), contact_folder_delta),
            Route(f"{users}/{cf}/microsoft.graph.delta()", contact_folder_delta),
        ]
    return routes
