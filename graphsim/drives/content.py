"""File content for simulated drives: QuickXorHash, deterministic generated content (any size, produced in chunks on
the fly, never held whole), and stored content (small in memory, large spilled to a file in the state directory)."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20  # generated content is made 1 MiB at a time
WIDTH = 160  # QuickXorHash width in bits; byte i lands at bit (11 * i) mod 160
_MASK = (1 << WIDTH) - 1
_BLOCK_BITS = WIDTH * 8  # 160 bytes share one accumulator pattern


class QuickXorHash:
    """Microsoft's QuickXorHash (OneDrive for Business `file.hashes.quickXorHash`), fed in any pieces.

    Byte i is XORed into a 160-bit register rotated left by 11*i bits; the 64-bit little-endian length is XORed into
    the last 8 bytes. Since the rotation repeats every 160 bytes, bytes at the same position mod 160 are XORed first;
    that folding is done on Python big integers (C speed), so a GiB hashes in seconds rather than minutes."""

    def __init__(self) -> None:
        self._acc = bytearray(160)  # _acc[k]: XOR of every byte at position k mod 160
        self._length = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        data = memoryview(data).cast("B")
        pos = self._length % 160
        self._length += len(data)
        head = min(len(data), (160 - pos) % 160)
        for j in range(head):
            self._acc[pos + j] ^= data[j]
        body = data[head:]
        blocks = len(body) // 160
        if blocks:
            folded = _fold(int.from_bytes(body[: blocks * 160], "little"), blocks)
            for k, b in enumerate(folded.to_bytes(160, "little")):
                self._acc[k] ^= b
        for j, b in enumerate(body[blocks * 160 :]):
            self._acc[j] ^= b

    def digest(self) -> bytes:
        register = 0
        for k, b in enumerate(self._acc):
            if b:
                shift = (11 * k) % WIDTH
                register ^= ((b << shift) | (b >> (WIDTH - shift))) & _MASK
        out = bytearray(register.to_bytes(20, "little"))
        for i, b in enumerate(self._length.to_bytes(8, "little")):
            out[12 + i] ^= b
        return bytes(out)

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def _fold(value: int, blocks: int) -> int:
    """XOR together `blocks` consecutive 160-byte little-endian blocks of `value`."""
    acc = 0
    block_mask = (1 << _BLOCK_BITS) - 1
    while blocks > 1:
        if blocks % 2:
            acc ^= value & block_mask
            value >>= _BLOCK_BITS
            blocks -= 1
        half = blocks // 2 * _BLOCK_BITS
        value = (value & ((1 << half) - 1)) ^ (value >> half)
        blocks //= 2
    return acc ^ value


def quick_xor_hash(data: bytes) -> str:
    h = QuickXorHash()
    h.update(data)
    return h.b64digest()


# --- generated content ---
_bases: OrderedDict[str, bytes] = OrderedDict()
_bases_lock = threading.Lock()


def _base(key: str, size: int) -> bytes:
    """Random bytes (at most 1 MiB) that a generated file's chunks are cut from; a few kept in an LRU."""
    cache_key = f"{key}|{min(size, CHUNK)}"
    with _bases_lock:
        base = _bases.get(cache_key)
        if base is not None:
            _bases.move_to_end(cache_key)
            return base
    base = random.Random(cache_key).randbytes(max(1, min(size, CHUNK)))
    with _bases_lock:
        _bases[cache_key] = base
        while len(_bases) > 16:
            _bases.popitem(last=False)
    return base


def generated_chunk(key: str, size: int, index: int) -> bytes:
    """Chunk `index` (1 MiB each, the last shorter) of the generated content named `key` of `size` bytes: the base
    rotated by a per-chunk amount behind a per-chunk 32-byte stamp, so no two chunks are equal."""
    start = index * CHUNK
    length = min(CHUNK, size - start)
    if length <= 0:
        return b""
    base = _base(key, size)
    stamp = hashlib.sha256(f"{key}:{index}".encode()).digest()
    r = int.from_bytes(stamp[:4], "big") % len(base)
    data = stamp + base[r:] + base[:r]
    while len(data) < length:  # only when size < 1 MiB and the stamp pushed the base past it: never short
        data += base
    return data[:length]


@dataclass
class Content:
    """One version of a file's bytes: generated (`key`), in memory (`data`) or in a spill file (`path`)."""

    size: int
    key: str | None = None
    data: bytes | None = None
    path: Path | None = None
    sha256: str | None = None
    quick_xor: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def iter_range(self, start: int = 0, end: int | None = None, chunk: int = CHUNK) -> Iterator[bytes]:
        """Bytes start..end (inclusive end, default the last byte), in pieces of at most `chunk`."""
        end = self.size - 1 if end is None else min(end, self.size - 1)
        if self.data is not None:
            for pos in range(start, end + 1, chunk):
                yield self.data[pos : min(pos + chunk, end + 1)]
        elif self.path is not None:
            with self.path.open("rb") as f:
                f.seek(start)
                remaining = end + 1 - start
                while remaining > 0:
                    piece = f.read(min(chunk, remaining))
                    if not piece:
                        return
                    remaining -= len(piece)
                    yield piece
        else:
            assert self.key is not None
            pos = start
            while pos <= end:
                index, offset = divmod(pos, CHUNK)
                piece = generated_chunk(self.key, self.size, index)[offset : offset + min(chunk, end + 1 - pos)]
                pos += len(piece)
                yield piece

    def ensure_hashes(self) -> None:
        """Compute sha256 and quickXorHash in one streamed pass (once; later calls return at once)."""
        with self._lock:
            if self.sha256 is not None and self.quick_xor is not None:
                return
            sha, qx = hashlib.sha256(), QuickXorHash()
            for piece in self.iter_range(0, None, 8 * CHUNK) if self.size else ():
                sha.update(piece)
                qx.update(piece)
            self.sha256, self.quick_xor = sha.hexdigest(), qx.b64digest()


class ContentWriter:
    """Receives an upload in order, hashing as it goes; small ones stay in memory, big ones go to a spill file."""

    def __init__(self, spill_dir: Path, total: int, memory_limit: int = 4 << 20) -> None:
        self.total = total
        self.received = 0
        self._sha, self._qx = hashlib.sha256(), QuickXorHash()
        self._buffer: bytearray | None = bytearray() if total <= memory_limit else None
        self._path: Path | None = None
        self._file = None
        if self._buffer is None:
            spill_dir.mkdir(parents=True, exist_ok=True)
            self._path = spill_dir / f"upload-{os.urandom(12).hex()}.bin"
            self._file = self._path.open("wb")

    def write(self, piece: bytes) -> None:
        self._sha.update(piece)
        self._qx.update(piece)
        self.received += len(piece)
        if self._buffer is not None:
            self._buffer += piece
        else:
            assert self._file is not None
            self._file.write(piece)

    def finish(self) -> Content:
        if self._file is not None:
            self._file.close()
        data = bytes(self._buffer) if self._buffer is not None else None
        return Content(
            self.received, data=data, path=self._path, sha256=self._sha.hexdigest(), quick_xor=self._qx.b64digest()
        )

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
