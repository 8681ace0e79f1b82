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

from core.errors import BackupError, GraphConflict, GraphNotFound, InvalidRequestError, MalformedResponse, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.event_attachments import attach_all
from core.workloads.event_attendees import without_attendees
from core.workloads.events_backup import CALENDAR, EVENT, window
from core.workloads.mail_restore import CONFLICTS, require_user
from core.workloads.restore_marker import ExistingKeys, create_once, existing_keys, source_key

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


def select_events(services: Services, request: RestoreRequest, run_id: str) -> list[ItemVersion]:
    """Every event version the request's scope takes (exceptions of a series included: they come back with it);
    NotFoundError when the scope names something the backup does not hold. Reads no content."""
    calendars, versions = _backed_up(services, request, run_id)
    wanted = set(request.item_ids)
    return [v for v in versions if _chosen(request, wanted, v, calendars.get(v.folder_id, v.folder_path))]


def _backed_up(services: Services, request: RestoreRequest, run_id: str) -> tuple[dict[str, str], list[ItemVersion]]:
    """(calendar id -> path, every event version) as of the run, once the scope is known to name only those."""
    calendars = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, CALENDAR, run_id)}
    versions = list(services.catalog.as_of(request.resource, EVENT, run_id))
    missing = set(request.item_ids) - {v.item_id for v in versions}
    if missing:
        raise NotFoundError(f"not in the backup as of run {run_id}: {', '.join(sorted(missing))}")
    if request.folder is not None and request.folder not in calendars.values():
        raise NotFoundError(f"no calendar {request.folder!r} in the backup as of run {run_id}")
    return calendars, versions


def _chosen(request: RestoreRequest, wanted: set[str], version: ItemVersion, path: str) -> bool:
    return request.whole or version.item_id in wanted or (request.folder is not None and path == request.folder)


def restore_events(services: Services, request: RestoreRequest) -> RestoreReport:
    if request.conflict not in CONFLICTS:
        raise InvalidRequestError(f"conflict must be 'skip' or 'keep-both' for events, got {request.conflict!r}")
    if request.parts != 1:
        raise InvalidRequestError("an events restore runs as one part")
    graph, owner = services.graph, request.key.owner
    run_id = services.runs.resolve_point(request.resource, request.run_id, request.at)
    calendars, versions = _backed_up(services, request, run_id)
    wanted = set(request.item_ids)
    events = {v.item_id: json.loads(services.content.read(v.content_hash)) for v in versions}
    target = request.target_owner or owner
    require_user(services, target)
    report = RestoreReport(request.resource, run_id, target, "")
    targets = _Targets(graph, target, request, owner)
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        targets.fixed = _calendar(graph, target, report.destination, None)
    exceptions: dict[str, list[dict]] = {}
    for event in events.values():
        if event.get("type") == "exception" and event.get("seriesMasterId") in events:
            exceptions.setdefault(event["seriesMasterId"], []).append(event)
    for version in sorted(versions, key=lambda v: (v.folder_path, v.received, v.item_id)):
        event = events[version.item_id]
        path = calendars.get(version.folder_id, version.folder_path)
        if not _chosen(request, wanted, version, path):
            continue
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
    found = _named_calendar(graph, user, name)
    if found is not None:
        return found
    try:  # a repeated create answers 409 (a calendar of that name exists): safe to send again
        created = graph.post_json(f"{_user(user)}/calendars", {"name": name}, replay_safe=True)
    except GraphConflict:  # made meanwhile, or by the first of two tries whose answer was lost
        found = _named_calendar(graph, user, name)
        if found is None:
            raise
        return found
    if not isinstance(created.get("id"), str):
        raise MalformedResponse("calendar create answered without an id")
    return created["id"]


def _named_calendar(graph: GraphClient, user: str, name: str) -> str | None:
    for page in graph.iter_pages(f"{_user(user)}/calendars", params={"$top": "100"}):
        for calendar in page:
            if calendar.get("name") == name:
                return str(calendar["id"])
    return None


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
