"""Downloads as of a run, for the HTTP API (host-agnostic): one item as a standard file, or a folder (and below) or
a whole resource as a zip.

    a file      its bytes, media type from its name        a message   .eml (its stored MIME, message/rfc822)
    a contact   .vcf (text/vcard)                          an event    .ics (text/calendar, with its exceptions)

`open_download` and `open_zip` do every check that can fail with NotFoundError (run, item or folder, a missing
blob) before they return, so the caller can still answer 404 before any byte is sent. Bytes then stream: a file
or a message goes from blob storage chunk by chunk and is verified against its SHA-256 address as it passes (a
ContentIntegrityError after the last chunk: the caller must then abort the response); a zip is written into any
write-only stream with memory bounded by one chunk plus a small record per item."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from core.catalog_view import MAIL, Scope, category_of, open_scope, parse_time
from core.errors import NotFoundError
from core.exports.files_export import check_folder, selected, split_name, write_files_zip, write_items_zip
from core.exports.ical import events_to_ics
from core.exports.mail_export import export_mail_zip, safe_segment, short_id
from core.exports.vcard import contact_to_vcard
from core.models import ResourceKey
from core.storage.catalog import ItemVersion
from core.workloads.contacts_backup import CONTACT
from core.workloads.drive_backup import FILE
from core.workloads.events_backup import EVENT

if TYPE_CHECKING:
    from core.bootstrap import Services

MEDIA_TYPES = {MAIL: "message/rfc822", CONTACT: "text/vcard", EVENT: "text/calendar"}
SUFFIXES = {MAIL: ".eml", CONTACT: ".vcf", EVENT: ".ics"}
FALLBACK_NAMES = {MAIL: "no subject", CONTACT: "contact", EVENT: "event", FILE: "file"}
OCTET_STREAM = "application/octet-stream"
_ALL = "\x00all"  # key of every exception hash of a calendar (no Graph id has a NUL)


@dataclass(frozen=True)
class Download:
    filename: str  # safe on every OS
    media_type: str
    size: int | None  # bytes, when known before streaming
    chunks: Iterator[bytes]  # iterate once; verified against `sha256` as it streams (files and messages)
    sha256: str  # of the bytes served


@dataclass(frozen=True)
class ZipExport:
    filename: str
    run_id: str
    write_to: Callable[[BinaryIO | Any], dict[str, Any]]  # writes the zip into a stream (only write()); counts


def _version(services: Services, resource: str, category: str, item_id: str, run_id: str) -> ItemVersion | None:
    for version in services.catalog.history(resource, category, item_id):
        if version.live_at(run_id):
            return version
    return None


def _find(services: Services, resource: str, item_id: str, run_id: str, category: str | None) -> ItemVersion:
    """The item's version as of the run; for a mailbox without a category: a message, else a contact or event."""
    explicit = category_of(resource, category)
    candidates = [explicit] if category is not None or explicit == FILE else [MAIL, CONTACT, EVENT]
    for candidate in candidates:
        version = _version(services, resource, candidate, item_id, run_id)
        if version is not None:
            return version
    raise NotFoundError(f"no item {item_id!r} in the backup of {resource!r} as of run {run_id}")


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Reads the first chunk now (so a missing blob is a NotFoundError before anything is sent)."""
    first = next(chunks, b"")

    def stream() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    return stream()


def contact_bytes(services: Services, version: ItemVersion) -> bytes:
    contact = json.loads(services.content.read(version.content_hash))
    extra = json.loads(version.extra) if version.extra else {}
    photo = services.content.read(extra["photo"]) if extra.get("photo") else None
    return contact_to_vcard(contact, photo).encode("utf-8")


def series_exceptions(services: Services, scope: Scope, calendar_id: str) -> dict[str, list[str]]:
    """series master id -> content hashes of its exceptions kept in the calendar as of the scope's run. Each
    event's JSON is read once and dropped: memory holds one small record per exception."""
    found: dict[str, list[str]] = {}
    for version in services.catalog.as_of(scope.resource, EVENT, scope.run_id, folder_ids=[calendar_id]):
        event = json.loads(services.content.read(version.content_hash))
        if event.get("type") == "exception" and isinstance(event.get("seriesMasterId"), str):
            found.setdefault(event["seriesMasterId"], []).append(version.content_hash)
    return found


def event_bytes(services: Services, version: ItemVersion, exceptions: list[str]) -> bytes:
    """The event as iCalendar: a series master with its RRULE and its exceptions (their content hashes)."""
    events = [json.loads(services.content.read(sha)) for sha in (version.content_hash, *exceptions)]
    return events_to_ics(events).encode("utf-8")


def _file_name(version: ItemVersion, category: str) -> str:
    suffix = SUFFIXES.get(category, "")
    stem, suffix = split_name(version.name, FALLBACK_NAMES[category], suffix)
    return stem + suffix


def open_download(
    services: Services,
    resource: str,
    item_id: str,
    run_id: str | None = None,
    at: datetime | None = None,
    category: str | None = None,
) -> Download:
    """One item as of the point (the given run, the last one at or before `at`, or the latest usable one).
    A mailbox item without `category` is looked for as a message, then a contact, then an event. NotFoundError
    for an unknown run, item, or missing content; raised here, before any byte is read by the caller."""
    run = services.runs.resolve_point(resource, run_id, at)
    version = _find(services, resource, item_id, run, category)
    name = _file_name(version, version.category)
    if version.category in (MAIL, FILE):
        media_type = MEDIA_TYPES.get(version.category) or mimetypes.guess_type(name)[0] or OCTET_STREAM
        chunks = _primed(services.content.iter_chunks(version.content_hash))
        return Download(name, media_type, version.size, chunks, version.content_hash)
    if version.category == CONTACT:
        data = contact_bytes(services, version)
    else:
        exceptions: list[str] = []
        if json.loads(services.content.read(version.content_hash)).get("type") == "seriesMaster":
            found = series_exceptions(services, Scope(resource, run, EVENT), version.folder_id)
            exceptions = found.get(version.item_id, [])
        data = event_bytes(services, version, exceptions)
    media = MEDIA_TYPES[version.category]
    return Download(name, media, len(data), iter([data]), hashlib.sha256(data).hexdigest())


def _zip_name(resource: str, category: str, run: str, folder: str | None) -> str:
    key = ResourceKey.parse(resource)
    tail = f" {folder.rsplit('/', 1)[-1]}" if folder else ""
    return safe_segment(f"{key.workload} {key.owner} {category}{tail} {run}", "export", max_bytes=150) + ".zip"


def open_zip(
    services: Services,
    resource: str,
    folder: str | None = None,
    run_id: str | None = None,
    at: datetime | None = None,
    category: str | None = None,
) -> ZipExport:
    """A zip of `folder` and below (None: the whole resource) as of the point: messages as .eml laid out by
    folder (with the mail export's manifest), files in their folder structure, contacts as .vcf files, events
    as .ics files (a series with its exceptions), each kind with a manifest.json. The run, category and folder
    are checked here (NotFoundError, InvalidRequestError) before `write_to` writes any byte."""
    category = category_of(resource, category)
    run = services.runs.resolve_point(resource, run_id, at)
    scope = open_scope(services, resource, run, category)
    check_folder(scope, folder)
    name = _zip_name(resource, category, run, folder)
    if category == MAIL:
        return ZipExport(name, run, lambda out: export_mail_zip(services, resource, run, out, folder=folder))
    if category == FILE:
        return ZipExport(name, run, lambda out: {"run_id": run, **write_files_zip(services, scope, folder, out)})
    return ZipExport(name, run, lambda out: _write_pim_zip(services, scope, folder, out))


def _write_pim_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """Contacts as .vcf, events as .ics, one file per item laid out by folder / calendar. An event exception is
    written inside its series' file when the series is there, else as a file of its own."""
    category = scope.category
    exceptions: dict[str, dict[str, list[str]]] = {}  # calendar id -> master id -> exception hashes
    grouped: set[str] = set()  # content hashes of exceptions written with their master

    def render(version: ItemVersion) -> tuple[str, Iterator[bytes]]:
        name = f"{version.name or FALLBACK_NAMES[category]} {short_id(version.item_id)}{SUFFIXES[category]}"
        if category == CONTACT:
            return name, iter([contact_bytes(services, version)])
        _is_exception(services, scope, version, exceptions)  # loads the calendar's exceptions once
        own = exceptions[version.folder_id].get(version.item_id, [])
        grouped.update(own)
        return name, iter([event_bytes(services, version, own)])

    def items() -> Iterator[tuple[ItemVersion, str]]:
        held: list[tuple[ItemVersion, str]] = []  # exceptions: written last, unless their series took them
        for version, path in selected(services, scope, folder):
            if category == EVENT and _is_exception(services, scope, version, exceptions):
                held.append((version, path))
                continue
            yield version, path
        yield from ((v, p) for v, p in held if v.content_hash not in grouped)

    head = {"resource": scope.resource, "run_id": scope.run_id, "category": category, "folder": folder}
    when = (lambda v: parse_time(v.modified)) if category == CONTACT else (lambda v: parse_time(v.received))
    return {"run_id": scope.run_id, **write_items_zip(out, items(), render, head, when=when)}


def _is_exception(
    services: Services, scope: Scope, version: ItemVersion, exceptions: dict[str, dict[str, list[str]]]
) -> bool:
    if version.folder_id not in exceptions:
        found = series_exceptions(services, scope, version.folder_id)
        found[_ALL] = [sha for hashes in found.values() for sha in hashes]
        exceptions[version.folder_id] = found
    return version.content_hash in exceptions[version.folder_id][_ALL]
