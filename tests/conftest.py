"""Shared fixtures: a real Azurite (one per test session) with fresh tables and container per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devenv.azurite import Azurite, start_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with start_azurite() as instance:
        yield instance


def isolated_storage(azurite: Azurite) -> dict[str, str]:
    """Settings for an isolated slice of the emulator: a unique container and table prefix."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "BACKUP_CONTAINER": f"backup{suffix}",
        "BACKUP_TABLE_PREFIX": f"t{suffix}",
    }


@pytest.fixture
def storage_env(azurite: Azurite) -> dict[str, str]:
    """A slice of the emulator of its own for each test."""
    return isolated_storage(azurite)
