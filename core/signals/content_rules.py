"""Does new file content look encrypted? Judged from the first bytes the backup already has in hand (the first
SAMPLE_BYTES of the download, kept as they stream into the spool: no extra read) and the file's name.

Three rules, each cheap (one pass over at most 64 KiB):

- **known ransomware extensions**: a name ending in one of RANSOM_EXTENSIONS (a short list of the extensions
  well-known families append: Locky, Cerber, WannaCry, Ryuk, Conti, LockBit, Dharma, Phobos, STOP/Djvu,
  GandCrab, ...). Families that append a random extension are not on it; the other rules see them.
- **broken magic numbers**: a type that always starts with a signature (MAGIC: .docx/.xlsx/.pptx/.zip start with
  `PK\\x03\\x04`, .pdf with `%PDF`, .png, .jpg, .gif, old Office files, .rtf, .gz, .7z, .rar, .bmp) and does not.
- **entropy**: a Shannon entropy of the sample of at least ENTROPY_BITS bits per byte (random or encrypted bytes
  are near 8) for a type that is plain text (TEXT_TYPES) or an uncompressed binary with a signature; compressed
  types (zip-based Office files, png, jpg, pdf streams, archives, media) are near 8 by nature and are never judged
  by entropy, nor is a sample that starts with a compressed format's signature.

A file of another type (.bin, no extension) is not judged by content: `UNJUDGED`."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import PurePosixPath

SAMPLE_BYTES = 64 * 1024  # what is kept of a download to judge it
MIN_SAMPLE = 256  # fewer bytes tell nothing by entropy
ENTROPY_BITS = 7.5  # bits per byte at or above which a sample looks random

OK, ENCRYPTED, BROKEN_MAGIC, UNJUDGED = "ok", "high-entropy", "broken-magic", "unjudged"
LOOKS_ENCRYPTED = (ENCRYPTED, BROKEN_MAGIC)

RANSOM_EXTENSIONS = frozenset({
    ".locky", ".zepto", ".odin", ".thor", ".aesir", ".cerber", ".cerber3", ".crypt", ".crypted", ".cryptolocker",
    ".encrypted", ".wncry", ".wnry", ".wcry", ".ryk", ".conti", ".lockbit", ".dharma", ".phobos", ".djvu",
    ".gandcrab", ".krab", ".sage", ".petya", ".vvv", ".ccc", ".micro", ".zzzzz",
})  # fmt: skip

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
MAGIC: dict[str, tuple[bytes, ...]] = {
    **dict.fromkeys((".docx", ".xlsx", ".pptx", ".zip", ".odt", ".ods", ".odp", ".vsdx", ".jar", ".epub"), _ZIP),
    **dict.fromkeys((".doc", ".xls", ".ppt", ".msg"), _OLE),
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".rtf": (b"{\\rtf",),
    ".gz": (b"\x1f\x8b",),
    ".7z": (b"7z\xbc\xaf\x27\x1c",),
    ".rar": (b"Rar!\x1a\x07",),
    ".bmp": (b"BM",),
}
# types whose bytes are compressed by nature: never judged by entropy
COMPRESSED_TYPES = frozenset({
    ".docx", ".xlsx", ".pptx", ".zip", ".odt", ".ods", ".odp", ".vsdx", ".jar", ".epub", ".pdf", ".png", ".jpg",
    ".jpeg", ".gif", ".gz", ".7z", ".rar", ".mp3", ".mp4", ".m4a", ".mov", ".avi", ".webp", ".heic", ".zst",
})  # fmt: skip
COMPRESSED_MAGIC = (*_ZIP, b"\x1f\x8b", b"\x89PNG", b"\xff\xd8\xff", b"7z\xbc\xaf", b"Rar!", b"\x28\xb5\x2f\xfd",
                    b"%PDF", b"GIF8", b"RIFF", b"ID3", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x20ftyp")  # fmt: skip
TEXT_TYPES = frozenset({
    ".txt", ".csv", ".tsv", ".md", ".log", ".json", ".xml", ".html", ".htm", ".css", ".js", ".ts", ".py", ".ps1",
    ".sql", ".ini", ".cfg", ".conf", ".yaml", ".yml", ".eml", ".ics", ".vcf", ".svg", ".tex", ".sh", ".bat",
})  # fmt: skip


def extension(name: str) -> str:
    """The name's last suffix, lower-cased ('' when none)."""
    return PurePosixPath(name.strip().lower()).suffix


def has_ransom_extension(name: str) -> bool:
    return extension(name) in RANSOM_EXTENSIONS


def entropy(sample: bytes) -> float:
    """Shannon entropy of `sample` in bits per byte (0.0 for no bytes; 8.0 for uniformly random bytes)."""
    if not sample:
        return 0.0
    total = len(sample)
    return -sum(n / total * math.log2(n / total) for n in Counter(sample).values())


def judge(name: str, sample: bytes) -> str:
    """OK, ENCRYPTED (random-looking bytes for a type that should not be), BROKEN_MAGIC (a type's signature
    missing) or UNJUDGED (a type these rules cannot judge, or too few bytes). A ransomware extension is looked
    through: the type is the one before it."""
    if has_ransom_extension(name):  # 'report.docx.locky' is judged as the .docx it was
        name = name.strip()[: -len(extension(name))]
    ext = extension(name)
    signatures = MAGIC.get(ext)
    if signatures is not None and sample:
        window = sample[:1024] if ext == ".pdf" else sample  # a PDF may have bytes before %PDF (within 1 KiB)
        found = any(window.find(s) >= 0 for s in signatures) if ext == ".pdf" else sample.startswith(signatures)
        if not found:
            return BROKEN_MAGIC
    judged_by_entropy = ext in TEXT_TYPES or (signatures is not None and ext not in COMPRESSED_TYPES)
    if not judged_by_entropy or len(sample) < MIN_SAMPLE or sample.startswith(COMPRESSED_MAGIC):
        return OK if signatures is not None and sample else UNJUDGED
    return ENCRYPTED if entropy(sample) >= ENTROPY_BITS else OK


class SampleSink:
    """Keeps the first SAMPLE_BYTES of a download as it streams by (restarted with it after a dropped
    connection)."""

    def __init__(self) -> None:
        self._head = bytearray()

    def feed(self, chunk: bytes) -> None:
        room = SAMPLE_BYTES - len(self._head)
        if room > 0:
            self._head += chunk[:room]

    def restart(self) -> None:
        self._head.clear()

    @property
    def sample(self) -> bytes:
        return bytes(self._head)
