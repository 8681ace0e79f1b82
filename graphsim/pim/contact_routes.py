"""Graph v1.0 contact routes: contact folders (default, child, top-level), contacts, per-folder contact delta,
contact photos. Every route counts against the user's mailbox budget (concurrency and rate) like mail."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim import extended_properties as ext
from graphsim.delta_links import delta_response, function_routes, tokens_of
from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError, json_object
from graphsim.ids import opaque_id
from graphsim.odata import context, int_param, link, pick, qp, select_of
from graphsim.pim.common import now
from graphsim.pim.contact_store import (
    Contact,
    ContactFolder,
    ContactStore,
    Photo,
    contact_props,
    normalize_contact_prop,
)
from graphsim.pim.service import PimService, UserPim
from graphsim.simulator import Context, graph_route

MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
NOT_FOUND = "The specified object was not found in the store."


def service(ctx: Context) -> PimService:
    return ctx.sim.pim  # type: ignore[attr-defined,no-any-return]


def pim_of(ctx: Context) -> UserPim:
    assert ctx.user is not None
    return service(ctx).of(ctx.user.id)


def page_size(request: Request) -> tuple[int, dict[str, str]]:
    match = MAXPAGESIZE.search(request.headers.get("prefer", ""))
    if not match:
        return 10, {}
    size = max(1, int(match.group(1)))
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


async def json_body(request: Request) -> dict[str, Any]:
    return await json_object(request, "RequestBodyRead", empty_ok=False)


def paged(request: Request, what: str, items: Sequence[dict[str, Any]], default_top: int = 10,
          extended: list[ext.Properties] | None = None) -> Response:  # fmt: skip
    """A $top/$skip page with $select and an @odata.nextLink when more remain. With `extended` (each item's
    single-value extended properties, in the same order), a `$filter=singleValueExtendedProperties/Any(...)` keeps
    the items that match, and `$expand=singleValueExtendedProperties($filter=id eq '...')` adds the asked-for ones
    to each item that has them, whatever $select says (see graphsim/extended_properties.py)."""
    wanted: list[str] = []
    if extended is not None:
        keep = ext.filter_of(qp(request, "$filter"))
        if keep is not None:
            pairs = [(i, p) for i, p in zip(items, extended, strict=True) if keep(p)]
            items, extended = [i for i, _ in pairs], [p for _, p in pairs]
        wanted = ext.expanded(request)
    top = int_param(request, "$top", default_top, 1, 1000)
    skip = int_param(request, "$skip", 0, 0, 10**9)
    select = select_of(request)
    body: dict[str, Any] = {"@odata.context": context(request, what)}
    body["value"] = [pick(i, select) for i in items[skip : skip + top]]
    if wanted and extended is not None:
        for item, props in zip(body["value"], extended[skip : skip + top], strict=True):
            with_expanded(item, props, wanted)
    if skip + top < len(items):
        keep = {k: v for k, v in request.query_params.items() if k.lower().lstrip("$") not in ("top", "skip")}
        body["@odata.nextLink"] = link(request, request.url.path, {**keep, "$top": top, "$skip": skip + top})
    return JSONResponse(body)


def fault_page(ctx: Context, request: Request, scope_id: str, headers: dict[str, str], what: str) -> Response | None:
    """The delta_page fault (user, optional folder = a contact folder or calendar id), like mail delta."""
    assert ctx.user is not None
    fault = ctx.sim.faults.take_delta_page(ctx.user.id, scope_id)
    if fault is None:
        return None
    ctx_url = context(request, what)
    if fault.mode == "invalid_json":
        return Response(('{"@odata.context":"' + ctx_url + '","value":[{"id":').encode(),
                        media_type="application/json", headers=headers)  # fmt: skip
    if fault.mode == "no_value":
        return JSONResponse({"@odata.context": ctx_url}, headers=headers)
    return JSONResponse({"@odata.context": ctx_url, "value": [], "@odata.nextLink": str(request.url)}, headers=headers)


def with_expanded(item: dict[str, Any], props: ext.Properties, wanted: list[str]) -> dict[str, Any]:
    """`item` with the expanded extended properties it has (none: the member is left out)."""
    rendered = ext.render(props, wanted)
    if rendered:
        item["singleValueExtendedProperties"] = rendered
    return item


# --- folders ---
def folder_of(store: ContactStore, ref: str) -> ContactFolder:
    folder = store.resolve_folder(ref)
    if folder is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return folder


def create_contact_folder(ctx: Context, store: ContactStore, parent_id: str, name: str) -> ContactFolder:
    siblings = [f for f in store.folders.values() if f.parent_id == parent_id]
    if any(f.display_name.lower() == name.lower() for f in siblings):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    assert ctx.user is not None
    fid = opaque_id("AQMkA", ctx.sim.seed, ctx.user.id, "contactfolder", parent_id, name, len(store.folders))
    return store.add_folder(ContactFolder(fid, name, parent_id))


@graph_route("contact_folders")
async def list_contact_folders(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    return paged(request, "contactFolders", [f.to_json() for f in store.top_folders()])


@graph_route("contact_folders")
async def list_child_contact_folders(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    folder = folder_of(store, request.path_params["folder"])
    return paged(request, "contactFolders", [store.folders[c].to_json() for c in folder.child_ids])


@graph_route("contact_folders")
async def get_contact_folder(request: Request, ctx: Context) -> Response:
    folder = folder_of(pim_of(ctx).contacts, request.path_params["folder"])
    return JSONResponse({"@odata.context": context(request, "contactFolders/$entity"),
                         **pick(folder.to_json(), select_of(request))})  # fmt: skip


@graph_route("pim_create")
async def create_folder(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    body = await json_body(request)
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "The displayName property is required.")
    parent = request.path_params.get("folder")
    parent_id = folder_of(store, parent).id if parent else store.root_id
    folder = create_contact_folder(ctx, store, parent_id, name)
    return JSONResponse({"@odata.context": context(request, "contactFolders/$entity"), **folder.to_json()},
                        status_code=201)  # fmt: skip


# --- contacts ---
def contact_of(store: ContactStore, request: Request) -> Contact:
    contact = store.contacts.get(request.path_params["contact"])
    folder = request.path_params.get("folder")
    if contact is None or (folder is not None and contact.folder_id != folder_of(store, folder).id):
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return contact


def _folder_param(store: ContactStore, request: Request) -> ContactFolder:
    return folder_of(store, request.path_params.get("folder") or "contacts")


@graph_route("contacts")
async def list_contacts(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    folder = _folder_param(store, request)
    contacts = [store.contacts[c] for c in folder.contact_ids]
    return paged(
        request, "Collection(contact)", [c.to_json() for c in contacts], extended=[c.extended for c in contacts]
    )


@graph_route("contacts")
async def get_contact(request: Request, ctx: Context) -> Response:
    contact = contact_of(pim_of(ctx).contacts, request)
    body = with_expanded(pick(contact.to_json(), select_of(request)), contact.extended, ext.expanded(request))
    return JSONResponse({"@odata.context": context(request, "contacts/$entity"), **body})


def new_contact(ctx: Context, store: ContactStore, folder: ContactFolder, body: dict[str, Any]) -> Contact:
    assert ctx.user is not None
    when = now()
    cid = opaque_id("AAMkA", ctx.sim.seed, ctx.user.id, "contact", "added", service(ctx).next_number())
    extended = ext.parse(body)  # set at creation, as Graph documents it; kept beside the contact's properties
    props = contact_props({k: v for k, v in body.items() if k != "singleValueExtendedProperties"})
    return store.insert(Contact(cid, folder.id, props, when, when, extended=extended))


@graph_route("pim_create")
async def create_contact(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    contact = new_contact(ctx, store, _folder_param(store, request), await json_body(request))
    return JSONResponse({"@odata.context": context(request, "contacts/$entity"), **contact.to_json()},
                        status_code=201)  # fmt: skip


def update_contact(store: ContactStore, contact: Contact, body: dict[str, Any]) -> None:
    contact.extended.update(ext.parse(body))
    changes = {k: normalize_contact_prop(k, v) for k, v in body.items()
               if not k.startswith("@") and k != "singleValueExtendedProperties"}  # fmt: skip
    contact.props.update(changes)
    store.touch(contact, now())


@graph_route("pim_update")
async def patch_contact(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    contact = contact_of(store, request)
    update_contact(store, contact, await json_body(request))
    return JSONResponse({"@odata.context": context(request, "contacts/$entity"), **contact.to_json()})


@graph_route("pim_delete")
async def delete_contact(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    store.delete(contact_of(store, request))
    return Response(status_code=204)


# --- photo ---
@graph_route("photo")
async def get_photo(request: Request, ctx: Context) -> Response:
    contact = contact_of(pim_of(ctx).contacts, request)
    if contact.photo is None:
        raise GraphError(404, "ImageNotFound", "The photo wasn't found.")
    return JSONResponse({"@odata.context": context(request, "users('x')/contacts('x')/photo/$entity"),
                         "@odata.mediaContentType": contact.photo.content_type,
                         "@odata.mediaEtag": f'W/"{contact.photo.sha256[:40].upper()}"', "id": "240X240",
                         "width": 240, "height": 240})  # fmt: skip


@graph_route("photo")
async def get_photo_value(request: Request, ctx: Context) -> Response:
    contact = contact_of(pim_of(ctx).contacts, request)
    if contact.photo is None:
        raise GraphError(404, "ImageNotFound", "The photo wasn't found.")
    return Response(contact.photo.data, media_type=contact.photo.content_type)


@graph_route("photo")
async def put_photo_value(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).contacts
    contact = contact_of(store, request)
    data = await request.body()
    content_type = request.headers.get("content-type", "image/jpeg").split(";")[0].strip().lower()
    if not data:
        raise GraphError(400, "ErrorInvalidRequest", "The photo is empty.")
    if not content_type.startswith("image/"):
        raise GraphError(400, "ErrorInvalidImage", f"Content-Type '{content_type}' is not an image type.")
    contact.photo = Photo(data, content_type)
    store.touch(contact, now())
    return Response(status_code=200)


# --- delta ---
def contact_entries(store: ContactStore, folder: ContactFolder, watermark: int | None) -> list[dict[str, Any]]:
    if watermark is None:
        return [store.contacts[c].to_json() for c in folder.contact_ids]
    entries = [store.contacts[c].to_json() for c in folder.contact_ids if store.contacts[c].seq > watermark]
    seen: set[str] = set()
    for removal in store.log.removed_since(watermark, folder.id):
        if removal.item_id in folder.contact_ids or removal.item_id in seen:
            continue
        seen.add(removal.item_id)
        entries.append({"@odata.type": "#microsoft.graph.contact", "id": removal.item_id,
                        "@removed": {"reason": "deleted"}})  # fmt: skip
    return entries


@graph_route("contacts_delta")
async def contact_delta(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None and ctx.user.mailbox is not None
    mailbox, store = ctx.user.mailbox, pim_of(ctx).contacts
    folder = _folder_param(store, request)
    size, headers = page_size(request)
    broken = fault_page(ctx, request, folder.id, headers, "Collection(contact)")
    if broken is not None:
        return broken
    engine, scope = service(ctx).delta, f"contacts:{folder.id}"
    try:
        skip, delta_token = tokens_of(request, ctx.sim.sealer)
        if skip:
            round_, offset = engine.resolve_skip(skip, mailbox, scope)
        elif delta_token:
            state = engine.resolve_delta(delta_token, mailbox, scope)
            entries = contact_entries(store, folder, int(state["w"]))
            round_, offset = engine.new_round(mailbox, scope, entries, store.log.seq, state["s"]), 0
        else:
            round_ = engine.new_round(mailbox, scope, contact_entries(store, folder, None), store.log.seq,
                                      select_of(request))  # fmt: skip
            offset = 0
    except SyncStateNotFound as exc:
        raise GraphError(410, "SyncStateNotFound", str(exc), headers) from None
    return delta_response(request, request.url.path, engine.page(round_, offset, size), "Collection(contact)", headers)


def contact_routes() -> list[BaseRoute]:
    u = "/v1.0/users/{user}"
    routes: list[BaseRoute] = []
    for cf in ("contactFolders", "contactfolders"):
        f = f"{u}/{cf}/{{folder}}"
        routes += [
            Route(f"{u}/{cf}", list_contact_folders),
            Route(f"{u}/{cf}", create_folder, methods=["POST"]),
            Route(f"{f}/childFolders", list_child_contact_folders),
            Route(f"{f}/childFolders", create_folder, methods=["POST"]),
            Route(f"{f}/contacts/delta", contact_delta),
            Route(function_routes(f"{f}/contacts/delta"), contact_delta),
            Route(f"{f}/contacts/microsoft.graph.delta()", contact_delta),
            Route(f"{f}/contacts", list_contacts),
            Route(f"{f}/contacts", create_contact, methods=["POST"]),
            Route(f"{f}/contacts/{{contact}}", get_contact),
            Route(f"{f}/contacts/{{contact}}", patch_contact, methods=["PATCH"]),
            Route(f"{f}/contacts/{{contact}}", delete_contact, methods=["DELETE"]),
            Route(f"{f}/contacts/{{contact}}/photo", get_photo),
            Route(f"{f}/contacts/{{contact}}/photo/$value", get_photo_value),
            Route(f"{f}/contacts/{{contact}}/photo/$value", put_photo_value, methods=["PUT"]),
            Route(f, get_contact_folder),
        ]
    c = f"{u}/contacts"
    routes += [
        Route(f"{c}/delta", contact_delta),
        Route(function_routes(f"{c}/delta"), contact_delta),
        Route(f"{c}/microsoft.graph.delta()", contact_delta),
        Route(c, list_contacts),
        Route(c, create_contact, methods=["POST"]),
        Route(f"{c}/{{contact}}", get_contact),
        Route(f"{c}/{{contact}}", patch_contact, methods=["PATCH"]),
        Route(f"{c}/{{contact}}", delete_contact, methods=["DELETE"]),
        Route(f"{c}/{{contact}}/photo", get_photo),
        Route(f"{c}/{{contact}}/photo/$value", get_photo_value),
        Route(f"{c}/{{contact}}/photo/$value", put_photo_value, methods=["PUT"]),
    ]
    return routes


__all__ = ["contact_routes"]
