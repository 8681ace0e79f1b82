"""The key port: what the content store needs from the customer's key-encryption key (KEK). A KEK only ever wraps
and unwraps the app's own 256-bit keys (data keys and the naming key); content itself never reaches the provider.
A KEK has versions: wrapping always uses the newest, unwrapping uses the version a wrapped key names, so a rotation
in the provider (a new version) needs only the wrapped keys re-wrapped (core/keys/keyring.py), never the content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WrappedKey:
    """A key as it is stored: wrapped by one version of one KEK."""

    provider: str  # 'local' or 'keyvault'
    kek: str  # the KEK's id without a version: the key file's path, or the Key Vault key's versionless URL
    kek_version: str  # 'v1', 'v2', ... locally; the Key Vault key version
    algorithm: str  # 'A256KW' (RFC 3394 AES key wrap) locally, 'RSA-OAEP-256' in Key Vault
    wrapped: bytes


class KeyProvider(Protocol):
    """A key-encryption key. Failures to unwrap (wrong key, a version gone, access refused) raise ContentKeyError;
    an unreachable provider raises StorageError."""

    name: str  # 'local' or 'keyvault'
    kek: str

    def newest_version(self) -> str:
        """The version `wrap` uses now."""
        ...

    def wrap(self, key: bytes) -> WrappedKey:
        """Wrap a 256-bit key under the KEK's newest version."""
        ...

    def unwrap(self, wrapped: WrappedKey, key_id: str) -> bytes:
        """The key `wrapped` holds; `key_id` (the app's name for it) only makes errors say which key failed."""
        ...

    def add_version(self) -> str | None:
        """Make a new KEK version and return it, where this provider may (the local key file); None where the
        customer rotates the key themselves (Key Vault: its rotation policy or `az keyvault key rotate`)."""
        ...
