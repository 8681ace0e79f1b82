"""The Azure Key Vault provider: the customer's RSA key (CONTENT_KEY_URL, the versionless key identifier
`https://<vault>.vault.azure.net/keys/<name>`) wraps and unwraps the app's keys with RSA-OAEP-256 through
azure-keyvault-keys, signed in as the app's managed identity (the storage credential, core/storage/tables.py).

Wrapping reads the key's newest version (`KeyClient.get_key`, keys/read) and wraps with its public key (the SDK does
this locally once it has the public key; no private key ever leaves the vault); unwrapping sends the wrapped key to
the exact version that wrapped it (`CryptographyClient.unwrap_key`, keys/unwrap). The role "Key Vault Crypto
Service Encryption User" on the key grants exactly these (read, wrap, unwrap). A new key version (the key's rotation
policy, or `az keyvault key rotate`) is picked up by the next wrap; `python -m core keys rotate` re-wraps the stored
keys under it. Old versions must stay enabled until that has run."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from core.errors import BackupError, ConfigError, ContentKeyError, StorageError
from core.keys.port import WrappedKey

ALGORITHM = "RSA-OAEP-256"
ROLE = "Key Vault Crypto Service Encryption User"


def parse_key_url(url: str) -> tuple[str, str]:
    """(vault URL, key name) of a versionless Key Vault key identifier; ConfigError for anything else."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme != "https" or not parsed.hostname or len(parts) != 2 or parts[0] != "keys":
        hint = " without a version" if len(parts) == 3 and parts[0] == "keys" else ""
        raise ConfigError(
            f"CONTENT_KEY_URL must be a Key Vault key identifier{hint}, https://<vault>.vault.azure.net/keys/<name>: "
            f"{url!r}"
        )
    vault = f"https://{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")
    return vault, parts[1]


def key_vault_error(exc: Exception, action: str, key_id: str, kid: str) -> BackupError:
    """The project's error for an Azure SDK error of `action` ('wrap', 'unwrap', 'read') on Key Vault key `kid`,
    for the app's key `key_id`: refusals and a wrong or gone key are ContentKeyError, the rest StorageError."""
    what = f"key {key_id!r}" if key_id else "the key"
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:  # the credential, not the vault
        return ContentKeyError(f"no token for Key Vault to {action} {what} with {kid}: {exc}")
    if isinstance(exc, ResourceNotFoundError):
        return ContentKeyError(f"Key Vault has no key {kid} to {action} {what} (deleted, or the wrong CONTENT_KEY_URL)")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        if status in (401, 403):
            return ContentKeyError(
                f"Key Vault refused to {action} {what} with {kid} (status {status}): the app's identity needs the "
                f"'{ROLE}' role on the key, and the key must be enabled"
            )
        if status == 400 and action == "unwrap":
            return ContentKeyError(f"{what} cannot be unwrapped by {kid}: wrong key (status 400)")
        return StorageError(f"Key Vault failed to {action} {what} with {kid}: status {status} {exc.message}")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return StorageError(f"Key Vault unreachable to {action} {what} with {kid}: {exc}")
    return StorageError(f"Key Vault failed to {action} {what} with {kid}: {type(exc).__name__}: {exc}")


class KeyVaultKeys:
    name = "keyvault"

    def __init__(self, key_url: str, credential: TokenCredential, **client_options: Any) -> None:
        from azure.keyvault.keys import KeyClient

        self.vault_url, self.key_name = parse_key_url(key_url)
        self.kek = f"{self.vault_url}/keys/{self.key_name}"
        self._credential = credential
        self._options = client_options
        self._keys = KeyClient(self.vault_url, credential, **client_options)
        self._unwrappers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _newest(self) -> Any:
        try:
            return self._keys.get_key(self.key_name)
        except Exception as exc:
            raise key_vault_error(exc, "read", "", self.kek) from exc

    def newest_version(self) -> str:
        return str(self._newest().properties.version)

    def wrap(self, key: bytes) -> WrappedKey:
        from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

        newest = self._newest()
        try:
            result = CryptographyClient(newest, self._credential, **self._options).wrap_key(
                KeyWrapAlgorithm.rsa_oaep_256, key
            )
        except Exception as exc:
            raise key_vault_error(exc, "wrap", "", str(newest.id)) from exc
        version = str(result.key_id or newest.id).rstrip("/").rsplit("/", 1)[-1]
        return WrappedKey(self.name, self.kek, version, ALGORITHM, result.encrypted_key)

    def unwrap(self, wrapped: WrappedKey, key_id: str) -> bytes:
        from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

        if wrapped.provider != self.name or wrapped.algorithm != ALGORITHM:
            raise ContentKeyError(
                f"key {key_id!r} is wrapped by {wrapped.provider} ({wrapped.kek} {wrapped.kek_version}), not by "
                f"Key Vault: configure CONTENT_ENCRYPTION={wrapped.provider}"
            )
        if wrapped.kek != self.kek:
            raise ContentKeyError(f"key {key_id!r} is wrapped by {wrapped.kek}, not by CONTENT_KEY_URL {self.kek}")
        kid = f"{self.kek}/{wrapped.kek_version}"
        with self._lock:
            client = self._unwrappers.get(kid)
            if client is None:
                client = self._unwrappers[kid] = CryptographyClient(kid, self._credential, **self._options)
        try:
            return bytes(client.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.wrapped).key)
        except Exception as exc:
            raise key_vault_error(exc, "unwrap", key_id, kid) from exc

    def add_version(self) -> None:
        return None  # the customer's key: rotated in Key Vault (its rotation policy), never by this app
