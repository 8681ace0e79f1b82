"""Events → iCalendar, from Graph v1.0 JSON shaped like the docs' examples, parsed back with icalendar and compared
field by field: series, exceptions, cancellations, all-day events, attachments, time zones."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from core.exports.ical import events_to_ics

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")

MASTER = {
    "id": "AAMkMASTER=",
    "iCalUId": "040000008200E00074C5B7101A82E00800000000STANDUP",
    "type": "seriesMaster",
    "subject": "Weekly stand-up — café ☕",
    "body": {"contentType": "html", "content": "<html><body><p>Agenda: <b>status</b> &amp; blockers</p></body></html>"},
    "start": {"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
    "end": {"dateTime": "2024-03-04T09:30:00.0000000", "timeZone": "Pacific Standard Time"},
    "originalStartTimeZone": "Pacific Standard Time",
    "location": {"displayName": "Conf Room Ünter 12"},
    "isAllDay": False,
    "isCancelled": False,
    "showAs": "busy",
    "sensitivity": "normal",
    "importance": "high",
    "isReminderOn": True,
    "reminderMinutesBeforeStart": 15,
    "categories": ["Team"],
    "createdDateTime": "2024-02-20T10:00:00.1234567Z",
    "lastModifiedDateTime": "2024-03-01T11:22:33.0000000Z",
    "organizer": {"emailAddress": {"name": "Adele Vance", "address": "adelev@contoso.com"}},
    "attendees": [
        {
            "type": "required",
            "status": {"response": "accepted", "time": "2024-02-21T00:00:00Z"},
            "emailAddress": {"name": "Jürgen Müller", "address": "juergen@contoso.com"},
        },
        {
            "type": "optional",
            "status": {"response": "tentativelyAccepted", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": {"name": "Alex Wilber", "address": "alexw@contoso.com"},
        },
        {
            "type": "resource",
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": {"name": "Conf Room Ünter 12", "address": "room12@contoso.com"},
        },
    ],
    "recurrence": {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday", "wednesday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "endDate",
            "startDate": "2024-03-04",
            "endDate": "2024-04-29",
            "recurrenceTimeZone": "Pacific Standard Time",
            "numberOfOccurrences": 0,
        },
    },
    "cancelledOccurrences": ["OID.AAMkMASTER=.2024-03-13"],
    "attachments": [
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "agenda ✓.txt",
            "contentType": "text/plain",
            "size": 11,
            "contentBytes": base64.b64encode("agenda ✓".encode()).decode(),
        },
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "big.bin",
            "contentType": "application/octet-stream",
            "size": 300_000,
            "contentBytes": base64.b64encode(b"\0" * 300_000).decode(),
        },
    ],
}
EXCEPTION = {
    "id": "AAMkEXC=",
    "iCalUId": "040000008200E00074C5B7101A82E00807E80311STANDUP",
    "type": "exception",
    "seriesMasterId": "AAMkMASTER=",
    "originalStart": "2024-03-11T16:00:00Z",  # Monday 11 March, 09:00 PDT
    "subject": "Weekly stand-up (moved)",
    "body": {"contentType": "text", "content": "Moved by an hour."},
    "start": {"dateTime": "2024-03-11T17:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2024-03-11T17:30:00.0000000", "timeZone": "UTC"},
    "location": {"displayName": "Online"},
    "organizer": MASTER["organizer"],
    "attendees": MASTER["attendees"][:1],
}
CANCELLED = {  # an instance listed with isCancelled, the other way Graph can report a cancelled occurrence
    "id": "AAMkCANCELLED=",
    "type": "exception",
    "seriesMasterId": "AAMkMASTER=",
    "originalStart": "2024-03-20T16:00:00Z",
    "isCancelled": True,
    "subject": "Weekly stand-up",
    "start": {"dateTime": "2024-03-20T16:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2024-03-20T16:30:00.0000000", "timeZone": "UTC"},
}
OCCURRENCE = {  # a plain occurrence: implied by the RRULE, not exported again
    "id": "AAMkOCC=",
    "type": "occurrence",
    "seriesMasterId": "AAMkMASTER=",
    "originalStart": "2024-03-06T17:00:00Z",
    "start": {"dateTime": "2024-03-06T17:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2024-03-06T17:30:00.0000000", "timeZone": "UTC"},
}
ALL_DAY = {
    "id": "AAMkALLDAY=",
    "iCalUId": "ALLDAY-UID",
    "type": "singleInstance",
    "subject": "Company holiday 🎉",
    "body": {"contentType": "text", "content": "Offices closed."},
    "start": {"dateTime": "2024-12-25T00:00:00.0000000", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2024-12-27T00:00:00.0000000", "timeZone": "W. Europe Standard Time"},
    "isAllDay": True,
    "showAs": "free",
    "sensitivity": "private",
    "organizer": {"emailAddress": {"name": "HR", "address": "hr@contoso.com"}},
    "attendees": [],
}
MONTHLY = {
    "id": "AAMkMONTHLY=",
    "iCalUId": "MONTHLY-UID",
    "type": "seriesMaster",
    "subject": "Board review",
    "start": {"dateTime": "2024-01-09T14:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2024-01-09T15:00:00.0000000", "timeZone": "UTC"},
    "recurrence": {
        "pattern": {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["tuesday"], "index": "second"},
        "range": {"type": "numbered", "startDate": "2024-01-09", "numberOfOccurrences": 4},
    },
}


def _calendar(events) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(events_to_ics(events))


def _by_uid(calendar) -> dict[tuple[str, object], icalendar.Event]:
    return {(str(e["uid"]), e.get("recurrence-id") and e.decoded("recurrence-id")): e for e in calendar.walk("VEVENT")}


def test_series_with_an_exception_and_cancelled_occurrences():
    calendar = _calendar([MASTER, OCCURRENCE, EXCEPTION, CANCELLED, ALL_DAY, MONTHLY])
    events = _by_uid(calendar)
    assert len(events) == 4  # master, its exception, the all-day event, the monthly series
    uid = MASTER["iCalUId"]
    master = events[(uid, None)]
    assert str(master["summary"]) == MASTER["subject"]
    assert master.decoded("dtstart") == datetime(2024, 3, 4, 9, 0, tzinfo=LA)
    assert master.decoded("dtend") == datetime(2024, 3, 4, 9, 30, tzinfo=LA)
    assert master["dtstart"].params["TZID"] == "America/Los_Angeles"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]  # the rest: UTC, dates
    assert str(master["description"]) == "Agenda: status & blockers"
    assert master["x-alt-desc"].params["FMTTYPE"] == "text/html"
    assert str(master["location"]) == "Conf Room Ünter 12"
    assert str(master["organizer"]) == "mailto:adelev@contoso.com" and master["organizer"].params["CN"] == "Adele Vance"
    attendees = {str(a): a.params for a in master["attendee"]}
    assert attendees["mailto:juergen@contoso.com"]["CN"] == "Jürgen Müller"
    assert attendees["mailto:juergen@contoso.com"]["PARTSTAT"] == "ACCEPTED"
    assert attendees["mailto:juergen@contoso.com"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["mailto:alexw@contoso.com"]["PARTSTAT"] == "TENTATIVE"
    assert attendees["mailto:alexw@contoso.com"]["ROLE"] == "OPT-PARTICIPANT"
    assert attendees["mailto:room12@contoso.com"]["CUTYPE"] == "RESOURCE"
    assert [str(c) for c in master["categories"].cats] == ["Team"]
    assert master["priority"] == 1 and str(master["transp"]) == "OPAQUE" and str(master["class"]) == "PUBLIC"
    alarm = master.walk("VALARM")[0]
    assert alarm.decoded("trigger") == timedelta(minutes=-15)

    rule = master["rrule"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "WE"] and rule["WKST"] == ["SU"]
    assert rule["UNTIL"][0] == datetime(2024, 4, 29, 23, 59, 59, tzinfo=LA).astimezone(UTC)
    exdates = [d.dt for ex in _list(master["exdate"]) for d in ex.dts]
    assert exdates == [datetime(2024, 3, 13, 9, 0, tzinfo=LA), datetime(2024, 3, 20, 9, 0, tzinfo=LA)]

    # Expanding the series as a calendar client would: the exception replaces 11 March, the EXDATEs drop two
    start = master.decoded("dtstart")
    rule_text = master["rrule"].to_ical().decode()
    occurrences = [o for o in rrulestr(rule_text, dtstart=start) if o not in exdates]
    assert occurrences[:4] == [
        datetime(2024, 3, 4, 9, 0, tzinfo=LA),
        datetime(2024, 3, 6, 9, 0, tzinfo=LA),
        datetime(2024, 3, 11, 9, 0, tzinfo=LA),
        datetime(2024, 3, 18, 9, 0, tzinfo=LA),
    ]
    assert occurrences[-1] == datetime(2024, 4, 29, 9, 0, tzinfo=LA)
    assert len(occurrences) == 17 - 2  # Mon+Wed from 4 March to 29 April, less the two cancelled

    exception = events[(uid, datetime(2024, 3, 11, 9, 0, tzinfo=LA))]
    assert exception["recurrence-id"].params["TZID"] == "America/Los_Angeles"
    assert str(exception["summary"]) == "Weekly stand-up (moved)"
    assert exception.decoded("dtstart") == datetime(2024, 3, 11, 17, 0, tzinfo=UTC)
    assert str(exception["description"]) == "Moved by an hour."
    assert str(exception["attendee"]) == "mailto:juergen@contoso.com"
    assert "rrule" not in exception


def test_attachments_are_inlined_when_small_and_noted_when_not():
    master = _by_uid(_calendar([MASTER]))[(MASTER["iCalUId"], None)]
    attach = master["attach"]
    assert not isinstance(attach, list)  # exactly one inlined
    assert attach.params["X-FILENAME"] == "agenda ✓.txt" and attach.params["FMTTYPE"] == "text/plain"
    assert master.decoded("attach") == "agenda ✓".encode()
    assert "big.bin (300000 bytes)" in str(master["comment"])


def test_all_day_event_has_date_values():
    event = _by_uid(_calendar([ALL_DAY]))[("ALLDAY-UID", None)]
    assert event.decoded("dtstart") == date(2024, 12, 25)
    assert event.decoded("dtend") == date(2024, 12, 27)
    assert event["dtstart"].params.get("VALUE") == "DATE"
    assert str(event["summary"]) == "Company holiday 🎉"
    assert str(event["transp"]) == "TRANSPARENT" and str(event["class"]) == "PRIVATE"
    assert "attendee" not in event


def test_relative_monthly_numbered_series():
    event = _by_uid(_calendar([MONTHLY]))[("MONTHLY-UID", None)]
    rule = event["rrule"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["TU"] and rule["BYSETPOS"] == [2]
    assert rule["INTERVAL"] == [2] and rule["COUNT"] == [4]
    start = event.decoded("dtstart")
    assert list(rrulestr(rule.to_ical().decode(), dtstart=start)) == [
        datetime(2024, 1, 9, 14, tzinfo=UTC),
        datetime(2024, 3, 12, 14, tzinfo=UTC),
        datetime(2024, 5, 14, 14, tzinfo=UTC),
        datetime(2024, 7, 9, 14, tzinfo=UTC),
    ]


def test_all_day_series_exception_uses_a_date_recurrence_id_and_orphans_stand_alone():
    master = {
        **ALL_DAY,
        "id": "AAMkAD=",
        "iCalUId": "AD-UID",
        "type": "seriesMaster",
        "end": {"dateTime": "2024-12-26T00:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "recurrence": {
            "pattern": {"type": "absoluteYearly", "interval": 1, "month": 12, "dayOfMonth": 25},
            "range": {"type": "noEnd", "startDate": "2024-12-25"},
        },
    }
    moved = {
        **ALL_DAY,
        "id": "AAMkADX=",
        "type": "exception",
        "seriesMasterId": "AAMkAD=",
        "originalStart": "2025-12-24T23:00:00Z",  # midnight 25 Dec in Berlin
        "originalStartTimeZone": "W. Europe Standard Time",
        "subject": "Holiday (observed)",
        "start": {"dateTime": "2025-12-26T00:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2025-12-27T00:00:00.0000000", "timeZone": "W. Europe Standard Time"},
    }
    orphan = {**EXCEPTION, "id": "AAMkORPHAN=", "seriesMasterId": "not-exported", "iCalUId": "ORPHAN-UID"}
    events = _by_uid(_calendar([master, moved, orphan]))
    rule = events[("AD-UID", None)]["rrule"]
    assert rule["FREQ"] == ["YEARLY"] and rule["BYMONTH"] == [12] and rule["BYMONTHDAY"] == [25]
    assert "UNTIL" not in rule and "COUNT" not in rule
    exception = events[("AD-UID", date(2025, 12, 25))]
    assert exception.decoded("dtstart") == date(2025, 12, 26)
    assert ("ORPHAN-UID", None) in events


def test_graph_times_with_seven_fraction_digits_and_unknown_zones():
    event = {
        "id": "x",
        "iCalUId": "X-UID",
        "subject": "s",
        "start": {"dateTime": "2024-06-01T10:15:30.1234567", "timeZone": "Nowhere Standard Time"},
        "end": {"dateTime": "2024-06-01T11:00:00.0000000", "timeZone": "Europe/Berlin"},
    }
    parsed = _by_uid(_calendar([event]))[("X-UID", None)]
    assert parsed.decoded("dtstart") == datetime(2024, 6, 1, 10, 15, 30)  # floating: zone unknown; whole seconds
    assert parsed.decoded("dtend") == datetime(2024, 6, 1, 11, 0, tzinfo=BERLIN)


def _list(value):
    return value if isinstance(value, list) else [value]
