"""The stored blob format (core/storage/blob_format.py) in memory: round trips of every flag combination and of
content across segment boundaries, and the refusals: a changed, reordered, dropped or cut-off segment, a changed
header, the wrong data key, another content's blob."""

from __future__ import annotations

import hashlib
import os

import pytest

from core.errors import ContentIntegrityError
from core.storage.blob_format import SALT, decode, encode

LOG2 = 12  # 4 KiB segments, so a few KiB of content spans several
KEY = ("dk-202612", bytes(range(32)))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(data: bytes, compress: bool, key=KEY, piece: int = 1000) -> bytes:
    chunks = [data[i : i + piece] for i in range(0, len(data), piece)] or [b""]
    return b"".join(encode(chunks, sha(data), compress, key, segment_log2=LOG2))


def opened(blob: bytes, digest: str, key: bytes = KEY[1], piece: int = 777) -> bytes:
    pieces = [blob[i : i + piece] for i in range(0, len(blob), piece)]
    return b"".join(decode(pieces, digest, lambda key_id: key))


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 5])
@pytest.mark.parametrize(("compress", "encrypt"), [(True, False), (False, True), (True, True)])
def test_round_trip_across_segment_boundaries(size, compress, encrypt):
    data = os.urandom(size // 2) + b"compressible " * (size // 26) + b"x" * (size - size // 2 - 13 * (size // 26))
    assert len(data) == size
    blob = stored(data, compress, KEY if encrypt else None)
    assert opened(blob, sha(data)) == data
    if encrypt:
        assert b"compressible" not in blob and KEY[0].encode() in blob[:20]


def test_compression_shrinks_text_and_encryption_adds_a_tag_per_segment():
    text = b"the team agreed to move forward with the plan " * 2000
    assert len(stored(text, compress=True, key=None)) < len(text) / 20
    plain_sealed = stored(text, compress=False)
    segments = -(-len(text) // 4096)
    header = 4 + 4 + len(KEY[0]) + SALT
    assert len(plain_sealed) == header + len(text) + 16 * segments


def test_every_change_to_a_sealed_blob_fails_authentication():
    data = os.urandom(3 * 4096 + 100)
    blob = stored(data, compress=False)
    head = 8 + len(KEY[0]) + SALT
    seg = 4096 + 16
    body = blob[head:]
    segments = [body[i : i + seg] for i in range(0, len(body), seg)]
    flipped = bytearray(blob)
    flipped[head + 10] ^= 1
    changed_header = bytearray(blob)
    changed_header[head - 1] ^= 1  # the salt
    cases = {
        "a flipped bit": bytes(flipped),
        "a changed header": bytes(changed_header),
        "segments swapped": blob[:head] + segments[1] + segments[0] + b"".join(segments[2:]),
        "the last segment dropped": blob[:head] + b"".join(segments[:-1]),
        "cut off after the header": blob[:head],
    }
    for what, bad in cases.items():
        with pytest.raises(ContentIntegrityError, match="fails authentication"):
            opened(bad, sha(data))
        assert what
    with pytest.raises(ContentIntegrityError, match="dk-202612"):
        opened(blob, sha(data), key=bytes(32))  # the wrong data key
    other = os.urandom(10)
    with pytest.raises(ContentIntegrityError, match="fails authentication"):
        opened(blob, sha(other))  # a blob copied under another content's name


def test_not_a_blob_of_this_format():
    for bad in (b"", b"M3B", b"PK\x03\x04 a zip, not ours", b"M3BK\x09\x00\x16\x00"):
        with pytest.raises(ContentIntegrityError):
            opened(bad, sha(b"x"))
