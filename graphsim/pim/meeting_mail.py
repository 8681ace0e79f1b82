"""Meeting mail: what Exchange sends when an organizer's meeting changes through Graph, so that tests can count it.

- Graph "Create event" (learn.microsoft.com/graph/api/user-post-events): creating an event with attendees sends
  each of them a meeting request.
- "Update event" (learn.microsoft.com/graph/api/event-update): updating a meeting sends its attendees an update;
  attendees added get a request, attendees removed a cancellation. Changes that only concern the organizer's own
  copy (categories, reminder, extended properties) send nothing.
- "event: cancel" (learn.microsoft.com/graph/api/event-cancel) and "Delete event"
  (learn.microsoft.com/graph/api/event-delete): cancelling or deleting a meeting, or one occurrence of it, on the
  organizer's calendar sends its attendees a cancellation.

Every notification, to an address in the tenant or outside it, is recorded in the simulator's outbox
(GET /_sim/outbox); one to a tenant user with a mailbox is also delivered to that user's Inbox as a message whose
MIME carries a text/calendar part (METHOD:REQUEST or METHOD:CANCEL). An event without attendees is not a meeting:
nothing is sent. Events made or changed through the /_sim control API (seeding) send nothing either."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphsim.ids import opaque_id
from graphsim.mail.mime import Attachment, MessageSpec
from graphsim.mail.seed import message_from_spec
from graphsim.pim.calendar_store import Event, Instance
from graphsim.pim.common import iso_z, now
from graphsim.pim.service import PimService
from graphsim.simulator import Context
from graphsim.tenant import User

PRIVATE = {"categories", "isReminderOn", "reminderMinutesBeforeStart", "singleValueExtendedProperties"}
SUBJECT_PREFIX = {"request": "", "update": "Updated: ", "cancel": "Canceled: "}


def address_of(attendee: dict[str, Any]) -> str:
    return str((attendee.get("emailAddress") or {}).get("address") or "").strip()


def attendees_of(found: Event | Instance) -> list[dict[str, Any]]:
    """The attendees of an event, exception or occurrence (an occurrence has its master's)."""
    event = found.event if isinstance(found, Instance) else found
    return [dict(a) for a in event.props.get("attendees") or [] if address_of(a)]


def announced(body: dict[str, Any]) -> bool:
    """Whether a PATCH body changes something the attendees are told about."""
    return any(not k.startswith("@") and k not in PRIVATE for k in body)


def ics_method(kind: str) -> str:
    return "CANCEL" if kind == "cancel" else "REQUEST"


def _mailbox_user(ctx: Context, address: str) -> User | None:
    lowered = address.lower()
    for user in ctx.sim.tenant.users.values():
        if user.mailbox is not None and lowered in {(user.mail or "").lower(), user.user_principal_name.lower()}:
            return user
    return None


def _ics(kind: str, event: Event, start: dt.datetime, end: dt.datetime, original: dt.datetime | None,
         organizer: tuple[str, str], attendees: list[dict[str, Any]]) -> bytes:  # fmt: skip
    def stamp(value: dt.datetime) -> str:
        return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    def clean(text: str) -> str:
        return " ".join(text.replace(";", ",").replace(":", " ").split())

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//graphsim//meeting mail//EN",
             f"METHOD:{ics_method(kind)}", "BEGIN:VEVENT", f"UID:{event.ical_uid}",
             f"DTSTAMP:{stamp(now())}", f"DTSTART:{stamp(start)}", f"DTEND:{stamp(end)}",
             f"SUMMARY:{clean(str(event.props.get('subject') or ''))}",
             f"ORGANIZER;CN={clean(organizer[0])}:mailto:{organizer[1]}"]  # fmt: skip
    lines += [f"ATTENDEE;CN={clean(str((a.get('emailAddress') or {}).get('name') or ''))}:mailto:{address_of(a)}"
              for a in attendees]  # fmt: skip
    if original is not None:
        lines.append(f"RECURRENCE-ID:{stamp(original)}")
    lines += [f"STATUS:{'CANCELLED' if kind == 'cancel' else 'CONFIRMED'}", "END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode("utf-8")


def announce(ctx: Context, found: Event | Instance, kind: str, recipients: list[dict[str, Any]] | None = None) -> None:
    """Send `kind` ("request", "update" or "cancel") about an event, exception or occurrence to `recipients`
    (default: its attendees). Call it before a deletion: the event must still be readable."""
    organizer_user = ctx.user
    assert organizer_user is not None
    pim: PimService = ctx.sim.pim  # type: ignore[attr-defined]
    event = found.event if isinstance(found, Instance) else found
    original = found.original if isinstance(found, Instance) else event.original_start
    start, end = (found.start, found.end) if isinstance(found, Instance) else (event.start, event.end)
    organizer = (organizer_user.display_name, organizer_user.mail or organizer_user.user_principal_name)
    everyone = attendees_of(found)
    subject = SUBJECT_PREFIX[kind] + str(event.props.get("subject") or "")
    for attendee in everyone if recipients is None else recipients:
        address = address_of(attendee)
        if not address or address.lower() == organizer[1].lower():
            continue
        n = pim.next_number()
        entry: dict[str, Any] = {"kind": kind, "organizer": organizer[1], "to": address, "subject": subject,
                                 "event_id": event.id, "iCalUId": event.ical_uid,
                                 "occurrence": iso_z(original) if original else None, "time": iso_z(now()),
                                 "delivered_to": None, "message_id": None}  # fmt: skip
        recipient = _mailbox_user(ctx, address)
        if recipient is not None and recipient.mailbox is not None:
            mailbox = recipient.mailbox
            name = str((attendee.get("emailAddress") or {}).get("name") or address)
            ics = _ics(kind, event, start, end, original, organizer, everyone)
            spec = MessageSpec(
                internet_message_id=f"<meeting.{n}.{event.ical_uid[-12:]}@{ctx.sim.tenant.domain}>",
                date=now(), sender=organizer, to=[(name, address)], subject=subject,
                body=f"{subject}\n\nWhen: {iso_z(start)} - {iso_z(end)}\nOrganizer: {organizer[0]}\n",
                boundary_seed=f"{n:016x}",
                attachments=[Attachment("invite.ics", f"text/calendar; method={ics_method(kind)}", ics)],
            )  # fmt: skip
            message_id = opaque_id("AAMkA", ctx.sim.seed, recipient.id, "meeting", n)
            mailbox.insert(message_from_spec(spec, message_id, mailbox.well_known["inbox"], read=False))
            entry["delivered_to"], entry["message_id"] = recipient.id, message_id
        pim.outbox.append(entry)


def announce_update(ctx: Context, found: Event, before: list[dict[str, Any]], body: dict[str, Any]) -> None:
    """After a PATCH of a meeting (or of an occurrence, now `found`, an exception): added attendees get a request,
    removed ones a cancellation, the others an update, when the change is one attendees are told about."""
    if not announced(body):
        return
    after = attendees_of(found)
    had = {address_of(a).lower() for a in before}
    has = {address_of(a).lower() for a in after}
    removed = [a for a in before if address_of(a).lower() not in has]
    if removed:
        announce(ctx, found, "cancel", removed)
    announce(ctx, found, "request", [a for a in after if address_of(a).lower() not in had])
    announce(ctx, found, "update", [a for a in after if address_of(a).lower() in had])
