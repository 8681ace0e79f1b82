"""Graph v1.0 calendar routes: calendars, events (single, series masters, occurrences, exceptions), instances,
calendarView and calendarView delta (the event delta v1.0 documents), create/update/delete/cancel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, overload

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from graphsim import extended_properties as ext
from graphsim.delta_links import delta_response, function_routes, tokens_of
from graphsim.delta_rounds import SyncStateNotFound
from graphsim.errors import GraphError
from graphsim.ids import opaque_id
from graphsim.odata import context, qp
from graphsim.pim.attachment_routes import attachment_routes
from graphsim.pim.calendar_store import DEFAULT_PROPS, Calendar, CalendarStore, Event, Instance, normalize_prop
from graphsim.pim.common import now, parse_graph_dt, parse_query_dt
from graphsim.pim.contact_routes import fault_page, json_body, page_size, paged, pim_of, service, with_expanded
from graphsim.pim.meeting_mail import announce, announce_update, attendees_of
from graphsim.pim.recurrence import normalize
from graphsim.pim.seed import new_event
from graphsim.simulator import Context, graph_route
from graphsim.tenant import User

NOT_FOUND = "The specified object was not found in the store."
READ_ONLY = {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "iCalUId", "type", "seriesMasterId",
             "hasAttachments", "bodyPreview", "webLink", "organizer", "originalStart", "responseStatus", "isOrganizer",
             "isCancelled", "locations", "originalStartTimeZone", "originalEndTimeZone", "transactionId",
             "onlineMeeting", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals",
             "isDraft", "hideAttendees", "attachments"}  # fmt: skip
NOT_ON_DELTA = ("$select", "$filter", "$orderby", "$expand", "$search")


def store_of(ctx: Context) -> CalendarStore:
    return pim_of(ctx).calendar


class PageOfInstances(Sequence[dict[str, Any]]):
    """A listing's instances as paged() reads them (its length, then one $top slice): each page serializes only
    its own instances, not every occurrence in the window again for every page. Same items, same order."""

    def __init__(self, instances: list[Instance]) -> None:
        self._instances = instances

    def __len__(self) -> int:
        return len(self._instances)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [i.to_json() for i in self._instances[index]]
        return self._instances[index].to_json()


def owner(ctx: Context) -> dict[str, str]:
    assert ctx.user is not None
    return {"name": ctx.user.display_name, "address": ctx.user.mail or ctx.user.user_principal_name}


def calendar_of(store: CalendarStore, request: Request) -> Calendar:
    ref = request.path_params.get("calendar")
    calendar = store.calendars.get(ref or store.default_id)
    if calendar is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return calendar


def event_of(store: CalendarStore, request: Request) -> Event | Instance:
    found = store.lookup(request.path_params["event"])
    if found is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return found


def window(request: Request) -> tuple[dt.datetime, dt.datetime]:
    lo = parse_query_dt(qp(request, "startDateTime"), "startDateTime")
    hi = parse_query_dt(qp(request, "endDateTime"), "endDateTime")
    if hi <= lo:
        raise GraphError(400, "ErrorInvalidParameter", "endDateTime must be later than startDateTime.")
    return lo, hi


# --- calendars ---
@graph_route("calendars")
async def list_calendars(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    return paged(request, "calendars", [c.to_json(owner(ctx)) for c in store.calendars.values()])


@graph_route("calendars")
async def get_calendar(request: Request, ctx: Context) -> Response:
    calendar = calendar_of(store_of(ctx), request)
    return JSONResponse({"@odata.context": context(request, "calendars/$entity"), **calendar.to_json(owner(ctx))})


@graph_route("pim_create")
async def create_calendar(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "The name property is required.")
    if any(c.name.lower() == name.lower() for c in store.calendars.values()):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    assert ctx.user is not None
    cid = opaque_id("AAMkA", ctx.sim.seed, ctx.user.id, "calendar", "added", service(ctx).next_number())
    calendar = store.add_calendar(Calendar(cid, name, color=str(body.get("color") or "auto")))
    return JSONResponse({"@odata.context": context(request, "calendars/$entity"), **calendar.to_json(owner(ctx))},
                        status_code=201)  # fmt: skip


# --- events ---
@graph_route("events")
async def list_events(request: Request, ctx: Context) -> Response:
    """Single events and series masters (occurrences are not expanded here), in creation order."""
    store = store_of(ctx)
    calendar = calendar_of(store, request)  # /users/{id}/events: the default calendar
    events = [e for e in store.events.values() if e.calendar_id == calendar.id]
    return paged(request, "Collection(event)", [e.to_json() for e in events], extended=[e.extended for e in events])


@graph_route("events")
async def get_event(request: Request, ctx: Context) -> Response:
    found = event_of(store_of(ctx), request)
    body = found.to_json()
    if isinstance(found, Event):
        body = with_expanded(body, found.extended, ext.expanded(request))
    return JSONResponse({"@odata.context": context(request, "events/$entity"), **body})


def apply_changes(event: Event, body: dict[str, Any], store: CalendarStore, master_ok: bool) -> None:
    for key, value in body.items():
        if key.startswith("@") or key in READ_ONLY:
            continue
        if key in DEFAULT_PROPS:
            event.props[key] = normalize_prop(key, value)
        elif key == "singleValueExtendedProperties":  # kept beside the event's properties, not in its JSON
            event.extended.update(ext.parse({key: value}))
        elif key == "start":
            event.start, event.start_tz = parse_graph_dt(value, "start"), str(value.get("timeZone") or "UTC")
        elif key == "end":
            event.end, event.end_tz = parse_graph_dt(value, "end"), str(value.get("timeZone") or "UTC")
        elif key == "recurrence":
            if not master_ok:
                raise GraphError(400, "ErrorInvalidRequest", "An occurrence or exception cannot have a recurrence.")
            recurrence = normalize(value)
            if recurrence is not None and event.type == "singleInstance":
                event.type = "seriesMaster"
            elif recurrence is None and event.type == "seriesMaster":
                raise GraphError(
                    400, "ErrorInvalidRequest", "Removing a recurrence is not supported; delete the series."
                )
            if event.type == "seriesMaster" and recurrence != event.recurrence:
                before = store.instance_ids(event)
                for gone in list(event.exceptions.values()):
                    store.exceptions.pop(gone, None)
                event.exceptions.clear()
                event.cancelled.clear()
                event.recurrence = recurrence
                store.log_series_removed(event, before)
        else:
            raise GraphError(400, "ErrorInvalidProperty", f"The property '{key}' does not exist on type "
                             "'Microsoft.OutlookServices.Event'.")  # fmt: skip
    if event.end < event.start:
        raise GraphError(400, "ErrorInvalidRequest", "The end of the event is before its start.")


def create_event(ctx: Context, store: CalendarStore, calendar: Calendar, body: dict[str, Any]) -> Event:
    user = ctx.user
    assert isinstance(user, User)
    if "start" not in body or "end" not in body:
        raise GraphError(400, "ErrorInvalidRequest", "The start and end properties are required.")
    eid = opaque_id("AAMkA", ctx.sim.seed, user.id, "event", "added", service(ctx).next_number())
    start, end = parse_graph_dt(body["start"], "start"), parse_graph_dt(body["end"], "end")
    event = new_event(store, eid, calendar.id, user, "", start, end)
    event.created = event.modified = now()
    recurrence = normalize(body.get("recurrence"))
    apply_changes(event, {k: v for k, v in body.items() if k != "recurrence"}, store, master_ok=True)
    if recurrence is not None:
        event.type, event.recurrence = "seriesMaster", recurrence
    return store.insert(event)


@graph_route("pim_create")
async def post_event(request: Request, ctx: Context) -> Response:
    """Graph "Create event": an event created with attendees sends each of them a meeting request."""
    store = store_of(ctx)
    event = create_event(ctx, store, calendar_of(store, request), await json_body(request))
    announce(ctx, event, "request")
    return JSONResponse({"@odata.context": context(request, "events/$entity"), **event.to_json()}, status_code=201)


def patch(store: CalendarStore, found: Event | Instance, body: dict[str, Any]) -> Event:
    """Update an event; on an occurrence this makes it an exception (same id)."""
    if isinstance(found, Instance):
        assert found.original is not None
        found = store.make_exception(found.event, found.original, now())
    apply_changes(found, body, store, master_ok=found.type != "exception")
    store.touch(found, now())
    return found


@graph_route("pim_update")
async def patch_event(request: Request, ctx: Context) -> Response:
    """Graph "Update event": updating a meeting (or one occurrence) sends its attendees an update."""
    store = store_of(ctx)
    found, body = event_of(store, request), await json_body(request)
    before = attendees_of(found)
    event = patch(store, found, body)
    announce_update(ctx, event, before, body)
    return JSONResponse({"@odata.context": context(request, "events/$entity"), **event.to_json()})


def remove(store: CalendarStore, found: Event | Instance) -> None:
    """Delete an event or a whole series; an occurrence or exception is cancelled (left out of the series)."""
    if isinstance(found, Instance):
        assert found.original is not None
        store.cancel_occurrence(found.event, found.original)
    elif found.type == "exception":
        master = store.events[found.series_master_id or ""]
        assert found.original_start is not None
        store.cancel_occurrence(master, found.original_start)
    else:
        store.delete(found)


@graph_route("pim_delete")
async def delete_event(request: Request, ctx: Context) -> Response:
    """Graph "Delete event": deleting a meeting (or one occurrence) on the organizer's calendar sends its attendees a
    cancellation."""
    store = store_of(ctx)
    found = event_of(store, request)
    announce(ctx, found, "cancel")
    remove(store, found)
    return Response(status_code=204)


@graph_route("pim_delete")
async def cancel_event(request: Request, ctx: Context) -> Response:
    """POST /events/{id}/cancel (organizer only; every event here is organised by its owner): 202 Accepted. Graph
    "event: cancel": the attendees are sent a cancellation."""
    store = store_of(ctx)
    found = event_of(store, request)
    raw = await request.body()
    if raw:
        await json_body(request)
    announce(ctx, found, "cancel")
    remove(store, found)
    return Response(status_code=202)


@graph_route("instances")
async def list_instances(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    found = event_of(store, request)
    if not isinstance(found, Event) or found.type != "seriesMaster":
        raise GraphError(400, "ErrorInvalidRequest", "The instances of a non-recurring event cannot be listed.")
    lo, hi = window(request)
    instances = [i for i in store.series(found, lo, hi) if i.start < hi]
    return paged(request, "Collection(event)", PageOfInstances(instances))


@graph_route("events")
async def calendar_view(request: Request, ctx: Context) -> Response:
    store = store_of(ctx)
    lo, hi = window(request)
    return paged(request, "Collection(event)", PageOfInstances(store.view(calendar_of(store, request).id, lo, hi)))


# --- calendarView delta ---
def view_entries(store: CalendarStore, calendar_id: str, lo: dt.datetime, hi: dt.datetime,
                 watermark: int | None) -> list[dict[str, Any]]:  # fmt: skip
    """A full round: everything in the view. An incremental one: what changed in it since the watermark, plus, as
    @removed "deleted", items deleted since then and single events / exceptions changed outside the window."""
    inside = store.view(calendar_id, lo, hi)
    if watermark is None:
        return [i.to_json() for i in inside]
    entries = [i.to_json() for i in inside if i.seq > watermark]
    present = {i.id for i in inside}
    removed: list[str] = []
    outside = [*store.events.values(), *store.exceptions.values()]
    for event in outside:
        changed = event.calendar_id == calendar_id and event.type != "seriesMaster" and event.seq > watermark
        if changed and event.id not in present:
            removed.append(event.id)
    removed += [r.item_id for r in store.log.removed_since(watermark, calendar_id)]
    seen: set[str] = set()
    for item_id in removed:
        if item_id in present or item_id in seen:
            continue
        seen.add(item_id)
        entries.append({"@odata.type": "#microsoft.graph.event", "id": item_id, "@removed": {"reason": "deleted"}})
    return entries


@graph_route("events_delta")
async def calendar_view_delta(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None and ctx.user.mailbox is not None
    mailbox, store = ctx.user.mailbox, store_of(ctx)
    calendar = calendar_of(store, request)
    size, headers = page_size(request)
    broken = fault_page(ctx, request, calendar.id, headers, "Collection(event)")
    if broken is not None:
        return broken
    engine, scope = service(ctx).delta, f"view:{calendar.id}"
    try:
        skip, delta_token = tokens_of(request, ctx.sim.sealer)
        if skip:
            round_, offset = engine.resolve_skip(skip, mailbox, scope)
        elif delta_token:
            state = engine.resolve_delta(delta_token, mailbox, scope)
            # The window is the one the round chain started with: "These tokens are state tokens that encode the
            # startDateTime and endDateTime parameters, and any other query parameter in your initial delta query
            # GET request" (https://learn.microsoft.com/graph/delta-query-events,
            # https://learn.microsoft.com/graph/api/event-delta). A delta link never moves the window: only a new
            # initial request does.
            lo, hi = dt.datetime.fromisoformat(state["x"]["a"]), dt.datetime.fromisoformat(state["x"]["b"])
            entries = view_entries(store, calendar.id, lo, hi, int(state["w"]))
            round_, offset = engine.new_round(mailbox, scope, entries, store.log.seq, None, state["x"]), 0
        else:
            unsupported = [p for p in NOT_ON_DELTA if qp(request, p) is not None]
            if unsupported:
                raise GraphError(400, "ErrorInvalidUrlQuery", "The following parameters are not supported with "
                                 f"change tracking over the 'CalendarView' resource: '{unsupported[0]}'.")  # fmt: skip
            lo, hi = window(request)
            extra = {"a": lo.isoformat(), "b": hi.isoformat()}
            entries = view_entries(store, calendar.id, lo, hi, None)
            round_, offset = engine.new_round(mailbox, scope, entries, store.log.seq, None, extra), 0
    except SyncStateNotFound as exc:
        raise GraphError(410, "SyncStateNotFound", str(exc), headers) from None
    return delta_response(request, request.url.path, engine.page(round_, offset, size), "Collection(event)", headers)


@graph_route("events_delta")
async def events_delta_beta_only(request: Request, ctx: Context) -> Response:
    raise GraphError(400, "BadRequest", "Delta on /events is available in beta only; in v1.0 use "
                     "/calendarView/delta?startDateTime=...&endDateTime=... (per calendar).")  # fmt: skip


def calendar_routes() -> list[BaseRoute]:
    u = "/v1.0/users/{user}"
    routes: list[BaseRoute] = [
        Route(f"{u}/calendars", list_calendars),
        Route(f"{u}/calendars", create_calendar, methods=["POST"]),
        Route(f"{u}/calendar", get_calendar),
    ]
    for base in (f"{u}/calendars/{{calendar}}", f"{u}/calendar", u):
        routes += [
            Route(f"{base}/calendarView/delta", calendar_view_delta),
            Route(function_routes(f"{base}/calendarView/delta"), calendar_view_delta),
            Route(f"{base}/calendarview/delta", calendar_view_delta),
            Route(f"{base}/calendarView", calendar_view),
            Route(f"{base}/calendarview", calendar_view),
            Route(f"{base}/events/delta", events_delta_beta_only),
            Route(f"{base}/events", list_events),
            Route(f"{base}/events", post_event, methods=["POST"]),
        ]
    routes.append(Route(f"{u}/calendars/{{calendar}}", get_calendar))
    routes += attachment_routes()
    for base in (f"{u}/events/{{event}}", f"{u}/calendars/{{calendar}}/events/{{event}}",
                 f"{u}/calendar/events/{{event}}"):  # fmt: skip
        routes += [
            Route(f"{base}/instances", list_instances),
            Route(f"{base}/cancel", cancel_event, methods=["POST"]),
            Route(base, get_event),
            Route(base, patch_event, methods=["PATCH"]),
            Route(base, delete_event, methods=["DELETE"]),
        ]
    return routes


__all__ = ["calendar_routes"]
