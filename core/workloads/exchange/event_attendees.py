"""Never announce: by default a restored meeting is created WITHOUT its attendees, so Exchange sends nothing to anyone.
Graph "Create event" (learn.microsoft.com/graph/api/user-post-events): creating an event with attendees sends them
invitations; "Update event" and "Delete event" / "event: cancel" on a meeting (or on one of its occurrences) send
updates and cancellations. An event without attendees is not a meeting: shaping its series afterwards (PATCHing
exceptions, deleting cancelled occurrences) sends nothing either.

Who organised the meeting and who was invited stays visible: a short summary is put at the top of the event's body,
e.g. "Restored by M365 Backup. Organizer: Adele Vance <adele@contoso.com>. Attendees: Alex Wilber <alex@contoso.com>
(required, accepted); Room 12 <room12@contoso.com> (resource, none)." (HTML-escaped in an HTML body). The restore
report's item says how many attendees were left out (`attendees_omitted`). An operator who wants invitations sent
again asks for it (RestoreRequest.notify_attendees): the event is then created with its attendees, as it was."""

from __future__ import annotations

import html
import re
from typing import Any

NOTE = "Restored by M365 Backup."
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _person(email: Any) -> str:
    email = email if isinstance(email, dict) else {}
    name, address = str(email.get("name") or "").strip(), str(email.get("address") or "").strip()
    if name and address and name.lower() != address.lower():
        return f"{name} <{address}>"
    return name or address or "(unknown)"


def summary(event: dict[str, Any]) -> str:
    """One line: the organizer and every attendee with their type and response, as the backup holds them."""
    parts = [NOTE]
    organizer = (event.get("organizer") or {}).get("emailAddress")
    if organizer:
        parts.append(f"Organizer: {_person(organizer)}.")
    people = []
    for attendee in event.get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        kind = str(attendee.get("type") or "required")
        response = str((attendee.get("status") or {}).get("response") or "none")
        people.append(f"{_person(attendee.get('emailAddress'))} ({kind}, {response})")
    if people:
        parts.append(f"Attendees: {'; '.join(people)}.")
    return " ".join(parts)


def _with_summary(body: Any, text: str) -> dict[str, str]:
    """An itemBody with `text` put before its content (as a paragraph in HTML, escaped; as a line in text)."""
    body = body if isinstance(body, dict) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "text").lower() == "html":
        note = f"<p>{html.escape(text)}</p>"
        tag = _BODY_TAG.search(content)
        content = content[: tag.end()] + note + content[tag.end() :] if tag else note + content
        return {"contentType": "html", "content": content}
    return {"contentType": "text", "content": f"{text}\n\n{content}" if content else text}


def without_attendees(payload: dict[str, Any], event: dict[str, Any], *, create: bool) -> tuple[dict[str, Any], int]:
    """`payload` (a create, or an exception's PATCH, built from `event`) with no attendees and the summary at the
    top of its body (a PATCH that sets no body leaves the occurrence showing its master's); also how many attendees
    were left out. The payload of an event without attendees comes back as it was, with 0."""
    attendees = [a for a in event.get("attendees") or [] if isinstance(a, dict)]
    out = {k: v for k, v in payload.items() if k != "attendees"}
    if not attendees:
        return out, 0
    if create or "body" in out:
        out["body"] = _with_summary(out["body"], summary(event))
    return out, len(attendees)
