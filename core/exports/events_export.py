"""A mailbox's calendar events as of a run, as one .ics file (series with their exceptions and cancellations)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, BinaryIO

from core.exports.ical import events_to_ics
from core.workloads.exchange.events_backup import CALENDAR, EVENT

if TYPE_CHECKING:
    from core.bootstrap import Services


def export_events_ics(
    services: Services, resource: str, run_id: str | None, out: BinaryIO, calendar: str | None = None
) -> dict:
    """Write the events (of the calendar named `calendar`, if given) as of the run; returns {run_id, events}.
    A series' cancelled occurrences are the ones its master's recorded instances lack."""
    run = services.runs.resolve_point(resource, run_id)
    names = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, CALENDAR, run)}
    events = []
    for version in services.catalog.as_of(resource, EVENT, run):
        if calendar is not None and names.get(version.folder_id, version.folder_path) != calendar:
            continue
        events.append(json.loads(services.content.read(version.content_hash)))
    out.write(events_to_ics(events).encode())
    return {"run_id": run, "events": len(events)}
