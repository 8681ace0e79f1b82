"""A zip writer that streams: entries go to any writable byte stream chunk by chunk, so an archive of any size is
written with memory bounded by one chunk (plus one small central-directory record per entry).

Built on the standard `zipfile` module, which handles a non-seekable output on its own: it writes each entry with
a data descriptor (sizes and CRC after the data), and ZIP64 records where sizes or offsets need them. The output
only needs `write()`; a missing `tell()` or `flush()` is supplied here (an HTTP response body, a pipe, a socket)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, BinaryIO

from core.errors import InvalidRequestError

# An entry announced as at least this large gets ZIP64 local records up front (the stdlib decides per entry from
# the size it is told; a streamed entry of unknown size that turns out larger than 4 GiB would otherwise fail).
_ZIP64_LIMIT = zipfile.ZIP64_LIMIT
_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Sink:
    """Adapts a write-only stream to what `zipfile` calls on its output: write, tell (a byte count), flush."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self.position = 0
        self.discard = False  # set on abort: nothing more reaches the output

    def write(self, data: bytes) -> int:
        if self.discard:
            return len(data)
        view = memoryview(data)
        written = 0
        while written < len(view):  # a raw stream may take less than it was given
            n = self._out.write(view[written:])
            written += len(view) - written if n is None else n
        self.position += written
        return written

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        if self.discard:
            return
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()


def _date_time(when: datetime | None) -> tuple[int, int, int, int, int, int]:
    if when is None:
        when = datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    if stamp < _EPOCH:  # the zip format cannot represent earlier times
        return _EPOCH
    return min(stamp, (2107, 12, 31, 23, 59, 58))


def check_entry_name(name: str) -> None:
    """Zip entry names must be relative, '/'-separated and free of '..' (no path traversal on extraction)."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("", ".", "..") for p in parts)
        or (len(parts[0]) >= 2 and parts[0][1] == ":")
    ):
        raise InvalidRequestError(f"unsafe zip entry name {name!r}")


class ZipStreamWriter:
    """Write a zip archive to `out` (anything with `write(bytes)`), one entry at a time.

        with ZipStreamWriter(out) as zw:
            zw.write_stream("Inbox/a.eml", chunks, size=1234, when=received)
            zw.write_bytes("manifest.json", data)

    Entries are deflated by default. Nothing is ever seeked back: every entry carries a data descriptor."""

    def __init__(self, out: BinaryIO | Any, compression: int = zipfile.ZIP_DEFLATED) -> None:
        self._sink = _Sink(out)
        self._compression = compression
        self._zip = zipfile.ZipFile(self._sink, "w", compression=compression)
        self._names: set[str] = set()
        self.entries = 0

    @property
    def bytes_written(self) -> int:
        """Bytes of archive written to the output so far."""
        return self._sink.position

    def _info(self, name: str, when: datetime | None, size: int | None) -> zipfile.ZipInfo:
        check_entry_name(name)
        if name in self._names:
            raise InvalidRequestError(f"duplicate zip entry name {name!r}")
        info = zipfile.ZipInfo(name, _date_time(when))
        info.compress_type = self._compression
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size  # lets zipfile decide on ZIP64 records for this entry
        return info

    def write_stream(
        self, name: str, chunks: Iterable[bytes], size: int | None = None, when: datetime | None = None
    ) -> int:
        """Write one entry from an iterable of byte chunks; returns its uncompressed size. `size` is a hint (the
        expected size); an unknown or wrong hint is fine below 4 GiB. If `chunks` raises, the entry is still
        closed (holding what was read) before the exception propagates, so the archive stays well formed."""
        info = self._info(name, when, size)
        force_zip64 = size is None or size * 1.05 > _ZIP64_LIMIT
        total = 0
        self._names.add(name)
        self.entries += 1
        with self._zip.open(info, "w", force_zip64=force_zip64) as entry:
            for chunk in chunks:
                if chunk:
                    entry.write(chunk)
                    total += len(chunk)
        return total

    def write_bytes(self, name: str, data: bytes, when: datetime | None = None) -> int:
        return self.write_stream(name, [data], size=len(data), when=when)

    def close(self) -> None:
        """Write the central directory (with ZIP64 end records if needed) and flush the output."""
        self._zip.close()

    def abort(self) -> None:
        """Stop without writing the central directory: the output is left a truncated, visibly invalid archive
        (a reader must not mistake an export that failed half way for a complete one)."""
        self._sink.discard = True
        try:
            self._zip.close()
        except (OSError, ValueError, RuntimeError):
            pass

    def __enter__(self) -> ZipStreamWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
