"""Zips of catalog items laid out by folder, as of a run: a OneDrive's or SharePoint site's files (a folder and
below, or everything) with their folder structure, and the same for any item category given a way to render an
item as bytes (contacts as .vcf, events as .ics: see core/exports/pim_files.py). `manifest.json` names each entry's
item id, SHA-256 (of the stored content), size and folder, and any item that could not be exported.

Everything streams as mail zips do: the catalog is read page by page, each file goes from blob storage to the
output chunk by chunk (verified against its SHA-256 address as it passes) and the zip is written without seeking,
so memory stays bounded by one chunk plus a small record per item, whatever the size of the drive."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from core.catalog_view import Scope, parse_time
from core.errors import NotFoundError
from core.exports.mail_export import safe_segment, short_id
from core.exports.zip_entries import UniqueNames, write_entries_zip
from core.storage.catalog import ItemVersion
from core.work_progress import counted
from core.workloads.folder_paths import is_within, split_path

if TYPE_CHECKING:
    from core.bootstrap import Services

_MAX_NAME_BYTES = 120
TOP = "(top)"  # the directory of items with no folder (never a drive's files: those sit at the zip's root)

# version -> (its file name, the bytes as chunks); raising NotFoundError or StorageError
# before the first chunk leaves the item out (listed under failures)
Render = Callable[[ItemVersion], tuple[str, Iterator[bytes]]]


def split_name(name: str, fallback: str, suffix: str = "") -> tuple[str, str]:
    """(stem, suffix) of a safe file name: `suffix` if given, else the name's own extension (kept whole when the
    stem has to be cut to fit)."""
    if not suffix:
        stem, suffix = os.path.splitext(name)
        suffix = safe_segment(suffix, "", max_bytes=16) if suffix else ""
        suffix = "." + suffix.lstrip(".") if suffix.strip(".") else ""
    else:
        stem = name
    return safe_segment(stem, fallback, max_bytes=_MAX_NAME_BYTES - len(suffix.encode()) - 16), suffix


def directory(path: str, top: str) -> str:
    segments = split_path(path)
    return "/".join(safe_segment(s) for s in segments) if segments else top


def check_folder(scope: Scope, folder: str | None) -> None:
    """NotFoundError unless `folder` (None: everything) is a folder as of the scope's run."""
    if folder is not None and not any(p and is_within(p, folder) for p in scope.paths.values()):
        raise NotFoundError(f"no folder {folder!r} in the backup of {scope.resource!r} as of run {scope.run_id}")


def selected(services: Services, scope: Scope, folder: str | None) -> Iterator[tuple[ItemVersion, str]]:
    """(version, folder path) of every item of the scope in `folder` and below, streamed page by page."""
    ids = None
    if folder is not None:
        ids = scope.server_filter([k for k, p in scope.paths.items() if p and is_within(p, folder)])
    for version in services.catalog.as_of(scope.resource, scope.category, scope.run_id, folder_ids=ids):
        path = scope.path_of(version)
        if folder is None or is_within(path, folder):
            yield version, path


def write_items_zip(
    out: BinaryIO | Any,
    items: Iterator[tuple[ItemVersion, str]],
    render: Render,
    head: dict[str, Any],
    top: str = TOP,
    when: Callable[[ItemVersion], datetime | None] = lambda v: parse_time(v.modified),
) -> dict[str, Any]:
    """Write a zip of `items` (version, folder path) to `out` (only `write()` is needed), each rendered by
    `render` into `<folder path>/<name>` (every segment safe for any OS, names unique), then manifest.json.
    Returns the counts: items, bytes (uncompressed), zip_bytes, failed."""
    names = UniqueNames()

    def entry_name(file_name: str, path: str) -> str:
        return names.claim(directory(path, top), *split_name(file_name, "item"))

    return write_entries_zip(out, items, lambda version, _path: render(version), entry_name, when, head)


def write_files_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """The zip of a files scope whose folder has been checked (see `check_folder`)."""

    def render(version: ItemVersion) -> tuple[str, Iterator[bytes]]:
        return version.name or f"file {short_id(version.item_id)}", services.content.iter_chunks(version.content_hash)

    head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
    items = counted(lambda: selected(services, scope, folder))  # watched: counted first (core/work_progress.py)
    return write_items_zip(out, iter(items), render, head, top="")
