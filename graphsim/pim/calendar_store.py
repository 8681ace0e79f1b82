"""Calendars and events of one user: single events, series masters (expanded on demand into occurrences),
exceptions and cancelled occurrences, file attachments, and the change log calendarView delta reads."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from graphsim.extended_properties import Properties
from graphsim.ids import opaque_id
from graphsim.pim.common import Blob, ChangeLog, canonical_sha256, change_key, graph_dt, iso_z
from graphsim.pim.recurrence import original_starts

SMALL_ATTACHMENT = 3 * 1024 * 1024  # contentBytes are inlined only up to this size (POST limit too)
REMOVAL_CAP = 520  # occurrences logged as removed when a series goes away
DEFAULT_LOCATION = {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {},
                    "coordinates": {}}  # fmt: skip
DEFAULT_PROPS: dict[str, Any] = {
    "subject": "", "body": {"contentType": "html", "content": ""}, "location": DEFAULT_LOCATION, "attendees": [],
    "isAllDay": False, "showAs": "busy", "importance": "normal", "sensitivity": "normal", "categories": [],
    "isReminderOn": True, "reminderMinutesBeforeStart": 15, "responseRequested": True,
}  # fmt: skip
CANONICAL = ("subject", "body", "start", "end", "location", "attendees", "organizer", "isAllDay", "showAs",
             "importance", "sensitivity", "categories", "recurrence", "type", "hasAttachments", "isReminderOn",
             "reminderMinutesBeforeStart", "originalStart")  # fmt: skip
NO_RESPONSE = {"response": "none", "time": "0001-01-01T00:00:00Z"}


def normalize_prop(name: str, value: Any) -> Any:
    if name == "location":
        return {**DEFAULT_LOCATION, **(value if isinstance(value, dict) else {})}
    if name == "body":
        value = value if isinstance(value, dict) else {}
        return {"contentType": str(value.get("contentType") or "html"), "content": str(value.get("content") or "")}
    if name == "attendees":
        out = []
        for a in value or []:
            email = a.get("emailAddress") or {}
            out.append({"type": str(a.get("type") or "required"), "status": dict(a.get("status") or NO_RESPONSE),
                        "emailAddress": {"name": str(email.get("name") or email.get("address") or ""),
                                         "address": str(email.get("address") or "")}})  # fmt: skip
        return out
    if name == "categories":
        return [str(c) for c in value or []]
    if name in ("isAllDay", "isReminderOn", "responseRequested"):
        return bool(value)
    if name == "reminderMinutesBeforeStart":
        return int(value or 0)
    return value if value is None else str(value)


@dataclass
class Attachment:
    id: str
    name: str
    content_type: str
    blob: Blob
    is_inline: bool = False
    modified: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 3, 1, tzinfo=dt.UTC))

    def to_json(self, with_bytes: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.fileAttachment", "@odata.mediaContentType": self.content_type,
            "id": self.id, "lastModifiedDateTime": iso_z(self.modified), "name": self.name,
            "contentType": self.content_type, "size": self.blob.size, "isInline": self.is_inline,
            "contentId": None, "contentLocation": None,
        }  # fmt: skip
        if with_bytes and self.blob.size <= SMALL_ATTACHMENT:
            body["contentBytes"] = base64.b64encode(self.blob.read()).decode("ascii")
        return body

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "contentType": self.content_type, "size": self.blob.size,
                "isInline": self.is_inline, "sha256": self.blob.sha256}  # fmt: skip


@dataclass
class Calendar:
    id: str
    name: str
    color: str = "auto"
    is_default: bool = False
    version: int = 1

    def to_json(self, owner: dict[str, str]) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": self.color, "hexColor": "", "isDefaultCalendar":
                self.is_default, "changeKey": change_key(self.id, self.version), "canShare": True,
                "canViewPrivateItems": True, "canEdit": True, "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": True,
                "isRemovable": not self.is_default, "owner": owner}  # fmt: skip


@dataclass
class Event:
    id: str
    calendar_id: str
    props: dict[str, Any]
    start: dt.datetime
    end: dt.datetime
    organizer: dict[str, Any]
    created: dt.datetime
    modified: dt.datetime
    ical_uid: str
    type: str = "singleInstance"  # singleInstance | seriesMaster | exception
    recurrence: dict[str, Any] | None = None
    series_master_id: str | None = None
    original_start: dt.datetime | None = None
    start_tz: str = "UTC"
    end_tz: str = "UTC"
    version: int = 1
    seq: int = 0
    attachments: dict[str, Attachment] = field(default_factory=dict)
    exceptions: dict[str, str] = field(default_factory=dict)  # original start (iso) -> exception id
    cancelled: set[str] = field(default_factory=set)  # original starts (iso) of cancelled occurrences
    extended: Properties = field(default_factory=dict)  # single-value extended properties (not in its JSON)

    def to_json(self) -> dict[str, Any]:
        p = self.props
        body = {
            "@odata.type": "#microsoft.graph.event", "@odata.etag": f'W/"{change_key(self.id, self.version)}"',
            "id": self.id, "createdDateTime": iso_z(self.created), "lastModifiedDateTime": iso_z(self.modified),
            "changeKey": change_key(self.id, self.version), "categories": list(p["categories"]),
            "transactionId": None, "originalStartTimeZone": self.start_tz, "originalEndTimeZone": self.end_tz,
            "iCalUId": self.ical_uid, "reminderMinutesBeforeStart": p["reminderMinutesBeforeStart"],
            "isReminderOn": p["isReminderOn"], "hasAttachments": bool(self.attachments), "subject": p["subject"],
            "bodyPreview": " ".join(str(p["body"]["content"]).split())[:255], "importance": p["importance"],
            "sensitivity": p["sensitivity"], "isAllDay": p["isAllDay"], "isCancelled": False, "isOrganizer": True,
            "responseRequested": p["responseRequested"], "seriesMasterId": self.series_master_id,
            "showAs": p["showAs"], "type": self.type, "webLink": f"https://outlook.office365.com/owa/?itemid={self.id}",
            "onlineMeetingUrl": None, "isOnlineMeeting": False, "onlineMeetingProvider": "unknown",
            "allowNewTimeProposals": True, "isDraft": False, "hideAttendees": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": dict(p["body"]), "start": graph_dt(self.start), "end": graph_dt(self.end),
            "location": copy.deepcopy(p["location"]), "locations": [copy.deepcopy(p["location"])]
            if p["location"].get("displayName") else [], "recurrence": copy.deepcopy(self.recurrence),
            "attendees": copy.deepcopy(p["attendees"]), "organizer": copy.deepcopy(self.organizer),
            "onlineMeeting": None,
        }  # fmt: skip
        if self.original_start is not None:
            body["originalStart"] = iso_z(self.original_start)
        return body

    def canonical(self) -> dict[str, Any]:
        full = self.to_json()
        return {k: full.get(k) for k in CANONICAL}


def canonical_of(event_json: dict[str, Any]) -> str:
    return canonical_sha256({k: event_json.get(k) for k in CANONICAL})


@dataclass
class Instance:
    """One entry of a calendar view: a single event, an exception, or an occurrence computed from its master."""

    id: str
    start: dt.datetime
    end: dt.datetime
    seq: int
    event: Event  # the single event or exception itself, or the occurrence's master
    original: dt.datetime | None = None  # set for occurrences

    def to_json(self) -> dict[str, Any]:
        if self.original is None:
            return self.event.to_json()
        master = self.event
        body = master.to_json()
        ck = change_key(self.id, master.version)
        body.update({"@odata.etag": f'W/"{ck}"', "id": self.id, "changeKey": ck, "type": "occurrence",
                     "seriesMasterId": master.id, "recurrence": None, "start": graph_dt(self.start),
                     "end": graph_dt(self.end), "originalStart": iso_z(self.original),
                     "webLink": f"https://outlook.office365.com/owa/?itemid={self.id}"})  # fmt: skip
        return body


class CalendarStore:
    def __init__(self) -> None:
        self.calendars: dict[str, Calendar] = {}
        self.events: dict[str, Event] = {}  # single events and series masters
        self.exceptions: dict[str, Event] = {}
        self.occurrences: dict[str, tuple[str, dt.datetime]] = {}  # occurrence id -> (master id, original start)
        self.log = ChangeLog()
        self.default_id = ""

    def add_calendar(self, calendar: Calendar) -> Calendar:
        self.calendars[calendar.id] = calendar
        if calendar.is_default:
            self.default_id = calendar.id
        return calendar

    def insert(self, event: Event) -> Event:
        event.seq = self.log.next()
        self.events[event.id] = event
        return event

    def touch(self, event: Event, when: dt.datetime) -> None:
        event.version += 1
        event.modified = when
        event.seq = self.log.next()

    @staticmethod
    def occurrence_id(master: Event, original: dt.datetime) -> str:
        return opaque_id("AAMkA", master.id, "occ", iso_z(original))

    # --- expansion ---
    def series(self, master: Event, lo: dt.datetime | None, hi: dt.datetime | None,
               cap: int | None = None) -> list[Instance]:  # fmt: skip
        """Occurrences and exceptions of a series overlapping [lo, hi) (unbounded when None), cancelled left out."""
        assert master.recurrence is not None
        duration = master.end - master.start
        out: list[Instance] = []
        limit = cap or 100_000
        for original in original_starts(master.recurrence, master.start, hi, cap=limit):
            key = iso_z(original)
            if key in master.cancelled:
                continue
            exc_id = master.exceptions.get(key)
            if exc_id is not None:
                exc = self.exceptions[exc_id]
                inst = Instance(exc.id, exc.start, exc.end, exc.seq, exc)
            else:
                oid = self.occurrence_id(master, original)
                self.occurrences[oid] = (master.id, original)
                inst = Instance(oid, original, original + duration, master.seq, master, original)
            if lo is None or inst.end > lo:
                out.append(inst)
        return out

    def view(self, calendar_id: str, lo: dt.datetime, hi: dt.datetime) -> list[Instance]:
        """The calendarView of one calendar: single events, occurrences and exceptions overlapping [lo, hi)."""
        out: list[Instance] = []
        for event in self.events.values():
            if event.calendar_id != calendar_id:
                continue
            if event.type == "seriesMaster":
                out += [i for i in self.series(event, None, hi) if i.start < hi and i.end > lo]
            elif event.start < hi and event.end > lo:
                out.append(Instance(event.id, event.start, event.end, event.seq, event))
        return sorted(out, key=lambda i: (i.start, i.id))

    def lookup(self, event_id: str) -> Event | Instance | None:
        """An event (single, master, exception) or an occurrence by id."""
        found = self.events.get(event_id) or self.exceptions.get(event_id)
        if found is not None:
            return found
        if event_id not in self.occurrences:
            for master in [e for e in self.events.values() if e.type == "seriesMaster"]:
                self.series(master, None, None, cap=REMOVAL_CAP)
        if event_id in self.occurrences:
            master_id, original = self.occurrences[event_id]
            master = self.events.get(master_id)
            key = iso_z(original)
            if master is None or key in master.cancelled or key in master.exceptions:
                return None
            return Instance(event_id, original, original + (master.end - master.start), master.seq, master, original)
        return None

    # --- changes ---
    def make_exception(self, master: Event, original: dt.datetime, when: dt.datetime) -> Event:
        oid = self.occurrence_id(master, original)
        duration = master.end - master.start
        exc = Event(oid, master.calendar_id, copy.deepcopy(master.props), original, original + duration,
                    copy.deepcopy(master.organizer), when, when, master.ical_uid, type="exception",
                    series_master_id=master.id, original_start=original, start_tz=master.start_tz,
                    end_tz=master.end_tz)  # fmt: skip
        exc.seq = self.log.next()
        self.exceptions[oid] = exc
        master.exceptions[iso_z(original)] = oid
        return exc

    def cancel_occurrence(self, master: Event, original: dt.datetime) -> None:
        key = iso_z(original)
        exc_id = master.exceptions.pop(key, None)
        if exc_id is not None:
            self.exceptions.pop(exc_id, None)
        master.cancelled.add(key)
        master.version += 1  # Exchange records the deleted occurrence on the master: its changeKey changes
        self.log.remove(exc_id or self.occurrence_id(master, original), master.calendar_id)

    def instance_ids(self, master: Event) -> set[str]:
        return {i.id for i in self.series(master, None, None, cap=REMOVAL_CAP)}

    def log_series_removed(self, master: Event, before: set[str]) -> None:
        """After a recurrence change: occurrences that no longer exist are reported as removed."""
        after = self.instance_ids(master)
        for gone in sorted(before - after):
            self.log.remove(gone, master.calendar_id)

    def delete(self, event: Event) -> None:
        if event.type == "seriesMaster":
            for inst_id in sorted(self.instance_ids(event)):
                self.exceptions.pop(inst_id, None)
                self.log.remove(inst_id, event.calendar_id)
        self.events.pop(event.id, None)
        self.log.remove(event.id, event.calendar_id)

    def summary(self, event: Event) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": event.id, "calendar_id": event.calendar_id, "type": event.type,
            "seriesMasterId": event.series_master_id, "subject": event.props["subject"],
            "sha256": canonical_sha256(event.canonical()), "properties": event.canonical(),
            "attachments": [a.summary() for a in event.attachments.values()], "changeKey":
            change_key(event.id, event.version),
        }  # fmt: skip
        if event.type == "seriesMaster":
            out["cancelled_occurrences"] = sorted(event.cancelled)
            out["exception_ids"] = [event.exceptions[k] for k in sorted(event.exceptions)]
        if event.original_start is not None:
            out["originalStart"] = iso_z(event.original_start)
        return out
