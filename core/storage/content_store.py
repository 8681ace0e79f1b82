"""Write-once, content-addressed blob store.

Content is named by its SHA-256 (`sha256/ab/cd/abcd…`) and written with `overwrite=False`, so a blob, once
written, is never replaced: writing the same bytes again is a cheap no-op (409 from the service, which is how the
same MIME in fifty mailboxes is stored once), and no code path in the app deletes a blob. WORM on top of this is
the infrastructure's job (version-level immutability on the container).

Bytes arrive through a `Spool`: a temporary file that stays in memory below a threshold and spills to disk above
it, hashing as it is written, so no item is ever held whole in memory however large it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from core.errors import ContentIntegrityError, NotFoundError, StorageError

SPOOL_IN_MEMORY = 4 * 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def blob_name(sha256: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


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
    def __init__(self, container: ContainerClient) -> None:
        self._container = container
        self._counts = {"blobs": 0, "bytes": 0, "deduplicated": 0}
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        """What this store has written since it was made: blobs, their bytes, and puts that found the content
        already stored (for run reports and benchmarks)."""
        with self._lock:
            return dict(self._counts)

    def _count(self, stored: StoredContent) -> StoredContent:
        with self._lock:
            if stored.written:
                self._counts["blobs"] += 1
                self._counts["bytes"] += stored.size
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

    def put(self, spool: Spool, content_type: str = "application/octet-stream") -> StoredContent:
        """Store the spool's bytes under their SHA-256, never overwriting. Returns once the blob is durable."""
        sha = spool.sha256
        blob = self._container.get_blob_client(blob_name(sha))
        try:
            blob.upload_blob(
                spool.reader(),
                length=spool.size,
                overwrite=False,
                content_settings=ContentSettings(content_type=content_type),
                metadata={"sha256": sha},
                max_concurrency=1,
            )
        except ResourceExistsError:
            return self._count(StoredContent(sha, spool.size, written=False))
        except HttpResponseError as exc:
            raise StorageError(f"could not store content {sha}: {exc.message}") from exc
        return self._count(StoredContent(sha, spool.size, written=True))

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredContent:
        with Spool() as spool:
            spool.write(data)
            return self.put(spool, content_type)

    def stored_names(self, sha256: str) -> tuple[str, ...]:
        """Every blob name this content may be stored under (the plain `sha256/` name today; keyed names once
        content is encrypted): what purge, erasure and immutability act on."""
        return (blob_name(sha256),)

    def exists(self, sha256: str) -> bool:
        return self._container.get_blob_client(blob_name(sha256)).exists()

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        """Stream stored content; raises ContentIntegrityError at the end if it does not hash to its address."""
        try:
            downloader = self._container.get_blob_client(blob_name(sha256)).download_blob()
        except ResourceNotFoundError:
            raise NotFoundError(f"no stored content {sha256}") from None
        digest = hashlib.sha256()
        for chunk in downloader.chunks():
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != sha256:
            raise ContentIntegrityError(f"stored content {sha256} hashes to {digest.hexdigest()}")

    def read(self, sha256: str) -> bytes:
        """Whole content (small items such as a message's MIME), hash-verified."""
        return b"".join(self.iter_chunks(sha256))
