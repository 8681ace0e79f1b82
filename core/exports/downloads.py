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

import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from core.catalog_view import open_scope
from core.errors import NotFoundError
from core.exports.files_export import check_folder, split_name
from core.exports.mail_export import safe_segment
from core.models import ResourceKey
from core.storage.catalog import ItemVersion
from core.workloads.base import Category
from core.workloads.registry import category_for, workload_of

if TYPE_CHECKING:
    from core.bootstrap import Services

OCTET_STREAM = "application/octet-stream"


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


def _find(
    services: Services, resource: str, item_id: str, run_id: str, category: str | None
) -> tuple[Category, ItemVersion]:
    """The item's category and version as of the run; without a category, each of the workload's categories is
    looked in, in order (a mailbox item: a message, else a contact, else an event)."""
    candidates = [category_for(resource, category)] if category is not None else workload_of(resource).categories
    for candidate in candidates:
        version = services.catalog.version_as_of(resource, candidate.name, item_id, run_id)
        if version is not None:
            return candidate, version
    raise NotFoundError(f"no item {item_id!r} in the backup of {resource!r} as of run {run_id}")


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Reads the first chunk now (so a missing blob is a NotFoundError before anything is sent)."""
    first = next(chunks, b"")

    def stream() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    return stream()


def open_download(
    services: Services,
    resource: str,
    item_id: str,
    run_id: str | None = None,
    at: datetime | None = None,
    category: str | None = None,
) -> Download:
    """One item as of the point (the given run, the last one at or before `at`, or the latest usable one), as
    its category renders it (core/workloads/base.py Category.download). A mailbox item without `category` is
    looked for as a message, then a contact, then an event. NotFoundError for an unknown run, item, or missing
    content; raised here, before any byte is read by the caller."""
    run = services.runs.resolve_point(resource, run_id, at)
    kind, version = _find(services, resource, item_id, run, category)
    rendered = kind.download(services, open_scope(services, resource, run, kind), version)
    stem, suffix = split_name(version.name, kind.fallback_name, kind.suffix)
    name = stem + suffix
    media_type = kind.media_type or mimetypes.guess_type(name)[0] or OCTET_STREAM
    chunks = _primed(rendered.chunks)
    return Download(name, media_type, rendered.size, chunks, rendered.sha256 or version.content_hash)


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
    """A zip of `folder` and below (None: the whole resource) as of the point, as the category writes it: messages
    as .eml laid out by folder (with the mail export's manifest), files in their folder structure, contacts as .vcf
    files, events as .ics files (a series with its exceptions), each kind with a manifest.json. The run, category
    and folder are checked here (NotFoundError, InvalidRequestError) before `write_to` writes any byte."""
    kind = category_for(resource, category)
    run = services.runs.resolve_point(resource, run_id, at)
    scope = open_scope(services, resource, run, kind)
    check_folder(scope, folder)
    name = _zip_name(resource, kind.name, run, folder)
    return ZipExport(name, run, lambda out: kind.export_zip(services, scope, folder, out))
