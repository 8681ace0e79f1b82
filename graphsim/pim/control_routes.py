"""/_sim control API for contacts and calendars (not Graph; no auth): change contacts, photos, events, series
occurrences and attachments, and the per-user contacts/calendar part of /_sim/state."""

from __future__ import annotations

import base64
import datetime as dt
import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim.control_api import control, control_body, mailbox_user
from graphsim.errors import GraphError
from graphsim.pim.attachment_routes import add_attachment
from graphsim.pim.calendar_routes import create_event, patch, remove
from graphsim.pim.calendar_store import CalendarStore, Event, Instance
from graphsim.pim.common import Blob, iso_z, now
from graphsim.pim.contact_routes import create_contact_folder, new_contact, update_contact
from graphsim.pim.contact_store import Contact, Photo
from graphsim.pim.seed import jpeg_bytes
from graphsim.pim.service import PimService, UserPim
from graphsim.simulator import Context, Simulator
from graphsim.tenant import User


def _pim(request: Request) -> tuple[Simulator, User, UserPim]:
    sim: Simulator = request.app.state.sim
    user, _ = mailbox_user(sim, request.path_params["user"])
    pim: PimService = sim.pim  # type: ignore[attr-defined]
    return sim, user, pim.of(user.id)


def pim_state(sim: Simulator, user: User) -> dict[str, Any]:
    """contact_folders, contacts, calendars and events of one mailbox user for /_sim/state."""
    pim: PimService = sim.pim  # type: ignore[attr-defined]
    if user.id not in pim.users:
        return {}
    u = pim.of(user.id)
    cs, ks = u.contacts, u.calendar
    folders = [{"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id, "path": cs.folder_path(f),
                "wellKnownName": f.well_known, "totalItemCount": len(f.contact_ids)}
               for f in cs.folders.values()]  # fmt: skip
    calendars = [{"id": c.id, "name": c.name, "isDefaultCalendar": c.is_default, "color": c.color}
                 for c in ks.calendars.values()]  # fmt: skip
    events = [ks.summary(e) for e in ks.events.values()] + [ks.summary(e) for e in ks.exceptions.values()]
    return {"contact_folders": folders, "contacts": [c.summary() for c in cs.contacts.values()],
            "calendars": calendars, "events": events}  # fmt: skip


def _contact(u: UserPim, cid: str) -> Contact:
    contact = u.contacts.contacts.get(cid)
    if contact is None:
        raise GraphError(404, "NotFound", f"no contact {cid!r}")
    return contact


@control
async def list_pim(request: Request) -> Response:
    sim, user, _ = _pim(request)
    return JSONResponse(pim_state(sim, user))


@control
async def add_contact(request: Request) -> Response:
    sim, user, u = _pim(request)
    body = await control_body(request)
    folder = u.contacts.resolve_folder(str(body.get("folder") or "contacts"))
    if folder is None:
        raise GraphError(404, "NotFound", f"no contact folder {body.get('folder')!r}")
    n = sim.pim.next_number()  # type: ignore[attr-defined]
    props = body.get("properties") or {"givenName": "Added", "surname": f"Contact {n}",
                                       "emailAddresses": [{"address": f"added{n}@example.com"}]}  # fmt: skip
    contact = new_contact(Context(sim, user), u.contacts, folder, props)
    if body.get("photo"):
        data = base64.b64decode(body["photo"]) if isinstance(body["photo"], str) else jpeg_bytes(random.Random(n))
        contact.photo = Photo(data)
    return JSONResponse(contact.summary(), status_code=201)


@control
async def change_contact(request: Request) -> Response:
    _, _, u = _pim(request)
    contact = _contact(u, request.path_params["contact"])
    update_contact(u.contacts, contact, (await control_body(request)).get("properties") or {})
    return JSONResponse(contact.summary())


@control
async def drop_contact(request: Request) -> Response:
    _, _, u = _pim(request)
    u.contacts.delete(_contact(u, request.path_params["contact"]))
    return Response(status_code=204)


@control
async def set_photo(request: Request) -> Response:
    _, _, u = _pim(request)
    contact = _contact(u, request.path_params["contact"])
    body = await control_body(request)
    if body.get("photo_base64"):
        contact.photo = Photo(base64.b64decode(body["photo_base64"]), str(body.get("content_type") or "image/jpeg"))
    elif body.get("remove"):
        contact.photo = None
    else:
        contact.photo = Photo(jpeg_bytes(random.Random(f"{contact.id}:{contact.version}"), int(body.get("size", 3000))))
    u.contacts.touch(contact, now())
    return JSONResponse(contact.summary())


@control
async def add_contact_folder(request: Request) -> Response:
    sim, user, u = _pim(request)
    body = await control_body(request)
    parent = body.get("parent")
    parent_folder = u.contacts.resolve_folder(str(parent)) if parent else None
    if parent and parent_folder is None:
        raise GraphError(404, "NotFound", f"no contact folder {parent!r}")
    folder = create_contact_folder(Context(sim, user), u.contacts,
                                   parent_folder.id if parent_folder else u.contacts.root_id,
                                   str(body["displayName"]))  # fmt: skip
    return JSONResponse({**folder.to_json(), "path": u.contacts.folder_path(folder)}, status_code=201)


@control
async def change_contact_folder(request: Request) -> Response:
    """A contact folder renamed ({"displayName"}), or with DELETE deleted with its child folders and contacts."""
    _, _, u = _pim(request)
    folder = u.contacts.resolve_folder(request.path_params["folder"])
    if folder is None:
        raise GraphError(404, "NotFound", f"no contact folder {request.path_params['folder']!r}")
    if request.method == "DELETE":
        u.contacts.delete_folder(folder)
        return Response(status_code=204)
    body = await control_body(request)
    u.contacts.rename_folder(folder, str(body["displayName"]))
    return JSONResponse({**folder.to_json(), "path": u.contacts.folder_path(folder)})


def _when(value: Any, default: dt.datetime) -> dict[str, str]:
    if value is None:
        moment = default
    else:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return {"dateTime": moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _event_body(body: dict[str, Any], start_default: dt.datetime | None = None) -> dict[str, Any]:
    """Control bodies take plain ISO start/end; everything else is passed through as Graph event JSON."""
    out = {k: v for k, v in body.items() if k not in ("calendar", "start", "end")}
    if start_default is not None or "start" in body:
        start = _when(body.get("start"), start_default or now())
        out["start"] = start
        default_end = dt.datetime.fromisoformat(start["dateTime"]).replace(tzinfo=dt.UTC) + dt.timedelta(minutes=30)
        out["end"] = _when(body.get("end"), default_end)
    elif "end" in body:
        out["end"] = _when(body["end"], now())
    return out


def _found(store: CalendarStore, eid: str) -> Event | Instance:
    found = store.lookup(eid)
    if found is None:
        raise GraphError(404, "NotFound", f"no event {eid!r}")
    return found


def _occurrence(store: CalendarStore, master: Event | Instance, body: dict[str, Any]) -> Instance:
    """An occurrence of a series by `index` (0-based, in pattern order, cancelled ones counted) or `original_start`."""
    if not isinstance(master, Event) or master.type != "seriesMaster":
        raise GraphError(400, "BadRequest", "not a series master")
    wanted = body.get("original_start")
    candidates = [i for i in store.series(master, None, None, cap=520) if i.original is not None]
    for inst in candidates:
        if (wanted is not None and iso_z(inst.original) == iso_z(_parse(wanted))) or (  # type: ignore[arg-type]
            wanted is None and _index_of(store, master, inst) == int(body.get("index", 0))
        ):
            return inst
    raise GraphError(404, "NotFound", "no such (unchanged) occurrence")


def _parse(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _index_of(store: CalendarStore, master: Event, inst: Instance) -> int:
    from graphsim.pim.recurrence import original_starts

    assert master.recurrence is not None and inst.original is not None
    starts = list(original_starts(master.recurrence, master.start, inst.original + dt.timedelta(seconds=1)))
    return len(starts) - 1


@control
async def add_event(request: Request) -> Response:
    sim, user, u = _pim(request)
    body = await control_body(request)
    store = u.calendar
    calendar = store.calendars.get(str(body.get("calendar") or store.default_id))
    if calendar is None:
        raise GraphError(404, "NotFound", f"no calendar {body.get('calendar')!r}")
    n = sim.pim.next_number()  # type: ignore[attr-defined]
    graph_body = _event_body({"subject": f"Added event {n}", **body}, now() + dt.timedelta(days=1))
    event = create_event(Context(sim, user), store, calendar, graph_body)
    return JSONResponse(store.summary(event), status_code=201)


@control
async def change_event(request: Request) -> Response:
    _, _, u = _pim(request)
    store = u.calendar
    event = patch(store, _found(store, request.path_params["event"]), _event_body(await control_body(request)))
    return JSONResponse(store.summary(event))


@control
async def drop_event(request: Request) -> Response:
    _, _, u = _pim(request)
    remove(u.calendar, _found(u.calendar, request.path_params["event"]))
    return Response(status_code=204)


@control
async def edit_occurrence(request: Request) -> Response:
    """Body: index | original_start, then subject / body / shift_minutes (moves start and end) / any event JSON."""
    _, _, u = _pim(request)
    store = u.calendar
    body = await control_body(request)
    inst = _occurrence(store, _found(store, request.path_params["event"]), body)
    changes = {k: v for k, v in body.items() if k not in ("index", "original_start", "shift_minutes")}
    shift = dt.timedelta(minutes=int(body.get("shift_minutes", 0)))
    if shift:
        changes["start"] = _when((inst.start + shift).isoformat(), inst.start)
        changes["end"] = _when((inst.end + shift).isoformat(), inst.end)
    exc = patch(store, inst, changes)
    return JSONResponse(store.summary(exc))


@control
async def cancel_occurrence(request: Request) -> Response:
    _, _, u = _pim(request)
    store = u.calendar
    master = _found(store, request.path_params["event"])
    inst = _occurrence(store, master, await control_body(request))
    remove(store, inst)
    assert isinstance(master, Event)
    return JSONResponse({"id": inst.id, "originalStart": iso_z(inst.original or inst.start),
                         "master": store.summary(master)})  # fmt: skip


@control
async def add_event_attachment(request: Request) -> Response:
    """Body: size (generated bytes), optional name, content_type, content_base64."""
    _, _, u = _pim(request)
    store = u.calendar
    found = _found(store, request.path_params["event"])
    event = found.event if isinstance(found, Instance) else found
    body = await control_body(request)
    if body.get("content_base64"):
        blob = Blob.of(base64.b64decode(body["content_base64"]))
    else:
        size = int(body.get("size", 4096))
        key = f"control:{event.id}:{len(event.attachments)}:{size}"
        blob = Blob.of(Blob(size, key=key).read()) if size <= 4 << 20 else Blob(size, key=key)
    att = add_attachment(store, event, str(body.get("name") or f"file-{len(event.attachments) + 1}.bin"),
                         str(body.get("content_type") or "application/octet-stream"), blob)  # fmt: skip
    return JSONResponse(att.summary(), status_code=201)


@control
async def outbox(request: Request) -> Response:
    """GET: the meeting mail sent through Graph (graphsim/pim/meeting_mail.py), oldest first; ?organizer=<user id or
    address> keeps one organizer's. DELETE: forget it."""
    sim: Simulator = request.app.state.sim
    pim: PimService = sim.pim  # type: ignore[attr-defined]
    if request.method == "DELETE":
        pim.outbox.clear()
        return Response(status_code=204)
    entries = pim.outbox
    who = request.query_params.get("organizer")
    if who:
        user, _ = mailbox_user(sim, who)
        addresses = {(user.mail or "").lower(), user.user_principal_name.lower()}
        entries = [e for e in entries if str(e["organizer"]).lower() in addresses]
    return JSONResponse({"value": entries})


def pim_control_routes() -> list[BaseRoute]:
    p = "/_sim/users/{user}"
    return [
        Route("/_sim/outbox", outbox, methods=["GET", "DELETE"]),
        Route(f"{p}/pim", list_pim),
        Route(f"{p}/contacts", add_contact, methods=["POST"]),
        Route(f"{p}/contact-folders", add_contact_folder, methods=["POST"]),
        Route(f"{p}/contact-folders/{{folder}}", change_contact_folder, methods=["PATCH", "DELETE"]),
        Route(f"{p}/contacts/{{contact}}", change_contact, methods=["PATCH"]),
        Route(f"{p}/contacts/{{contact}}", drop_contact, methods=["DELETE"]),
        Route(f"{p}/contacts/{{contact}}/photo", set_photo, methods=["PUT"]),
        Route(f"{p}/events", add_event, methods=["POST"]),
        Route(f"{p}/events/{{event}}", change_event, methods=["PATCH"]),
        Route(f"{p}/events/{{event}}", drop_event, methods=["DELETE"]),
        Route(f"{p}/events/{{event}}/occurrences/edit", edit_occurrence, methods=["POST"]),
        Route(f"{p}/events/{{event}}/occurrences/cancel", cancel_occurrence, methods=["POST"]),
        Route(f"{p}/events/{{event}}/attachments", add_event_attachment, methods=["POST"]),
    ]
