"""Calendar events of a mailbox: kept as their JSON with file attachments and a series' instances
(core/workloads/exchange/events_backup.py), restored into their calendars or a new one without inviting anyone
unless asked (events_restore.py), downloaded as iCalendar (.ics, a series with its exceptions) and exported as a
zip of .ics files laid out by calendar (core/exports/pim_files.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.exports.pim_files import ICALENDAR, event_file, write_events_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.exchange.events_backup import CALENDAR, EVENT
from core.workloads.exchange.events_restore import restore_events, select_events
from core.workloads.exchange.mail_restore import CONFLICTS

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_events(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_events(services, request, items)


def _content_refs(version: ItemVersion) -> tuple[str, ...]:
    """The event's JSON and its file attachments."""
    extra = json.loads(version.extra) if version.extra else {}
    attachments = extra.get("attachments") or []
    return (version.content_hash, *(a["sha256"] for a in attachments if isinstance(a, dict) and a.get("sha256")))


EVENT_CATEGORY = Category(
    name=EVENT,
    folder_category=CALENDAR,
    noun="calendar events",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=event_file,
    export_zip=write_events_zip,
    splits=False,
    options=("notify_attendees",),
    fallback_name="event",
    suffix=".ics",
    media_type=ICALENDAR,
    content_refs=_content_refs,
)
