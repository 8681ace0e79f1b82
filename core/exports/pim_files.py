"""Contacts and events as standard files, as of a run: a contact as vCard (.vcf, with its photo), an event as
iCalendar (.ics; a series master with its RRULE and the exceptions kept in its calendar), and a folder or calendar
(and below) as a zip of such files laid out by folder, with a manifest.json (core/exports/files_export.py).

Memory stays bounded: each event's JSON is read once and dropped while a calendar's exceptions are found, so what
is held is one small record per exception."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from core import work_progress
from core.catalog_view import Scope, parse_time
from core.exports.files_export import selected, write_items_zip
from core.exports.ical import events_to_ics
from core.exports.mail_export import short_id
from core.exports.vcard import contact_to_vcard
from core.storage.catalog import ItemVersion
from core.workloads.base import Rendered

if TYPE_CHECKING:
    from core.bootstrap import Services

VCARD, ICALENDAR = "text/vcard", "text/calendar"
_ALL = "\x00all"  # key of every exception hash of a calendar (no Graph id has a NUL)


def contact_bytes(services: Services, version: ItemVersion) -> bytes:
    contact = json.loads(services.content.read(version.content_hash))
    extra = json.loads(version.extra) if version.extra else {}
    photo = services.content.read(extra["photo"]) if extra.get("photo") else None
    return contact_to_vcard(contact, photo).encode("utf-8")


def series_exceptions(services: Services, scope: Scope, calendar_id: str) -> dict[str, list[str]]:
    """series master id -> content hashes of its exceptions kept in the calendar as of the scope's run."""
    found: dict[str, list[str]] = {}
    versions = services.catalog.as_of(scope.resource, scope.category, scope.run_id, folder_ids=[calendar_id])
    for version in versions:
        event = json.loads(services.content.read(version.content_hash))
        if event.get("type") == "exception" and isinstance(event.get("seriesMasterId"), str):
            found.setdefault(event["seriesMasterId"], []).append(version.content_hash)
    return found


def event_bytes(services: Services, version: ItemVersion, exceptions: list[str]) -> bytes:
    """The event as iCalendar: a series master with its RRULE and its exceptions (their content hashes)."""
    events = [json.loads(services.content.read(sha)) for sha in (version.content_hash, *exceptions)]
    return events_to_ics(events).encode("utf-8")


def _rendered(data: bytes) -> Rendered:
    return Rendered(iter([data]), len(data), hashlib.sha256(data).hexdigest())


def contact_file(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    return _rendered(contact_bytes(services, version))


def event_file(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    exceptions: list[str] = []
    if json.loads(services.content.read(version.content_hash)).get("type") == "seriesMaster":
        exceptions = series_exceptions(services, scope, version.folder_id).get(version.item_id, [])
    return _rendered(event_bytes(services, version, exceptions))


def write_contacts_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """Contacts as .vcf, one file per contact laid out by contact folder."""

    def render(version: ItemVersion) -> tuple[str, Iterator[bytes]]:
        name = f"{version.name or scope.category} {short_id(version.item_id)}.vcf"
        return name, iter([contact_bytes(services, version)])

    head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
    items = iter(work_progress.counted(lambda: selected(services, scope, folder)))  # watched: counted first
    return {"run_id": scope.run_id, **write_items_zip(out, items, render, head, when=lambda v: parse_time(v.modified))}


def write_events_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """Events as .ics, one file per event laid out by calendar. An exception is written inside its series' file
    when the series is there, else as a file of its own."""
    exceptions: dict[str, dict[str, list[str]]] = {}  # calendar id -> master id -> exception hashes
    grouped: set[str] = set()  # content hashes of exceptions written with their master

    def render(version: ItemVersion) -> tuple[str, Iterator[bytes]]:
        name = f"{version.name or scope.category} {short_id(version.item_id)}.ics"
        _is_exception(services, scope, version, exceptions)  # loads the calendar's exceptions once
        own = exceptions[version.folder_id].get(version.item_id, [])
        grouped.update(own)
        return name, iter([event_bytes(services, version, own)])

    def items() -> Iterator[tuple[ItemVersion, str]]:
        held: list[tuple[ItemVersion, str]] = []  # exceptions: written last, unless their series took them
        for version, path in work_progress.counted(lambda: selected(services, scope, folder)):  # watched: counted first
            if _is_exception(services, scope, version, exceptions):
                held.append((version, path))
                continue
            yield version, path
        for version, path in held:
            if version.content_hash in grouped:  # written inside its series' file
                work_progress.finished(version.item_id)
            else:
                yield version, path

    head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
    counts = write_items_zip(out, items(), render, head, when=lambda v: parse_time(v.received))
    return {"run_id": scope.run_id, **counts}


def _is_exception(
    services: Services, scope: Scope, version: ItemVersion, exceptions: dict[str, dict[str, list[str]]]
) -> bool:
    if version.folder_id not in exceptions:
        found = series_exceptions(services, scope, version.folder_id)
        found[_ALL] = [sha for hashes in found.values() for sha in hashes]
        exceptions[version.folder_id] = found
    return version.content_hash in exceptions[version.folder_id][_ALL]
