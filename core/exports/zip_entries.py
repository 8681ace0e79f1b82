"""The loop every export zip shares: each catalog item streamed into its own entry, then `manifest.json` naming
each entry's item id, SHA-256 (of the stored content), path in the zip, size and folder, and every item that
could not be exported.

An item whose content cannot be opened (NotFoundError or StorageError before its first chunk) is left out; one
whose content fails verification (ContentIntegrityError after its last chunk) is still in the zip, since it was
streamed before the check could finish, but listed under `failures`: never silently. Each item, written or not, is
told to whoever watches (core/work_progress.py: the CLI's progress line)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from core import work_progress
from core.errors import ContentIntegrityError, NotFoundError, StorageError
from core.exports.zip_stream import ZipStreamWriter
from core.storage.catalog import ItemVersion

MANIFEST = "manifest.json"

Entry = tuple[str, str, str, int, str]  # compact, one per item: (item id, sha256, path in the zip, size, folder)

# (version, its folder path) -> (a label, the bytes as chunks); raising NotFoundError or StorageError, here or at
# the first chunk, leaves the item out (listed under failures)
OpenItem = Callable[[ItemVersion, str], tuple[str, Iterator[bytes]]]
# (label, folder path) -> the entry's unique name in the zip; called once the first chunk is in hand
EntryName = Callable[[str, str], str]


class UniqueNames:
    """Unique entry names, compared the way case-insensitive file systems (Windows, macOS) would."""

    def __init__(self, reserved: tuple[str, ...] = (MANIFEST,)) -> None:
        self._taken: set[str] = {r.casefold() for r in reserved}

    def claim(self, directory: str, stem: str, suffix: str) -> str:
        prefix = f"{directory}/" if directory else ""
        n = 1
        while True:
            name = f"{prefix}{stem}{suffix}" if n == 1 else f"{prefix}{stem} ({n}){suffix}"
            if name.casefold() not in self._taken:
                self._taken.add(name.casefold())
                return name
            n += 1


def _manifest(head: dict[str, Any], listing: str, entries: list[Entry], failures: list) -> Iterator[bytes]:
    """manifest.json, encoded a line per item (it is one more thing not to hold whole in memory)."""
    yield json.dumps(head, ensure_ascii=False)[:-1].encode("utf-8") + f', "{listing}": [\n'.encode()
    for n, (item_id, sha, name, size, path) in enumerate(entries):
        line = {"id": item_id, "sha256": sha, "path": name, "size": size, "folder": path}
        yield (b",\n" if n else b"") + json.dumps(line, ensure_ascii=False).encode("utf-8")
    yield b'\n], "failures": ' + json.dumps(failures, ensure_ascii=False).encode("utf-8") + b"}\n"


def _failure(version: ItemVersion, exc: Exception, name: str | None = None) -> dict[str, str]:
    path = {"path": name} if name is not None else {}
    return {"id": version.item_id, "sha256": version.content_hash, **path, "error": str(exc)[:500]}


def write_entries_zip(
    out: BinaryIO | Any,
    items: Iterable[tuple[ItemVersion, str]],
    open_item: OpenItem,
    entry_name: EntryName,
    when: Callable[[ItemVersion], datetime | None],
    head: dict[str, Any],
    listing: str = "items",
) -> dict[str, int]:
    """Write a zip of `items` (version, folder path) to `out` (only `write()` is needed): each opened by
    `open_item`, named by `entry_name` from its label, dated by `when`; then manifest.json (`head` and the
    entries under `listing`, then the failures). Returns the counts: items, bytes (uncompressed), zip_bytes,
    failed."""
    entries: list[Entry] = []
    failures: list[dict[str, str]] = []
    total = 0
    with ZipStreamWriter(out) as zw:
        for version, path in items:
            try:
                label, chunks = open_item(version, path)
                first = next(chunks, b"")  # a missing blob fails here, before the entry is begun
            except (NotFoundError, StorageError) as exc:
                failures.append(_failure(version, exc))
                work_progress.finished(version.item_id, "failed")
                continue
            name = entry_name(label, path)

            def body(first: bytes = first, rest: Iterator[bytes] = chunks) -> Iterator[bytes]:
                yield first
                yield from rest

            try:
                size = zw.write_stream(name, body(), size=version.size or None, when=when(version))
            except ContentIntegrityError as exc:
                failures.append(_failure(version, exc, name))
                work_progress.finished(version.item_id, "failed")
                continue
            total += size
            entries.append((version.item_id, version.content_hash, name, size, path))
            work_progress.finished(version.item_id)
        zw.write_stream(MANIFEST, _manifest(head, listing, entries, failures))
    return {"items": len(entries), "bytes": total, "zip_bytes": zw.bytes_written, "failed": len(failures)}
