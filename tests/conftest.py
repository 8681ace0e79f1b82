"""Shared fixtures: a real Azurite (one per test session) with fresh tables and container per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from devenv.azurite import Azurite, start_azurite

# The longest files, longest first (1.5 to 2.5 minutes each for the first three with two workers on a quiet
# two-core machine; `--durations` lists their tests). Under pytest-xdist (`make test`) files go whole to whichever
# worker is free, in collection order: these are collected first so that none of them starts near the end while the
# other worker has nothing left to do. Only the order of whole files changes (a file's tests keep theirs), and only
# in xdist's workers; a stale entry costs time, not correctness.
SLOWEST_FILES = (
    "tests/integration/test_mail_export.py",
    "tests/integration/test_soak.py",
    "tests/api/test_api_fuzz.py",
    "tests/integration/test_drive_large.py",
)


# The project's own packages, compiled to bytecode once before any test starts. The tests start hundreds of Python
# processes (the CLI, the simulator, API servers, the runner's workers); where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines) none of them writes the bytecode it compiled, so each compiled every module it imported
# again (~0.6 s of CPU per CLI command). Python still reads bytecode that exists; a stale file (its source changed)
# is compiled again as always: a cache, not a change of behaviour.
COMPILED = ("core", "api", "blueprints", "graphsim", "devenv", "bench", "scripts", "tests")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller compiled before it started them
        return
    import compileall
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for package in COMPILED:
        compileall.compile_dir(root / package, quiet=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {path: n for n, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest as collected


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


@pytest.fixture(autouse=True)
def no_stop_left_requested() -> Iterator[None]:
    """A run interrupted in the test process (test_telemetry's Ctrl-C) leaves core.stopping's process-wide stop
    requested, as the CLI wants before it exits; a later test in the same worker would then meet `Interrupted` at
    its first Graph request, which pytest-xdist takes for a Ctrl-C of the worker. Each test starts with none."""
    from core import stopping

    stopping.reset()
    yield
    stopping.reset()
