"""The purge's own identity: PURGE_CLIENT_ID names the user-assigned managed identity the purge (and an erasure)
reaches storage with, the only one granted delete; the backup's identity cannot delete. Empty: the normal
credential (as against Azurite, where the connection string decides)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.config import Settings


def purge_settings(settings: Settings) -> Settings:
    """The settings with the storage credential (core/storage/tables.py `storage_credential`) of the purge's
    identity: managed_identity_client_id replaced by purge_client_id when one is set. Only storage reads it."""
    if not settings.purge_client_id:
        return settings
    return replace(settings, managed_identity_client_id=settings.purge_client_id)


def build_purge_services(settings: Settings) -> Services:
    """The services of the composition root, built with the purge's identity."""
    from core.bootstrap import build_services

    return build_services(purge_settings(settings))
