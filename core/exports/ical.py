"""Events as iCalendar, from the Microsoft Graph v1.0 JSON of events as Graph returns them (and as the backup stores
them). Built with `icalendar`, never by hand.

A series master carries its `recurrence` (patternedRecurrence) as an RRULE; its edited occurrences (Graph
`type: exception`, `seriesMasterId`, `originalStart`) become VEVENTs with the master's UID and a RECURRENCE-ID;
cancelled occurrences (the master's `cancelledOccurrences`, or instances with `isCancelled`) become EXDATEs.
Graph's Windows time zone names are mapped to IANA zones and each zone used gets its VTIMEZONE."""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from datetime import tzinfo as TzInfo
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidRequestError
from core.exports.vcard import nonempty

if TYPE_CHECKING:
    import icalendar

# `icalendar` is imported where an export uses it, not with this module: every CLI command and host loads the
# workload registry, which names this module, and the library costs a quarter of a second of CPU to import.

PRODID = "-//m365-backup//export//EN"
MAX_INLINE_ATTACHMENT = 256 * 1024  # bytes: larger attachments are left out of the .ics with a note


_DAYS = {
    "sunday": "SU",
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentativelyaccepted": "TENTATIVE",
    "organizer": "ACCEPTED",
    "none": "NEEDS-ACTION",
    "notresponded": "NEEDS-ACTION",
}
_ROLE = {"required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT", "resource": "NON-PARTICIPANT"}
_CLASS = {"normal": "PUBLIC", "personal": "PRIVATE", "private": "PRIVATE", "confidential": "CONFIDENTIAL"}
_PRIORITY = {"high": 1, "normal": 5, "low": 9}


def zone(name: str | None) -> TzInfo | None:
    """The tzinfo of a Graph time zone name (Windows, e.g. 'Pacific Standard Time', or IANA); UTC for 'UTC';
    None when unknown (the time is then exported floating, as given)."""
    if not name:
        return UTC
    if name.upper() in ("UTC", "ETC/UTC", "COORDINATED UNIVERSAL TIME", "Z"):
        return UTC
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    iana = WINDOWS_TO_OLSON.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_local(value: str) -> datetime:
    """Graph's dateTime ('2017-04-21T10:00:00.0000000', seven fractional digits) as a naive datetime."""
    value = value.strip().rstrip("Z")
    main = value.partition(".")[0]
    parsed = datetime.fromisoformat(main)
    return parsed  # iCalendar times are whole seconds: the fraction (always zero in practice) is dropped


def _parse_utc(value: str) -> datetime:
    """A Graph DateTimeOffset ('2017-09-04T07:00:00Z', maybe with fractions or an offset) as an aware datetime."""
    value = value.strip()
    main, offset = value, ""
    match = re.match(r"^(.*?)(Z|[+-]\d\d:\d\d)?$", value)
    if match:
        main, offset = match.group(1), match.group(2) or ""
    parsed = _parse_local(main)
    if not offset or offset == "Z":
        return parsed.replace(tzinfo=UTC)
    return datetime.fromisoformat(parsed.isoformat() + offset)


def _when(value: dict[str, Any] | None) -> datetime | None:
    """A Graph dateTimeTimeZone as an aware datetime in its zone (naive when the zone is unknown)."""
    if not value or not value.get("dateTime"):
        return None
    local = _parse_local(value["dateTime"])
    tz = zone(value.get("timeZone"))
    return local.replace(tzinfo=tz) if tz is not None else local


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("br", "p", "div", "tr", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_to_text(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("\r\n", "\n").replace("\xa0", " ")
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text)).strip()


def _rrule(recurrence: dict[str, Any], start: datetime | date) -> dict[str, Any]:
    """A Graph patternedRecurrence as an icalendar RRULE value."""
    pattern = recurrence.get("pattern") or {}
    kind = (pattern.get("type") or "").lower()
    rule: dict[str, Any] = {}
    days = [_DAYS[d.lower()] for d in pattern.get("daysOfWeek") or [] if d and d.lower() in _DAYS]
    if kind == "daily":
        rule["FREQ"] = "DAILY"
    elif kind == "weekly":
        rule["FREQ"] = "WEEKLY"
        rule["BYDAY"] = days or [_DAYS[start.strftime("%A").lower()]]
        if pattern.get("firstDayOfWeek"):
            rule["WKST"] = _DAYS.get(pattern["firstDayOfWeek"].lower(), "SU")
    elif kind in ("absolutemonthly", "absoluteyearly"):
        rule["FREQ"] = "MONTHLY" if kind == "absolutemonthly" else "YEARLY"
        if kind == "absoluteyearly":
            rule["BYMONTH"] = int(pattern.get("month") or start.month)
        rule["BYMONTHDAY"] = int(pattern.get("dayOfMonth") or start.day)
    elif kind in ("relativemonthly", "relativeyearly"):
        rule["FREQ"] = "MONTHLY" if kind == "relativemonthly" else "YEARLY"
        if kind == "relativeyearly":
            rule["BYMONTH"] = int(pattern.get("month") or start.month)
        rule["BYDAY"] = days or [_DAYS[start.strftime("%A").lower()]]
        rule["BYSETPOS"] = _INDEX.get((pattern.get("index") or "first").lower(), 1)
    else:
        raise InvalidRequestError(f"unknown recurrence pattern type {pattern.get('type')!r}")
    interval = int(pattern.get("interval") or 1)
    if interval != 1:
        rule["INTERVAL"] = interval

    rng = recurrence.get("range") or {}
    range_type = (rng.get("type") or "noEnd").lower()
    if range_type == "numbered" and rng.get("numberOfOccurrences"):
        rule["COUNT"] = int(rng["numberOfOccurrences"])
    elif range_type == "enddate" and rng.get("endDate"):
        end = date.fromisoformat(rng["endDate"][:10])
        if isinstance(start, datetime):
            # The range ends with its end date (inclusive) in the recurrence's zone; UNTIL must then be UTC.
            tz = zone(rng.get("recurrenceTimeZone")) or start.tzinfo
            last = datetime.combine(end, time(23, 59, 59))
            rule["UNTIL"] = last.replace(tzinfo=tz).astimezone(UTC) if tz is not None else last
        else:
            rule["UNTIL"] = end
    return rule


def _occurrence_date(occurrence_id: str) -> date | None:
    """The date of a cancelled occurrence id ('OID.<series master id>.2024-02-08')."""
    match = re.search(r"(\d{4}-\d{2}-\d{2})$", occurrence_id or "")
    return date.fromisoformat(match.group(1)) if match else None


def _original_start(event: dict[str, Any], master_start: datetime | date | None) -> datetime | date | None:
    """The RECURRENCE-ID / EXDATE value of an instance: its originalStart, in the master's zone and value type."""
    raw = event.get("originalStart")
    if not raw:
        return None
    original = _parse_utc(raw)
    if isinstance(master_start, datetime):
        if master_start.tzinfo is not None:
            return original.astimezone(master_start.tzinfo)
        return original.replace(tzinfo=None)
    if isinstance(master_start, date):  # all-day series: the occurrence's date in the event's zone
        tz = zone(event.get("originalStartTimeZone")) or UTC
        return original.astimezone(tz).date()
    return original


def _address(recipient: dict[str, Any] | None) -> tuple[str, str]:
    email = (recipient or {}).get("emailAddress") or {}
    return email.get("address") or "", email.get("name") or ""


def _attachments(vevent: icalendar.Event, event: dict[str, Any], max_inline: int) -> None:
    import icalendar

    for attachment in event.get("attachments") or []:
        name = attachment.get("name") or "attachment"
        size = int(attachment.get("size") or 0)
        kind = (attachment.get("@odata.type") or "#microsoft.graph.fileAttachment").rsplit(".", 1)[-1]
        content = attachment.get("contentBytes")
        data = base64.b64decode(content) if kind == "fileAttachment" and content else None
        if data is not None and len(data) <= max_inline:
            params = {"FMTTYPE": attachment.get("contentType") or "application/octet-stream", "X-FILENAME": name}
            vevent.add("attach", icalendar.vBinary(data), parameters=params)
        else:
            size = len(data) if data is not None else size
            reason = "larger than the export's inline limit" if data is not None else f"{kind} not inlined"
            vevent.add("comment", f"Attachment omitted from this export ({reason}): {name} ({size} bytes)")


def _vevent(
    event: dict[str, Any], uid: str, max_inline: int, master_start: datetime | date | None = None
) -> icalendar.Event:
    import icalendar

    vevent = icalendar.Event()
    vevent.add("uid", uid)
    modified = event.get("lastModifiedDateTime")
    vevent.add("dtstamp", _parse_utc(modified) if modified else datetime.now(UTC).replace(microsecond=0))
    if event.get("createdDateTime"):
        vevent.add("created", _parse_utc(event["createdDateTime"]))
    if modified:
        vevent.add("last-modified", _parse_utc(modified))

    start, end = _when(event.get("start")), _when(event.get("end"))
    if start is None:
        raise InvalidRequestError(f"event {event.get('id', '')!r} has no start")
    if event.get("isAllDay"):
        vevent.add("dtstart", start.date())
        vevent.add("dtend", (end or start + timedelta(days=1)).date())
    else:
        vevent.add("dtstart", start)
        if end is not None:
            vevent.add("dtend", end)
    if master_start is not None:
        recurrence_id = _original_start(event, master_start)
        if recurrence_id is not None:
            vevent.add("recurrence-id", recurrence_id)

    vevent.add("summary", event.get("subject") or "")
    body = event.get("body") or {}
    content = body.get("content") or ""
    if content:
        if (body.get("contentType") or "").lower() == "html":
            vevent.add("description", _html_to_text(content))
            vevent.add("x-alt-desc", content, parameters={"FMTTYPE": "text/html"})
        else:
            vevent.add("description", content)
    location = (event.get("location") or {}).get("displayName")
    if location:
        vevent.add("location", location)

    organizer, organizer_name = _address(event.get("organizer"))
    if organizer:
        vevent.add("organizer", f"mailto:{organizer}", parameters={"CN": organizer_name} if organizer_name else {})
    for attendee in event.get("attendees") or []:
        address, name = _address(attendee)
        if not address:
            continue
        kind = (attendee.get("type") or "required").lower()
        response = ((attendee.get("status") or {}).get("response") or "none").lower()
        params = {"ROLE": _ROLE.get(kind, "REQ-PARTICIPANT"), "PARTSTAT": _PARTSTAT.get(response, "NEEDS-ACTION")}
        if name:
            params["CN"] = name
        if kind == "resource":
            params["CUTYPE"] = "RESOURCE"
        vevent.add("attendee", f"mailto:{address}", parameters=params)

    categories = nonempty(event.get("categories"))
    if categories:
        vevent.add("categories", categories)
    if event.get("isCancelled"):
        vevent.add("status", "CANCELLED")
    if event.get("showAs"):
        vevent.add("transp", "TRANSPARENT" if event["showAs"].lower() == "free" else "OPAQUE")
    if event.get("sensitivity"):
        vevent.add("class", _CLASS.get(event["sensitivity"].lower(), "PUBLIC"))
    if event.get("importance") in _PRIORITY:
        vevent.add("priority", _PRIORITY[event["importance"]])
    if event.get("isReminderOn") and event.get("reminderMinutesBeforeStart") is not None:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.get("subject") or "Reminder")
        alarm.add("trigger", timedelta(minutes=-int(event["reminderMinutesBeforeStart"])))
        vevent.add_component(alarm)
    _attachments(vevent, event, max_inline)
    return vevent


def events_to_ics(events: list[dict[str, Any]], max_inline_attachment: int = MAX_INLINE_ATTACHMENT) -> str:
    """A VCALENDAR holding every given event: single events and series masters (with an RRULE, and EXDATEs for
    cancelled occurrences), each master followed by its exceptions (VEVENTs with the master's UID and a
    RECURRENCE-ID). Plain occurrences (`type: occurrence`) are implied by the RRULE and not repeated; cancelled
    instances become EXDATEs. An exception whose master is not among `events` is exported as a single event.
    File attachments up to `max_inline_attachment` bytes are inlined (ATTACH, base64); others are named in a
    COMMENT."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")

    masters = {e["id"]: e for e in events if e.get("type") == "seriesMaster" and e.get("id")}
    instances: dict[str, list[dict[str, Any]]] = {}
    standalone: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("type") or "singleInstance"
        if kind in ("exception", "occurrence"):
            if event.get("seriesMasterId") in masters:
                instances.setdefault(event["seriesMasterId"], []).append(event)
            elif kind == "exception" and not event.get("isCancelled"):
                standalone.append(event)  # its series is not being exported: keep it as an event of its own
        else:
            standalone.append(event)

    earliest: date | None = None
    for event in standalone:
        uid = event.get("iCalUId") or event.get("id") or ""
        vevent = _vevent(event, uid, max_inline_attachment)
        start = vevent.decoded("dtstart")
        earliest = min(earliest, _as_date(start)) if earliest else _as_date(start)
        calendar.add_component(vevent)
        if event.get("type") != "seriesMaster":
            continue
        if event.get("recurrence"):
            vevent.add("rrule", _rrule(event["recurrence"], start))
        exdates = []
        for occurrence_id in event.get("cancelledOccurrences") or []:
            day = _occurrence_date(occurrence_id)
            if day is not None:
                exdates.append(day if not isinstance(start, datetime) else datetime.combine(day, start.timetz()))
        for instance in instances.get(event["id"], []):
            if instance.get("isCancelled"):
                when = _original_start(instance, start)
                if when is not None:
                    exdates.append(when)
        for when in sorted(set(exdates), key=_sort_key):
            vevent.add("exdate", when)
        for instance in sorted(instances.get(event["id"], []), key=lambda e: e.get("originalStart") or ""):
            if instance.get("type") == "exception" and not instance.get("isCancelled"):
                calendar.add_component(_vevent(instance, uid, max_inline_attachment, master_start=start))

    first = date(earliest.year - 1, 1, 1) if earliest else date(1970, 1, 1)
    calendar.add_missing_timezones(first_date=max(first, date(1970, 1, 1)))
    return calendar.to_ical().decode("utf-8")


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _sort_key(value: datetime | date) -> tuple:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).replace(tzinfo=None), 1
    return datetime.combine(value, time()), 0
