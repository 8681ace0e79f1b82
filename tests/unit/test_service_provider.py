"""core.bootstrap.ServiceProvider: built once on first use, replaced by `override`, closed by `close`."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from core.bootstrap import ServiceProvider, Services


class RecordingServices:
    """Stands in for Services (the provider only hands them out and closes them)."""

    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def _provider() -> tuple[ServiceProvider, list[RecordingServices]]:
    built: list[RecordingServices] = []
    lock = threading.Lock()

    def build() -> Services:
        with lock:
            built.append(RecordingServices(f"built-{len(built)}"))
            return cast(Services, built[-1])

    return ServiceProvider(build), built


def test_nothing_is_built_until_asked_then_once_however_many_ask():
    provider, built = _provider()
    assert built == []
    with ThreadPoolExecutor(8) as pool:
        got = set(map(id, pool.map(lambda _: provider(), range(32))))
    assert len(built) == 1 and got == {id(built[0])}


def test_override_serves_others_nests_and_puts_back():
    provider, built = _provider()
    first, second = (cast(Any, RecordingServices(n)) for n in ("first", "second"))
    with provider.override(first):
        assert provider.get() is first
        with provider.override(second):
            assert provider.get() is second
        assert provider.get() is first
    assert built == []  # an override never builds
    assert provider.get() is built[0]
    assert not first.closed and not second.closed  # the caller owns what it passed


def test_close_closes_what_was_built_and_the_next_get_builds_anew():
    provider, built = _provider()
    provider.get()
    provider.close()
    assert built[0].closed
    assert provider.get() is built[1]
