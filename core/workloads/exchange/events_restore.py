"""Restore of calendar events as of a run: events, a calendar or all calendars, into the original calendars or a
new 'Restored <time>' calendar, in the same or another mailbox; skip those already there, or keep both.

A series comes back whole: its master is created with its recurrence, then each backed-up exception is applied to
the matching new occurrence (by original start) and each occurrence the series did not have at backup time (it had
been cancelled) is deleted. File attachments come back from the write-once store (event_attachments.py). Never split
into parts (request.parts must be 1); the 'Restored <time>' calendar is found or created by name.

Never announce: meetings come back without their attendees unless the request asks for invitations to be sent
(event_attendees.py). Never twice: every event is created through restore_marker.create_once (marked with its
identity in the backup; a create whose outcome is unknown is looked up before it is sent again), and "skip" reads
each target calendar's keys once, so an original still there, or a copy an earlier restore made, is skipped, in
the original calendars, a 'Restored <time>' calendar or another mailbox alike."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import BackupError, GraphNotFound, InvalidRequestError, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.base import Selected
from core.workloads.ensure_container import child_named, ensure_child
from core.workloads.exchange.event_attachments import attach_all
from core.workloads.exchange.event_attendees import without_attendees
from core.workloads.exchange.events_backup import CALENDAR, EVENT, window
from core.workloads.exchange.restore_marker import ExistingKeys, create_once, existing_keys, source_key
from core.workloads.selection_reads import items_by_id, own_paths_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient

READ_ONLY = {
    "id", "changeKey", "createdDateTime", "lastModifiedDateTime", "iCalUId", "type", "seriesMasterId",
    "hasAttachments", "bodyPreview", "webLink", "organizer", "originalStart", "responseStatus", "isOrganizer",
    "isCancelled", "originalStartTimeZone", "originalEndTimeZone", "transactionId", "onlineMeeting",
    "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "isDraft",
    "hideAttendees", "attachments", "locations", "occurrenceId", "cancelledOccurrences", "exceptionOccurrences",
}  # fmt: skip
EXCEPTION_FIELDS = ("subject", "body", "start", "end", "location", "attendees", "isAllDay", "showAs", "importance",
                    "sensitivity", "categories", "isReminderOn", "reminderMinutesBeforeStart")  # fmt: skip


def _writable(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in READ_ONLY and not k.startswith("@")}


def _user(user: str) -> str:
    return f"users/{quote(user, safe='')}"


def select_events(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, calendar path as of the run) of every event the request's scope takes; NotFoundError when the
    scope names something the backup does not hold. A series comes with its exceptions, and an exception asked for
    brings its series (Graph makes an exception by changing an occurrence of its series, so an exception cannot be
    created on its own). Item ids are read by id (each event, the series of an exception, their calendars); only a
    series among them costs a scan, of its own calendar, for its exceptions."""
    if not request.item_ids:
        calendars = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, CALENDAR, run_id)}
        if request.folder is not None and request.folder not in calendars.values():
            raise NotFoundError(f"no calendar {request.folder!r} in the backup as of run {run_id}")
        selected = []
        for version in services.catalog.as_of(request.resource, EVENT, run_id):
            path = calendars.get(version.folder_id, version.folder_path)
            if request.whole or path == request.folder:
                selected.append((version, path))
        return selected
    versions = {v.item_id: v for v in items_by_id(services, request, EVENT, run_id)}
    masters = {k for k, v in versions.items() if _is_series(v)}
    for version in list(versions.values()):
        master = _master_of(services, version)
        if master is not None and master not in versions:
            found = services.catalog.version_as_of(request.resource, EVENT, master, run_id)
            if found is not None:
                versions[master] = found
                masters.add(master)
    for calendar in sorted({versions[m].folder_id for m in masters}):
        for version in services.catalog.as_of(request.resource, EVENT, run_id, folder_ids=[calendar]):
            if version.item_id not in versions and _master_of(services, version) in masters:
                versions[version.item_id] = version
    paths = own_paths_by_id(services, request.resource, CALENDAR, run_id, (v.folder_id for v in versions.values()))
    return [(v, paths.get(v.folder_id, v.folder_path)) for v in versions.values()]


def _is_series(version: ItemVersion) -> bool:
    """A series master records the start of each of its instances (events_backup._fetch)."""
    return '"instances"' in version.extra


def _master_of(services: Services, version: ItemVersion) -> str | None:
    """The series master id of an exception (read from its content), None for any other event."""
    if _is_series(version):
        return None
    event = json.loads(services.content.read(version.content_hash))
    master = event.get("seriesMasterId") if event.get("type") == "exception" else None
    return master if isinstance(master, str) and master else None


def restore_events(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` (what the request selects: a series with its exceptions) as of the run the request is
    pinned to; the point, the conflict policy and the target were checked once, by validate_restore."""
    if request.parts != 1:
        raise InvalidRequestError("an events restore runs as one part")
    graph, owner = services.graph, request.key.owner
    run_id = str(request.run_id)
    events = {v.item_id: json.loads(services.content.read(v.content_hash)) for v, _ in items}
    target = request.target_owner or owner
    report = RestoreReport(request.resource, run_id, target, "")
    targets = _Targets(graph, target, request, owner)
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        targets.fixed = _calendar(graph, target, report.destination, None)
    exceptions: dict[str, list[dict]] = {}
    along: list[str] = []  # the exceptions restored with their series
    for item_id, event in events.items():
        if event.get("type") == "exception" and event.get("seriesMasterId") in events:
            exceptions.setdefault(event["seriesMasterId"], []).append(event)
            along.append(item_id)
    for version, path in sorted(items, key=lambda vp: (vp[0].folder_path, vp[0].received, vp[0].item_id)):
        event = events[version.item_id]
        if event.get("type") == "exception" and event.get("seriesMasterId") in events:
            continue  # an exception comes back with its series
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash, "new_id": ""}
        source = source_key(request.resource, EVENT, version.item_id)
        try:
            calendar = targets.calendar(path, version.folder_id)
            keys = targets.keys(calendar)
            if keys is not None and keys.holds(source, version.item_id):
                report.skip(entry)
                continue
            new_id, omitted = _create(
                services, request, target, calendar, source, version, event, exceptions.get(version.item_id, [])
            )
        except (BackupError, ValueError, KeyError) as exc:
            report.fail(version.item_id, exc)
            continue
        if keys is not None:
            keys.add(source, new_id)
        if omitted:
            entry["attendees_omitted"] = str(omitted)
        report.done(entry, new_id)
    for item_id in along:
        report.came_with(item_id)
    return report


class _Targets:
    """Where each event goes (its calendar, found once per path) and, for "skip", what each target calendar
    already holds (read once per calendar, then kept up to date with what this restore adds)."""

    def __init__(self, graph: GraphClient, user: str, request: RestoreRequest, owner: str) -> None:
        self.graph, self.user, self.skip = graph, user, request.conflict == "skip"
        self.same_mailbox = user == owner
        self.fixed: str | None = None  # the 'Restored <time>' calendar, when restoring into one
        self._calendars: dict[tuple[str, str], str] = {}
        self._keys: dict[str, ExistingKeys] = {}

    def calendar(self, path: str, original_id: str) -> str:
        if self.fixed is not None:
            return self.fixed
        key = (path, original_id)
        if key not in self._calendars:
            self._calendars[key] = _calendar(self.graph, self.user, path, original_id if self.same_mailbox else None)
        return self._calendars[key]

    def keys(self, calendar: str) -> ExistingKeys | None:
        if not self.skip:
            return None
        if calendar not in self._keys:
            self._keys[calendar] = existing_keys(self.graph, _events_url(self.user, calendar))
        return self._keys[calendar]


def _events_url(user: str, calendar: str) -> str:
    return f"{_user(user)}/calendars/{quote(calendar, safe='')}/events"


def _calendar(graph: GraphClient, user: str, name: str, original_id: str | None) -> str:
    """The original calendar if it still exists, else the calendar of that name, made if missing."""
    if original_id:
        try:
            graph.get_json(f"{_user(user)}/calendars/{quote(original_id, safe='')}", params={"$select": "id"})
            return original_id
        except GraphNotFound:
            pass
    calendars = f"{_user(user)}/calendars"
    found, _made = ensure_child(
        lambda: child_named(
            [c for page in graph.iter_pages(calendars, params={"$top": "100"}) for c in page], name, field="name"
        ),
        lambda: graph.post_json(calendars, {"name": name}, replay_safe=True),  # a repeat answers 409
        what="calendar",
    )
    return found


def _create(
    services: Services,
    request: RestoreRequest,
    user: str,
    calendar: str,
    source: str,
    version: ItemVersion,
    event: dict,
    exceptions: list[dict],
) -> tuple[str, int]:
    """The new event's id, and how many attendees it was created without (0 when they were invited)."""
    graph = services.graph
    body, omitted = _writable(event), 0
    if not request.notify_attendees:
        body, omitted = without_attendees(body, event, create=True)
    new_id = str(create_once(graph, _events_url(user, calendar), body, source)["id"])
    extra = json.loads(version.extra) if version.extra else {}
    attach_all(services, user, new_id, extra.get("attachments", []))
    if event.get("type") == "seriesMaster":
        kept = set(extra.get("instances", []))
        settings = services.settings
        span = extra.get("window") or window(past_days=settings.calendar_past_days,
                                             future_days=settings.calendar_future_days)  # fmt: skip
        _shape_series(graph, user, new_id, kept, exceptions, request.notify_attendees, span)
    return new_id, omitted


def _shape_series(
    graph: GraphClient,
    user: str,
    master: str,
    kept: set[str],
    exceptions: list[dict],
    notify: bool,
    span: dict[str, str],
) -> None:
    """Make the new series look as it did: exceptions applied, cancelled occurrences deleted. Both are replay-safe
    (PATCH sets the same values again; a DELETE repeated after its answer was lost finds the occurrence gone).
    The new series' instances are listed over `span`, the window the backed-up instances were listed in: an
    occurrence outside it was never known to the backup, so it is not taken for a cancelled one."""
    url = f"{_user(user)}/events/{quote(master, safe='')}/instances"
    params = {"startDateTime": span["startDateTime"], "endDateTime": span["endDateTime"],
              "$select": "id,originalStart,start"}  # fmt: skip
    instances = [i for page in graph.iter_pages(url, params=params) for i in page]
    by_start = {str(i.get("originalStart") or (i.get("start") or {}).get("dateTime")): i["id"] for i in instances}
    for exception in exceptions:
        occurrence = by_start.get(str(exception.get("originalStart")))
        if occurrence is not None:
            changes = {k: exception[k] for k in EXCEPTION_FIELDS if k in exception}
            if not notify:
                changes, _ = without_attendees(changes, exception, create=False)
            graph.request("PATCH", f"{_user(user)}/events/{quote(occurrence, safe='')}", json=changes)
    if kept:
        for start, occurrence in by_start.items():
            if start not in kept:
                try:
                    graph.request("DELETE", f"{_user(user)}/events/{quote(occurrence, safe='')}")
                except GraphNotFound:
                    pass  # already deleted: the first try landed, its answer was lost
