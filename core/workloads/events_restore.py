"""Restore of calendar events as of a run: events, a calendar or all calendars, into the original calendars or a
new 'Restored <time>' calendar, in the same or another mailbox; skip those still there, or keep both.

A series comes back whole: its master is created with its recurrence, then each backed-up exception is applied to
the matching new occurrence (by original start) and each occurrence the series did not have at backup time (it had
been cancelled) is deleted. File attachments come back from the write-once store: small ones inline, large ones
through an attachment upload session (pre-authenticated, no token sent). Never split into parts (request.parts must
be 1); the 'Restored <time>' calendar is found or created by name."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import BackupError, GraphNotFound, InvalidRequestError, MalformedResponse, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.events_backup import CALENDAR, EVENT, window
from core.workloads.mail_restore import CONFLICTS, require_user

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
INLINE_LIMIT = 3 * 1024 * 1024  # Graph takes attachments under 3 MB in one POST
CHUNK = 4 * 1024 * 1024


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
    restored_calendar = None
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
        restored_calendar = _calendar(graph, target, report.destination, None)
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
        try:
            if (
                request.conflict == "skip"
                and target == owner
                and restored_calendar is None
                and _exists(graph, target, version.item_id)
            ):
                report.skip(entry)
                continue
            calendar = restored_calendar or _calendar(
                graph, target, path, version.folder_id if target == owner else None
            )
            new_id = _create(services, target, calendar, version, event, exceptions.get(version.item_id, []))
        except (BackupError, ValueError, KeyError) as exc:
            report.fail(version.item_id, exc)
            continue
        report.done(entry, new_id)
    return report


def _exists(graph: GraphClient, user: str, event_id: str) -> bool:
    try:
        graph.get_json(f"{_user(user)}/events/{quote(event_id, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        return False
    return True


def _calendar(graph: GraphClient, user: str, name: str, original_id: str | None) -> str:
    """The original calendar if it still exists, else the calendar of that name, made if missing."""
    if original_id:
        try:
            graph.get_json(f"{_user(user)}/calendars/{quote(original_id, safe='')}", params={"$select": "id"})
            return original_id
        except GraphNotFound:
            pass
    for page in graph.iter_pages(f"{_user(user)}/calendars", params={"$top": "100"}):
        for calendar in page:
            if calendar.get("name") == name:
                return str(calendar["id"])
    created = graph.post_json(f"{_user(user)}/calendars", {"name": name})
    if not isinstance(created.get("id"), str):
        raise MalformedResponse("calendar create answered without an id")
    return created["id"]


def _create(
    services: Services, user: str, calendar: str, version: ItemVersion, event: dict, exceptions: list[dict]
) -> str:
    graph = services.graph
    body = _writable(event)
    created = graph.post_json(f"{_user(user)}/calendars/{quote(calendar, safe='')}/events", body)
    new_id = created.get("id")
    if not isinstance(new_id, str):
        raise MalformedResponse("event create answered without an id")
    extra = json.loads(version.extra) if version.extra else {}
    for attachment in extra.get("attachments", []):
        _attach(services, user, new_id, attachment)
    if event.get("type") == "seriesMaster":
        _shape_series(graph, user, new_id, set(extra.get("instances", [])), exceptions)
    return new_id


def _shape_series(graph: GraphClient, user: str, master: str, kept: set[str], exceptions: list[dict]) -> None:
    """Make the new series look as it did: exceptions applied, cancelled occurrences deleted."""
    url = f"{_user(user)}/events/{quote(master, safe='')}/instances"
    instances = [i for page in graph.iter_pages(url, params={**window(), "$select": "id,originalStart,start"})
                 for i in page]  # fmt: skip
    by_start = {str(i.get("originalStart") or (i.get("start") or {}).get("dateTime")): i["id"] for i in instances}
    for exception in exceptions:
        occurrence = by_start.get(str(exception.get("originalStart")))
        if occurrence is not None:
            changes = {k: exception[k] for k in EXCEPTION_FIELDS if k in exception}
            graph.request("PATCH", f"{_user(user)}/events/{quote(occurrence, safe='')}", json=changes)
    if kept:
        for start, occurrence in by_start.items():
            if start not in kept:
                graph.request("DELETE", f"{_user(user)}/events/{quote(occurrence, safe='')}")


def _attach(services: Services, user: str, event_id: str, attachment: dict[str, Any]) -> None:
    graph = services.graph
    url = f"{_user(user)}/events/{quote(event_id, safe='')}/attachments"
    size = int(attachment.get("size") or 0)
    meta = {"name": attachment.get("name") or "attachment", "contentType": attachment.get("contentType")}
    if size < INLINE_LIMIT:
        data = services.content.read(attachment["sha256"])
        graph.post_json(url, {"@odata.type": "#microsoft.graph.fileAttachment", **meta,
                              "isInline": bool(attachment.get("isInline")),
                              "contentBytes": base64.b64encode(data).decode()})  # fmt: skip
        return
    session = graph.post_json(
        f"{url}/createUploadSession",
        {"AttachmentItem": {"attachmentType": "file", "name": meta["name"], "size": size,
                            "contentType": meta["contentType"], "isInline": bool(attachment.get("isInline"))}},
    )  # fmt: skip
    upload_url = session.get("uploadUrl")
    if not isinstance(upload_url, str):
        raise MalformedResponse("attachment upload session without an uploadUrl")
    offset = 0
    buffer = b""
    for chunk in services.content.iter_chunks(attachment["sha256"]):
        buffer += chunk
        while len(buffer) >= CHUNK:
            offset = _put(graph, upload_url, buffer[:CHUNK], offset, size)
            buffer = buffer[CHUNK:]
    if buffer:
        _put(graph, upload_url, buffer, offset, size)


def _put(graph: GraphClient, upload_url: str, data: bytes, offset: int, size: int) -> int:
    end = offset + len(data) - 1
    graph.request(
        "PUT", upload_url, authenticated=False, content=data,
        headers={"Content-Range": f"bytes {offset}-{end}/{size}", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    return end + 1
