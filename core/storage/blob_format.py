"""The stored form of a content blob when it is compressed or encrypted (plain content is stored as it came).

    header   magic b"M3BK" | version 1 | flags (1 zstd, 2 AES-256-GCM) | segment size as log2 | key id length |
             key id (ASCII) | salt (16 random bytes; encrypted blobs only)
    body     the content, zstd-compressed (one frame) if flagged, then if encrypted cut into segments of
             2**log2 bytes (4 MiB), each sealed with AES-256-GCM (16-byte tag appended)

Encryption follows the STREAM construction: segment i is sealed under nonce = 7 zero bytes | i (4 bytes, big
endian) | 1 if it is the last segment else 0, with the whole header as associated data. So a segment moved,
dropped, repeated or cut off, or a header changed, fails authentication. Every blob gets its own AES key,
HKDF-SHA256(data key, salt, info = label | the content's SHA-256): nonces never repeat under one key however many
blobs a data key seals, and a blob copied under another content's name fails too. Segments keep memory bounded
both ways: a write holds one segment, a read one segment and one decompressed piece, whatever the content's size.

A reader takes the blob's bytes in any pieces (`decode`), as the SDK hands them over; the caller still hashes the
plaintext against its address (core/storage/content_store.py)."""

from __future__ import annotations

import io
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ContentIntegrityError

MAGIC = b"M3BK"
VERSION = 1
COMPRESSED, ENCRYPTED = 1, 2
SEGMENT_LOG2 = 22  # 4 MiB segments
TAG = 16
SALT = 16
ZSTD_LEVEL = 3
_LABEL = b"m365backup content v1"
_FIXED = struct.Struct(">4sBBBB")  # magic, version, flags, segment log2, key id length


def _blob_key(data_key: bytes, salt: bytes, sha256: str) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_LABEL + bytes.fromhex(sha256))
    return AESGCM(hkdf.derive(data_key))


def _nonce(index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise ContentIntegrityError("content too large for one blob (2**32 segments)")
    return bytes(7) + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def header(flags: int, key_id: str = "", salt: bytes = b"", segment_log2: int = SEGMENT_LOG2) -> bytes:
    ident = key_id.encode("ascii")
    return _FIXED.pack(MAGIC, VERSION, flags, segment_log2, len(ident)) + ident + salt


def encode(
    chunks: Iterable[bytes],
    sha256: str,
    compress: bool,
    key: tuple[str, bytes] | None = None,
    salt: bytes | None = None,
    segment_log2: int = SEGMENT_LOG2,
) -> Iterator[bytes]:
    """The stored form of the content `chunks` (whose SHA-256 is `sha256`): zstd if `compress`, sealed under the
    data key `key` = (key id, 32 bytes) if given. `salt` is random unless given (tests)."""
    flags = (COMPRESSED if compress else 0) | (ENCRYPTED if key else 0)
    if key is not None:
        salt = salt if salt is not None else _random_salt()
        head = header(flags, key[0], salt, segment_log2)
    else:
        head = header(flags, segment_log2=segment_log2)
    yield head
    body = _compressed(chunks) if compress else chunks
    if key is None:
        yield from (piece for piece in body if piece)
        return
    aead, size = _blob_key(key[1], salt or b"", sha256), 1 << segment_log2
    pending, index = bytearray(), 0
    for piece in body:
        pending += piece
        while len(pending) > size:  # more than a segment: this one is not the last
            yield aead.encrypt(_nonce(index, False), bytes(pending[:size]), head)
            del pending[:size]
            index += 1
    yield aead.encrypt(_nonce(index, True), bytes(pending), head)


def _random_salt() -> bytes:
    return secrets.token_bytes(SALT)


def _compressed(chunks: Iterable[bytes], piece: int = 1 << 20) -> Iterator[bytes]:
    # a chunker, not a compressobj: it hands out whole pieces and is several times faster on large content here
    chunker = zstandard.ZstdCompressor(level=ZSTD_LEVEL).chunker(chunk_size=piece)
    for chunk in chunks:
        yield from chunker.compress(chunk)
    yield from chunker.finish()


def decode(pieces: Iterable[bytes], sha256: str, data_key: Callable[[str], bytes]) -> Iterator[bytes]:
    """The content of a stored blob given as `pieces`; `data_key(key id)` gives the key its header names.
    ContentIntegrityError for a blob that is not in this format or fails authentication."""
    stream = iter(pieces)
    buffer = bytearray()
    for piece in stream:  # the fixed header, then the key id and salt
        buffer += piece
        if len(buffer) >= _FIXED.size:
            break
    if len(buffer) < _FIXED.size:
        raise ContentIntegrityError(f"stored content {sha256} is too short for a blob header")
    magic, version, flags, log2, id_len = _FIXED.unpack_from(buffer)
    if magic != MAGIC or version != VERSION or flags & ~(COMPRESSED | ENCRYPTED) or not 12 <= log2 <= 30:
        found = bytes(buffer[:8]).hex()
        raise ContentIntegrityError(f"stored content {sha256} is not in a known blob format (header {found})")
    head_len = _FIXED.size + id_len + (SALT if flags & ENCRYPTED else 0)
    while len(buffer) < head_len:
        more = next(stream, None)
        if more is None:
            break
        buffer += more
    if len(buffer) < head_len:
        raise ContentIntegrityError(f"stored content {sha256} ends inside its header")
    head, rest = bytes(buffer[:head_len]), bytes(buffer[head_len:])
    body: Iterator[bytes] = _chain(rest, stream)
    if flags & ENCRYPTED:
        try:
            key_id = head[_FIXED.size : _FIXED.size + id_len].decode("ascii")
        except UnicodeDecodeError:
            raise ContentIntegrityError(f"stored content {sha256} names no readable key id") from None
        salt = head[_FIXED.size + id_len :]
        body = _opened(body, head, _blob_key(data_key(key_id), salt, sha256), 1 << log2, sha256, key_id)
    if flags & COMPRESSED:
        body = _decompressed(body, sha256)
    yield from body


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _opened(body: Iterator[bytes], head: bytes, aead: AESGCM, size: int, sha256: str, key_id: str) -> Iterator[bytes]:
    sealed = size + TAG
    pending, index = bytearray(), 0

    def open_segment(data: bytes, last: bool) -> bytes:
        try:
            return aead.decrypt(_nonce(index, last), data, head)
        except InvalidTag:
            raise ContentIntegrityError(
                f"stored content {sha256} fails authentication under data key {key_id!r} (segment {index}): "
                "changed or damaged behind the app's back"
            ) from None

    for piece in body:
        pending += piece
        while len(pending) > sealed:  # more than a sealed segment follows: this one is not the last
            yield open_segment(bytes(pending[:sealed]), last=False)
            del pending[:sealed]
            index += 1
    yield open_segment(bytes(pending), last=True)


class _IterReader(io.RawIOBase):
    """A readable over an iterator of bytes (what zstandard's stream_reader reads from)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._left:
            piece = next(self._pieces, b"")
            if not piece:
                return 0
            self._left = memoryview(piece)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _decompressed(body: Iterator[bytes], sha256: str, piece: int = 1 << 20) -> Iterator[bytes]:
    reader = zstandard.ZstdDecompressor().stream_reader(_IterReader(body), read_across_frames=False)
    try:
        while True:
            out = reader.read(piece)
            if not out:
                return
            yield out
    except zstandard.ZstdError as exc:
        raise ContentIntegrityError(f"stored content {sha256} does not decompress: {exc}") from None
