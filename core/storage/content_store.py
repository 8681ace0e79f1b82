"""Write-once, content-addressed blob store.

Content is named by its SHA-256 and written with `overwrite=False`, so a blob, once written, is never replaced:
writing the same bytes again is a cheap no-op (409 from the service, which is how the same MIME in fifty mailboxes
is stored once), and no code path in the app deletes a blob. WORM on top of this is the infrastructure's job
(version-level immutability on the container).

Bytes arrive through a `Spool`: a temporary file that stays in memory below a threshold and spills to disk above
it, hashing as it is written, so no item is ever held whole in memory however large it is.

How content is stored follows the `ContentFormat` (CONTENT_COMPRESSION, CONTENT_ENCRYPTION):

    sha256/ab/cd/<sha256>   as it came (no compression, no encryption; every blob written before either existed)
    zstd/ab/cd/<sha256>     compressed (core/storage/blob_format.py), not encrypted
    keyed/ab/cd/<hmac>      encrypted (and compressed if asked), named by HMAC-SHA256(naming key, SHA-256)
                            (core/keys/keyring.py), so a name says nothing about the content to whoever lacks the key

The same content from two mailboxes gets the same name in every format, so dedup works as before (within one
container: one naming key). A read tries the configured format's name first and the others only on a 404: content
stored before a change of format stays readable, and the common read is still one request. Every read is hashed
against the address, whatever the format.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from core.errors import ContentIntegrityError, ContentKeyError, NotFoundError, StorageError
from core.storage.blob_format import decode, encode
from core.storage.direct_put import MAX_DIRECT_BYTES, DirectPut

if TYPE_CHECKING:
    from core.keys.keyring import KeyRing

SPOOL_IN_MEMORY = 4 * 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
PLAIN, ZSTD, KEYED = "sha256/", "zstd/", "keyed/"
CONTENT_PREFIXES = (PLAIN, ZSTD, KEYED)  # every content blob is under one of these (not keys/, not journal/)
_READ_PIECE = 1024 * 1024


def _fanned(prefix: str, name: str) -> str:
    return f"{prefix}{name[:2]}/{name[2:4]}/{name}"


def blob_name(sha256: str) -> str:
    """The plain name of a content (stored as it came)."""
    if not _HEX64.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return _fanned(PLAIN, sha256)


def compressed_blob_name(sha256: str) -> str:
    """The name of a content stored compressed, not encrypted."""
    return _fanned(ZSTD, blob_name(sha256).rsplit("/", 1)[-1])


@dataclass(frozen=True)
class ContentFormat:
    """How new content is stored: compressed (zstd) or not, encrypted under `keys` or not. `keys` may be set with
    `encrypt` False: content written encrypted earlier stays readable."""

    compress: bool = False
    encrypt: bool = False
    keys: KeyRing | None = None

    def __post_init__(self) -> None:
        if self.encrypt and self.keys is None:
            raise ValueError("encryption needs a key ring")

    def describe(self) -> str:
        """One line for reports: 'zstd + AES-256-GCM, key local v2', 'zstd', 'none'."""
        parts = (["zstd"] if self.compress else []) + (["AES-256-GCM"] if self.encrypt else [])
        text = " + ".join(parts) or "none"
        if self.encrypt and self.keys is not None:
            text += f", key {self.keys.provider.name} {self.keys.provider.newest_version()}"
        return text


class Spool:
    """A seekable, hashing sink for one item's bytes (memory below SPOOL_IN_MEMORY, a temp file above)."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self._hash.update(chunk)
        self.size += len(chunk)
        return self._file.write(chunk)

    def restart(self) -> None:
        """Start over (a download broke off and is being retried from the start)."""
        self._file.seek(0)
        self._file.truncate()
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def reader(self):
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class StoredContent:
    sha256: str
    size: int
    written: bool  # False when the same content was already stored (deduplicated)


class BlobContentStore:
    def __init__(
        self, container: ContainerClient, content_format: ContentFormat | None = None, direct: DirectPut | None = None
    ) -> None:
        """`direct` writes small content without the SDK's pipeline (core/storage/direct_put.py); without it every
        put goes through the SDK."""
        self._container = container
        self.format = content_format or ContentFormat()
        self._direct = direct
        self._counts = {"blobs": 0, "bytes": 0, "stored_bytes": 0, "deduplicated": 0}
        self._lock = threading.Lock()

    @property
    def keys(self) -> KeyRing | None:
        """The key ring (None without a key provider): what `keys status` and `keys rotate` work on."""
        return self.format.keys

    def counts(self) -> dict[str, int]:
        """What this store has written since it was made: blobs, their bytes (as they came, and as stored), and
        puts that found the content already stored (for run reports and benchmarks)."""
        with self._lock:
            return dict(self._counts)

    def _count(self, stored: StoredContent, stored_bytes: int = 0) -> StoredContent:
        with self._lock:
            if stored.written:
                self._counts["blobs"] += 1
                self._counts["bytes"] += stored.size
                self._counts["stored_bytes"] += stored_bytes
            else:
                self._counts["deduplicated"] += 1
        return stored

    def ensure_container(self) -> None:
        """Create the container if it is missing. In Azure it exists already (the Bicep makes it, with its
        immutability policy), and the app's role is scoped to the container, where creating one is forbidden:
        so look first, and create only what is not there."""
        if self._container.exists():
            return
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()

    # -- names ------------------------------------------------------------------------------------------------
    def _keyed_name(self, sha256: str, create: bool) -> str | None:
        keys = self.format.keys
        name = keys.name_of(sha256, create=create) if keys is not None else None
        return _fanned(KEYED, name) if name else None

    def write_name(self, sha256: str) -> str:
        """The name new content is written under in the configured format."""
        if self.format.encrypt:
            name = self._keyed_name(sha256, create=True)
            assert name is not None
            return name
        return compressed_blob_name(sha256) if self.format.compress else blob_name(sha256)

    def _read_names(self, sha256: str) -> Iterator[str]:
        """Every name the content may have, the configured format's first; the keyed one only if a naming key
        exists (computed only when reached: without encryption, only after two 404s)."""
        plain = blob_name(sha256)
        if self.format.encrypt:
            order = ("keyed", PLAIN, ZSTD)
        elif self.format.compress:
            order = (ZSTD, PLAIN, "keyed")
        else:
            order = (PLAIN, ZSTD, "keyed")
        for kind in order:
            if kind == "keyed":
                name = self._keyed_name(sha256, create=False)
                if name:
                    yield name
            else:
                yield plain if kind == PLAIN else compressed_blob_name(sha256)

    def stored_names(self, sha256: str) -> tuple[str, ...]:
        """Every blob name this content may be stored under (plain, compressed, keyed): what purge, erasure and
        immutability act on. Most do not exist: a content has one name per format it was ever written in."""
        return tuple(self._read_names(sha256))

    # -- writing ----------------------------------------------------------------------------------------------
    def put(self, spool: Spool, content_type: str = "application/octet-stream") -> StoredContent:
        """Store the spool's bytes under their SHA-256, never overwriting. Returns once the blob is durable."""
        sha = spool.sha256
        if not (self.format.compress or self.format.encrypt):
            return self._upload(blob_name(sha), sha, spool.reader(), spool.size, spool.size, content_type)
        name = self.write_name(sha)
        key = self.format.keys.current_data_key() if self.format.encrypt and self.format.keys else None
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as encoded:
            for piece in encode(_pieces(spool.reader()), sha, self.format.compress, key):
                encoded.write(piece)
            length = encoded.tell()
            encoded.seek(0)
            return self._upload(name, sha, encoded, length, spool.size, "application/octet-stream")

    def _upload(self, name: str, sha: str, data: IO[bytes], length: int, size: int, content_type: str) -> StoredContent:
        # a keyed blob carries no metadata: its digest would undo what the keyed name hides
        metadata = {} if name.startswith(KEYED) else {"sha256": sha}
        if self._direct is not None and length <= MAX_DIRECT_BYTES:
            body = data.read(length)
            written = self._direct.put(name, body, content_type, metadata)
            if written is not None:
                return self._count(StoredContent(sha, size, written=written), length if written else 0)
            data = io.BytesIO(body)  # not answered for certain: the SDK writes it (a repeat of a landed put is a 409)
        try:
            self._container.get_blob_client(name).upload_blob(
                data,
                length=length,
                overwrite=False,
                content_settings=ContentSettings(content_type=content_type),
                metadata=metadata,
                max_concurrency=1,
            )
        except ResourceExistsError:
            return self._count(StoredContent(sha, size, written=False))
        except HttpResponseError as exc:
            raise StorageError(f"could not store content {sha}: {exc.message}") from exc
        return self._count(StoredContent(sha, size, written=True), length)

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredContent:
        with Spool() as spool:
            spool.write(data)
            return self.put(spool, content_type)

    # -- reading ----------------------------------------------------------------------------------------------
    def exists(self, sha256: str) -> bool:
        return any(self._container.get_blob_client(name).exists() for name in self._read_names(sha256))

    def _data_key(self, sha256: str) -> Callable[[str], bytes]:
        def key(key_id: str) -> bytes:
            if self.format.keys is None:
                raise ContentKeyError(
                    f"content {sha256} is encrypted under data key {key_id!r} and no key provider is configured "
                    "(CONTENT_ENCRYPTION, CONTENT_KEY_URL or CONTENT_LOCAL_KEY_FILE)"
                )
            return self.format.keys.data_key(key_id)

        return key

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        """Stream stored content; raises ContentIntegrityError at the end if it does not hash to its address (or
        at once if an encrypted segment fails authentication), ContentKeyError if its key cannot be had."""
        for name in self._read_names(sha256):
            try:
                downloader = self._container.get_blob_client(name).download_blob()
            except ResourceNotFoundError:
                continue
            break
        else:
            hint = "" if self.format.keys else " (content stored encrypted is found only with its key configured)"
            raise NotFoundError(f"no stored content {sha256}{hint}")
        chunks: Iterator[bytes] = downloader.chunks()
        if not name.startswith(PLAIN):
            chunks = decode(chunks, sha256, self._data_key(sha256))
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != sha256:
            raise ContentIntegrityError(f"stored content {sha256} hashes to {digest.hexdigest()}")

    def read(self, sha256: str) -> bytes:
        """Whole content (small items such as a message's MIME), hash-verified."""
        return b"".join(self.iter_chunks(sha256))


def _pieces(reader: IO[bytes]) -> Iterator[bytes]:
    while piece := reader.read(_READ_PIECE):
        yield piece
