"""Mail exports as of a run: one message as `.eml` (its stored MIME, byte for byte), a folder tree or a whole
mailbox as a zip of `.eml` files laid out by folder, with a `manifest.json` naming each entry's item id and SHA-256.

Everything streams: the catalog is read page by page, each message's MIME goes from blob storage to the output
chunk by chunk (verified against its SHA-256 address as it passes), and the zip is written without seeking, so a
mailbox of any size is exported with memory bounded by one chunk plus a small record per message."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from core import work_progress
from core.errors import NotFoundError
from core.exports.zip_entries import UniqueNames, write_entries_zip
from core.storage.catalog import FOLDER, ItemVersion
from core.workloads.exchange.mail_backup import MAIL
from core.workloads.folder_paths import is_within, split_path

if TYPE_CHECKING:
    from core.bootstrap import Services

NO_FOLDER = "(no folder)"
_MAX_NAME_BYTES = 120  # per path segment, UTF-8: well under every common file system's 255
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def safe_segment(text: str, fallback: str = "_", max_bytes: int = _MAX_NAME_BYTES) -> str:
    """One path segment that is a valid file or directory name on Windows, macOS and Linux: no separators,
    reserved characters or control characters, no leading/trailing dots or spaces, no reserved device names,
    at most `max_bytes` UTF-8 bytes (cut at a character boundary)."""
    text = unicodedata.normalize("NFC", text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    encoded = text.encode("utf-8")[:max_bytes]
    text = encoded.decode("utf-8", errors="ignore").rstrip(" .")
    if not text:
        return fallback
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def short_id(item_id: str) -> str:
    """A short, stable tag for an item id (Graph ids share long prefixes, so a prefix would not do)."""
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:10]


def _received(version: ItemVersion) -> datetime | None:
    try:
        return datetime.fromisoformat(version.received.replace("Z", "+00:00")) if version.received else None
    except ValueError:
        return None


def _version_as_of(services: Services, resource: str, item_id: str, run_id: str) -> ItemVersion:
    version = services.catalog.version_as_of(resource, MAIL, item_id, run_id)  # the catalog's one as-of rule
    if version is not None:
        return version
    raise NotFoundError(f"no message {item_id!r} in the backup of {resource!r} as of run {run_id}")


def export_message(services: Services, resource: str, item_id: str, run_id: str | None, out: BinaryIO) -> int:
    """Write the message's MIME as it was at `run_id` (None: the latest usable run) to `out`; returns the bytes
    written. NotFoundError for an unknown run, message or stored content. The content is verified as it
    streams: a ContentIntegrityError is raised after the last chunk if it does not hash to its address, and the
    caller should then discard what was written."""
    run = services.runs.resolve_point(resource, run_id)
    version = _version_as_of(services, resource, item_id, run)
    written = 0
    for chunk in services.content.iter_chunks(version.content_hash):
        out.write(chunk)
        written += len(chunk)
    return written


def _directory(path: str) -> str:
    segments = split_path(path)
    if not segments:
        return safe_segment(NO_FOLDER)
    return "/".join(safe_segment(s) for s in segments)


def _selected(services: Services, resource: str, run_id: str, folder: str | None, category: str = MAIL,
              folder_category: str = FOLDER) -> Iterator[tuple[ItemVersion, str]]:  # fmt: skip
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, folder_category, run_id)}
    if folder is not None and not any(is_within(p, folder) for p in paths.values()):
        raise NotFoundError(f"no folder {folder!r} in the backup of {resource!r} as of run {run_id}")

    def versions() -> Iterator[tuple[ItemVersion, str]]:
        for version in services.catalog.as_of(resource, category, run_id):  # streamed page by page
            path = paths.get(version.folder_id, version.folder_path)
            if folder is None or is_within(path, folder):
                yield version, path

    return iter(work_progress.counted(versions))  # watched: counted first, for the progress line's total


def _stem(version: ItemVersion) -> str:
    subject = safe_segment(version.name, "no subject", max_bytes=_MAX_NAME_BYTES - 24)  # room for " <id> (n).eml"
    return f"{subject} {short_id(version.item_id)}"


def export_mail_zip(
    services: Services,
    resource: str,
    run_id: str | None,
    out: BinaryIO | Any,
    folder: str | None = None,
    category: str = MAIL,
    folder_category: str = FOLDER,
) -> dict[str, Any]:
    """Write a zip of the mailbox (or of `folder` and the folders below it) as of `run_id` (None: the latest
    usable run) to `out`, which only needs `write()`. Each message is `<folder path>/<subject> <short id>.eml`
    (every segment made safe for any OS, names unique); `manifest.json` lists each entry's item id, SHA-256,
    size, folder and path, and any message that could not be exported.

    A message whose content is missing is left out; one whose content fails verification is still in the zip
    (it was streamed before the check could finish) but listed under `failures`, never silently.
    Returns the counts: run_id, messages, bytes (MIME), zip_bytes, failed. `category`, `folder_category`: the
    catalog categories of the messages and their folders (an archive's are its own)."""
    run = services.runs.resolve_point(resource, run_id)
    selected = _selected(services, resource, run, folder, category, folder_category)
    names = UniqueNames()

    def open_item(version: ItemVersion, path: str) -> tuple[str, Iterator[bytes]]:
        name = names.claim(_directory(path), _stem(version), ".eml")  # claimed even if the content is missing
        return name, services.content.iter_chunks(version.content_hash)

    head = {"resource": resource, "run_id": run, "folder": folder}
    counts = write_entries_zip(out, selected, open_item, lambda name, _path: name, _received, head, "messages")
    return {
        "run_id": run,
        "messages": counts["items"],
        "bytes": counts["bytes"],
        "zip_bytes": counts["zip_bytes"],
        "failed": counts["failed"],
    }
