"""The content format and key provider the settings ask for (CONTENT_COMPRESSION, CONTENT_ENCRYPTION,
CONTENT_KEY_URL, CONTENT_LOCAL_KEY_FILE), for core/bootstrap.py.

A provider is also set up when encryption is off but a key is still configured (CONTENT_KEY_URL set, or the local
key file present): content written while encryption was on then stays readable after it is turned off."""

from __future__ import annotations

from pathlib import Path

from azure.storage.blob import ContainerClient

from core.config import Settings
from core.keys.keyring import KeyRing
from core.keys.port import KeyProvider
from core.storage.content_store import ContentFormat


def key_provider(settings: Settings) -> KeyProvider | None:
    mode = settings.content_encryption
    if mode == "keyvault" or (mode == "none" and settings.content_key_url):
        from core.keys.keyvault_provider import KeyVaultKeys
        from core.storage.tables import storage_credential

        return KeyVaultKeys(settings.content_key_url, storage_credential(settings))
    if mode == "local" or (mode == "none" and Path(settings.content_local_key_file).is_file()):
        from core.keys.local_provider import LocalKeyFile

        return LocalKeyFile(settings.content_local_key_file)
    return None


def content_format(settings: Settings, container: ContainerClient) -> ContentFormat:
    provider = key_provider(settings)
    return ContentFormat(
        compress=settings.content_compression == "zstd",
        encrypt=settings.content_encryption != "none",
        keys=KeyRing(container, provider) if provider is not None else None,
    )
