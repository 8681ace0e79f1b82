"""QuickXorHash against a literal transcription of Microsoft's reference algorithm (the C# snippet in the OneDrive
API documentation), against published vectors, across chunkings, and its speed (printed, not asserted)."""

from __future__ import annotations

import base64
import random
import time

import pytest

from core.graph.quickxor import QuickXorHash, quick_xor_hash


class ReferenceQuickXorHash:
    """Microsoft's reference QuickXorHash (HashCore/HashFinal), transcribed line by line with its 64-bit cells."""

    BITS_IN_LAST_CELL = 32
    SHIFT = 11
    WIDTH_IN_BITS = 160
    _M64 = (1 << 64) - 1

    def __init__(self) -> None:
        self.data = [0] * ((self.WIDTH_IN_BITS - 1) // 64 + 1)
        self.length_so_far = 0
        self.shift_so_far = 0

    def hash_core(self, array: bytes, ib_start: int, cb_size: int) -> None:
        current_shift = self.shift_so_far
        vector_array_index = current_shift // 64
        vector_offset = current_shift % 64
        iterations = min(cb_size, self.WIDTH_IN_BITS)
        for i in range(iterations):
            is_last_cell = vector_array_index == len(self.data) - 1
            bits_in_vector_cell = self.BITS_IN_LAST_CELL if is_last_cell else 64
            if vector_offset <= bits_in_vector_cell - 8:
                for j in range(ib_start + i, cb_size + ib_start, self.WIDTH_IN_BITS):
                    self.data[vector_array_index] ^= (array[j] << vector_offset) & self._M64
            else:
                index1 = vector_array_index
                index2 = 0 if is_last_cell else vector_array_index + 1
                low = bits_in_vector_cell - vector_offset
                xored_byte = 0
                for j in range(ib_start + i, cb_size + ib_start, self.WIDTH_IN_BITS):
                    xored_byte ^= array[j]
                self.data[index1] ^= (xored_byte << vector_offset) & self._M64
                self.data[index2] ^= xored_byte >> low
            vector_offset += self.SHIFT
            while vector_offset >= bits_in_vector_cell:
                vector_array_index = 0 if is_last_cell else vector_array_index + 1
                vector_offset -= bits_in_vector_cell
        self.shift_so_far = (self.shift_so_far + self.SHIFT * (cb_size % self.WIDTH_IN_BITS)) % self.WIDTH_IN_BITS
        self.length_so_far += cb_size

    def hash_final(self) -> bytes:
        rgb = bytearray((self.WIDTH_IN_BITS - 1) // 8 + 1)
        for i in range(len(self.data) - 1):
            rgb[i * 8 : i * 8 + 8] = self.data[i].to_bytes(8, "little")
        last = len(self.data) - 1
        rgb[last * 8 :] = self.data[last].to_bytes(8, "little")[: len(rgb) - last * 8]
        length_bytes = self.length_so_far.to_bytes(8, "little")
        for i in range(len(length_bytes)):
            rgb[(self.WIDTH_IN_BITS // 8) - len(length_bytes) + i] ^= length_bytes[i]
        return bytes(rgb)


def reference(data: bytes, chunk: int | None = None) -> bytes:
    ref = ReferenceQuickXorHash()
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        piece = data[start : start + step]
        ref.hash_core(piece, 0, len(piece))
    return ref.hash_final()


def ours(data: bytes, chunks: list[int] | None = None) -> bytes:
    h = QuickXorHash()
    if chunks is None:
        h.update(data)
    else:
        pos = 0
        for size in chunks:
            h.update(data[pos : pos + size])
            pos += size
        h.update(data[pos:])
    return h.digest()


# Published vectors (input, base64 digest) from rclone's backend/onedrive/quickxorhash tests.
VECTORS = [
    ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
    ("tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="),
    ("0pZP", "0rDEEwAAAAAAAAAAAwAAAAAAAAA="),
    ("/aNzzCFPS/A=", "/RjFHJgRgicsAR4ACAAAAAAAAAA="),
    ("2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="),
    ("T6LYJIfDh81JrAK309H2JMJTXis=", "zBTHrspn3mEcohlJdIUAbjGNaNg="),
    ("DWAAX5/CIfrmErgZa8ot6ZraeSbu", "LR2Z0PjuRYGKQB/mhQAuMrAGZbQ="),
    ("NbYXsp5/K6mR+NmHwExjvWeWDJFnXTKWVlzYHoesp2E=", "wjuAuWDiq04qDt1R8hHWDDcwVoQ="),
    (
        "Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==",
        "n1anP5NfvD4XDYWIeRPW3ZkPv1Y=",
    ),
    (
        "ikwCorI7PKWz17EI50jZCGbV9JU2E8bXVfxNMg5zdmqSZ2NlsQPp0kqYIPjzwTg1MBtfWPg53k0h0P2naJNEVgrqpoHTfV2b3pJ4m0zYPTJm"
        "UX4Bg/lOxcnCxAYKU29Y5F0U8Quz7ZXFBEweftXxJ7RS4r6N7BzJrPsLhY7hgck=",
        "imAoFvCWlDn4yVw3/oq1PDbbm6U=",
    ),
]


@pytest.mark.parametrize(("data_b64", "expected"), VECTORS)
def test_published_vectors(data_b64: str, expected: str):
    data = base64.b64decode(data_b64)
    assert quick_xor_hash(data) == expected
    assert base64.b64encode(reference(data)).decode() == expected  # and the transcription is faithful


def test_matches_the_reference_on_random_data_of_many_lengths():
    rng = random.Random(160)
    lengths = [*range(400), 479, 480, 481, 20479, 20480, 20481, 20480 * 64 + 7, 3 * 1024 * 1024 + 161]
    for length in lengths:
        data = rng.randbytes(length)
        assert ours(data) == reference(data), length


def test_every_chunking_gives_the_same_digest():
    rng = random.Random(11)
    data = rng.randbytes(50_000)
    expected = reference(data, chunk=997)  # the reference itself fed unaligned chunks
    assert reference(data) == expected
    for size in (1, 7, 159, 160, 161, 320, 4096, 20480, 20481, 49_999):
        assert ours(data, [size] * (len(data) // size)) == expected, size
    for _ in range(20):
        cuts = [rng.randint(0, 3000) for _ in range(40)]
        assert ours(data, cuts) == expected


def test_large_updates_are_cut_internally_and_match_many_small_ones():
    data = random.Random(3).randbytes(5 * 1024 * 1024 + 13)
    one = QuickXorHash(data)
    many = QuickXorHash()
    view = memoryview(data)
    for start in range(0, len(data), 65_536 + 3):
        many.update(view[start : start + 65_536 + 3])
    assert one.digest() == many.digest() and one.length == len(data)
    assert one.copy().base64() == one.base64() == base64.b64encode(one.digest()).decode()


def test_speed_is_printed():
    chunk = random.Random(5).randbytes(1024 * 1024)
    h = QuickXorHash()
    total = 0
    started = time.perf_counter()
    while time.perf_counter() - started < 1.0:
        h.update(chunk)
        total += len(chunk)
    elapsed = time.perf_counter() - started
    h.digest()
    print(f"\nQuickXorHash: {total / elapsed / 1e6:.0f} MB/s over {total >> 20} MiB in 1 MiB updates")
