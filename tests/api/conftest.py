"""Fixtures of the API tests: `api` is one served, backed-up tenant per test module (read-mostly tests);
`fresh_api` is one per test (tests that restore into the tenant)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devenv.azurite import Azurite
from tests.api.harness import Api, serve_api
from tests.conftest import isolated_storage


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Api]:
    with serve_api(tmp_path_factory.mktemp("sim"), isolated_storage(azurite)) as served:
        yield served


@pytest.fixture
def fresh_api(tmp_path, azurite: Azurite) -> Iterator[Api]:
    with serve_api(tmp_path / "sim", isolated_storage(azurite)) as served:
        yield served
