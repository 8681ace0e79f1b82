"""Small content written by one Put Blob, signed as the storage SDK signs it, without the SDK's pipeline
(core/storage/direct_auth.py, core/http11.py): the write path of nearly every message, contact and event a backup
stores.

Why: through `BlobClient.upload_blob`, one small put costs ~3 ms of CPU on this project's machines, of which the
HTTP exchange (urllib3 and http.client) is ~0.5 ms: the rest is the SDK building a BlobClient per name (with a
`runtime_checkable` Protocol check of its credential), its generated serializer, a dozen pipeline policies, and
requests' session merging (`python -m bench.cpu_profile --profile`). Here a put is one signed request.

What it sends is the REST API's Put Blob, block blob, with `If-None-Match: *` so it never replaces a blob:
https://learn.microsoft.com/rest/api/storageservices/put-blob and
https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
It is signed as the SDK's client would sign it (core/storage/direct_auth.py).

Only a definite answer is taken from this path: 201 (written) and 409 BlobAlreadyExists (the same content is there:
a name is its content's hash). Anything else, a dropped connection included, returns None and the caller writes the
same bytes through the SDK, with its retries and its errors: sending the put again is safe, because a put that did
land makes the second one answer 409. An answer of 401 or 403 (a signature the service does not take) turns the
path off for the rest of the process, with one warning: every later put goes through the SDK, as before this path
existed. Clients this path cannot sign for (a SAS, a proxy in the environment, which the SDK honours) get no
DirectPut at all.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from azure.storage.blob import ContainerClient

from core.storage.direct_auth import Bearer, DirectPath, SharedKey, http_date, signer_for

MAX_DIRECT_BYTES = 4 * 1024 * 1024  # larger content goes through the SDK (held in memory here)
# the headers the Blob service's Shared Key signs in this order, before the x-ms-* headers and the resource
_SIGNED = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def blob_string_to_sign(method: str, account: str, path: str, headers: dict[str, str]) -> str:
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("content-length") == "0":
        lowered.pop("content-length")
    standard = "\n".join(lowered.get(name, "") for name in _SIGNED)
    # x-ms-* names here are lower-case ASCII letters, digits and hyphens: plain order is the service's
    ms = "".join(f"{name}:{lowered[name]}\n" for name in sorted(n for n in lowered if n.startswith("x-ms-")))
    return f"{method}\n{standard}\n{ms}/{account}{path}"


class DirectPut(DirectPath):
    """Put Blob for small content into one container. Thread-safe: one pool, shared by the writing threads."""

    def __init__(
        self,
        container_url: str,
        api_version: str,
        signer: SharedKey | Bearer,
        pool_size: int,
        ca_file: str | None = None,
    ) -> None:
        super().__init__("put", container_url, api_version, signer, pool_size, ca_file)

    @classmethod
    def for_container(
        cls, container: ContainerClient, pool_size: int = 16, ca_file: str | None = None
    ) -> DirectPut | None:
        """A DirectPut signing as `container` does, or None where this path would not behave as the SDK does."""
        signer = signer_for(container.url, container.credential)
        return cls(container.url, container.api_version, signer, pool_size, ca_file) if signer else None

    def put(self, name: str, data: bytes, content_type: str, metadata: dict[str, str]) -> bool | None:
        """True when written, False when the blob was there already, None when the answer was anything else (the
        caller writes through the SDK then)."""
        if not self.enabled or len(data) > MAX_DIRECT_BYTES:
            return None
        path = f"{self._path}/{quote(name)}"
        headers = {
            "Content-Length": str(len(data)),
            "If-None-Match": "*",
            "x-ms-blob-type": "BlockBlob",
            "x-ms-blob-content-type": content_type,
            "x-ms-client-request-id": str(uuid.uuid4()),
            "x-ms-date": http_date(),
            "x-ms-version": self._version,
            **{f"x-ms-meta-{key}": value for key, value in metadata.items()},
        }
        to_sign = blob_string_to_sign("PUT", self._signer.account_name, path, headers)
        response = self._exchange("PUT", self._origin + path, to_sign, headers, (201, 409), data)
        if response is None:
            return None
        if response.status == 201:
            return True
        if response.headers.get("x-ms-error-code") == "BlobAlreadyExists":
            return False
        self.hand_back(response.status)  # a 409 of another kind (a lease, a blob being copied)
        return None
