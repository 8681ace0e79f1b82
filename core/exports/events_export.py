"""A mailbox's calendar events as of a run, as one .ics file (series with their exceptions and cancellations)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from core import work_progress
from core.exports.ical import events_to_ics
from core.workloads.exchange.events_backup import CALENDAR, EVENT

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.catalog import ItemVersion


def export_events_ics(
    services: Services, resource: str, run_id: str | None, out: BinaryIO, calendar: str | None = None
) -> dict:
    """Write the events (of the calendar named `calendar`, if given) as of the run; returns {run_id, events}.
    A series' cancelled occurrences are the ones its master's recorded instances lack."""
    run = services.runs.resolve_point(resource, run_id)
    names = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, CALENDAR, run)}

    def selected() -> Iterator[ItemVersion]:
        for version in services.catalog.as_of(resource, EVENT, run):
            if calendar is None or names.get(version.folder_id, version.folder_path) == calendar:
                yield version

    events = []
    for version in work_progress.counted(selected):  # watched: counted first (core/work_progress.py)
        events.append(json.loads(services.content.read(version.content_hash)))
        work_progress.finished(version.item_id)  # read into the calendar; the file is written as one
    out.write(events_to_ics(events).encode())
    return {"run_id": run, "events": len(events)}
