"""What the directly sent storage requests share (core/storage/direct_put.py, direct_batch.py, direct_query.py): how a
request is signed, as the storage SDKs sign it, and the connections it goes out on (core/http11.py).

Signing is either Shared Key, with the account key a connection string gives (Azurite locally; the Blob and the
Table service sign different strings: https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key)
or an Entra ID token for https://storage.azure.com, the managed identity's in Azure
(https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory). A client signed any
other way (a SAS), or an environment naming a proxy (which the SDKs honour and this pool would not), gets no direct
path: `signer_for` answers None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from core.http11 import Answer, Connections
from core.proxy_env import environment_names_a_proxy

if TYPE_CHECKING:
    from azure.data.tables import TableClient

log = logging.getLogger(__name__)

STORAGE_SCOPE = "https://storage.azure.com/.default"
_TOKEN_MARGIN_S = 300  # a token is renewed this long before it expires


class SharedKey:
    """`Authorization: SharedKey account:signature` over the string the service expects (made by the caller)."""

    def __init__(self, account_name: str, account_key: str) -> None:
        self.account_name = account_name
        self._key = base64.b64decode(account_key)

    def authorization(self, string_to_sign: str) -> str:
        digest = hmac.new(self._key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
        return f"SharedKey {self.account_name}:{base64.b64encode(digest).decode()}"


class Bearer:
    """`Authorization: Bearer token`, the token renewed before it expires (the string to sign is not used)."""

    account_name = ""

    def __init__(self, credential: object) -> None:
        self._credential = credential
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def authorization(self, string_to_sign: str) -> str:
        with self._lock:
            if self._token is None or self._token[1] - time.time() < _TOKEN_MARGIN_S:
                token = self._credential.get_token(STORAGE_SCOPE)  # type: ignore[attr-defined]
                self._token = (token.token, float(token.expires_on))
            return f"Bearer {self._token[0]}"


def signer_for(url: str, credential: object) -> SharedKey | Bearer | None:
    """How to sign requests to `url` as a storage client holding `credential` signs them, or None."""
    if environment_names_a_proxy() or urlsplit(url).query:
        return None
    named = getattr(credential, "named_key", None)  # azure-data-tables' AzureNamedKeyCredential
    if named is not None:
        return SharedKey(named.name, named.key)
    if hasattr(credential, "account_key") and hasattr(credential, "account_name"):  # azure-storage-blob's
        return SharedKey(credential.account_name, credential.account_key)
    if hasattr(credential, "get_token") and url.startswith("https://"):
        return Bearer(credential)
    return None


def pool(size: int, ca_file: str | None = None) -> Connections:
    """Connections kept alive per host: `size`. No retries here: the caller hands what fails to the SDK. TLS trusts
    what the SDKs' requests transport trusts (certifi's CAs), or `ca_file`'s instead (a test's emulator)."""
    return Connections(size, ca_file)


def http_date() -> str:
    return formatdate(usegmt=True)


class DirectPath:
    """What a direct path to one storage URL (a container, a table service) holds: where it sends (`_origin`, and
    `_path`, the URL's path: '/devstoreaccount1...' on Azurite), how it signs, its pool; and what it keeps about the
    requests it gave back to the SDK: how many, and whether it is still on (a 401 or 403, a signature the service
    does not take, turns it off for the process, with one warning)."""

    def __init__(
        self, what: str, url: str, api_version: str, signer: SharedKey | Bearer, size: int, ca_file: str | None
    ) -> None:
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._path = parts.path.rstrip("/")
        self._version = api_version
        self._signer = signer
        self._pool = pool(size, ca_file)
        self.enabled = True
        self.handed_back = 0
        self._what = what
        self._lock = threading.Lock()

    def hand_back(self, status: int | None) -> None:
        with self._lock:
            self.handed_back += 1
            if status in (401, 403) and self.enabled:
                self.enabled = False
                log.warning("storage refused a directly signed %s (HTTP %s): sent through the SDK", self._what, status)

    def close(self) -> None:
        self._pool.clear()

    def _exchange(
        self,
        method: str,
        url: str,
        to_sign: str,
        headers: dict[str, str],
        expect: tuple[int, ...],
        body: bytes | None = None,
    ) -> Answer | None:
        """The answer to the request signed over `to_sign` when its status is one of `expect`; otherwise None,
        handed back (a dropped connection or a failed sign-in included: the SDK's path will tell)."""
        try:
            headers["Authorization"] = self._signer.authorization(to_sign)
            response = self._pool.request(method, url, body=body, headers=headers)
        except Exception:
            self.hand_back(None)
            return None
        if response.status not in expect:
            self.hand_back(response.status)
            return None
        return response


T = TypeVar("T", bound="DirectTablePath")


class DirectTablePath(DirectPath):
    """A direct path to one table (its transactions, its queries): `what` names its requests in the warning."""

    what = "request"

    def __init__(
        self,
        table_url: str,
        table_name: str,
        api_version: str,
        signer: SharedKey | Bearer,
        size: int,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(self.what, table_url, api_version, signer, size, ca_file)  # _path: '' in Azure
        self._table = table_name

    @classmethod
    def for_table(cls: type[T], table: TableClient, pool_size: int = 16, ca_file: str | None = None) -> T | None:
        """A path signing as `table` does, or None where it would not behave as the SDK does."""
        if getattr(table, "_cosmos_endpoint", False):
            return None  # Cosmos DB's Table API: not what this was checked against
        signer = signer_for(table.url, table.credential)
        return cls(table.url, table.table_name, table.api_version, signer, pool_size, ca_file) if signer else None
