"""How the HTTP clients are connected (issue 16): the storage transport reads the environment per request only
when it names a proxy and pools a connection per writing thread; Graph requests go out on the client's own
connections (core/graph/wire.py) unless a proxy is named, when httpx sends them through it."""

from __future__ import annotations

import pytest
from requests.adapters import HTTPAdapter

from core.config import load_settings
from core.graph.client import GraphClient
from core.graph.transports import graph_transport
from core.proxy_env import environment_names_a_proxy
from core.storage.http_transport import pool_size, storage_transport

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _settings(**env: str):
    required = {
        "GRAPH_TENANT_ID": "t",
        "GRAPH_CLIENT_ID": "c",
        "GRAPH_CLIENT_SECRET": "s",
        "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
    }
    return load_settings({**required, "BACKUP_LOCAL_CONCURRENCY": "6", "BACKUP_ITEM_CONCURRENCY": "4", **env})


def test_only_a_proxy_variable_names_a_proxy(no_proxy_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert not environment_names_a_proxy()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert environment_names_a_proxy()


def test_storage_session_skips_the_environment_without_a_proxy(no_proxy_env: None) -> None:
    transport = storage_transport(_settings())
    assert transport.session is not None
    assert transport.session.trust_env is False
    adapter = transport.session.get_adapter("http://127.0.0.1:10000/devstoreaccount1")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == 24  # 6 resources x 4 items


def test_storage_session_honours_a_proxy(no_proxy_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    transport = storage_transport(_settings())
    assert transport.session is not None and transport.session.trust_env is True


def test_storage_pool_is_bounded() -> None:
    assert pool_size(_settings(BACKUP_LOCAL_CONCURRENCY="1", BACKUP_ITEM_CONCURRENCY="1")) == 10
    assert pool_size(_settings(BACKUP_LOCAL_CONCURRENCY="100", BACKUP_ITEM_CONCURRENCY="8")) == 256


class Tokens:
    def token(self) -> str:
        return "t"

    def invalidate(self) -> None:
        pass


def test_graph_client_sends_on_its_own_connections_without_a_proxy(no_proxy_env: None) -> None:
    client = GraphClient(_settings(), Tokens())
    try:
        assert client._wire is not None  # core/graph/wire.py
        assert client._http.trust_env is False  # what httpx still sends: no environment lookups
    finally:
        client.close()


def test_graph_client_leaves_everything_to_httpx_with_a_proxy(no_proxy_env: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    client = GraphClient(_settings(), Tokens())
    try:
        assert client._wire is None and client._http.trust_env is True  # httpx mounts the environment's proxies
    finally:
        client.close()


def test_a_given_transport_carries_every_request(no_proxy_env: None) -> None:
    transport = graph_transport(_settings())
    client = GraphClient(_settings(), Tokens(), transport=transport)
    try:
        assert client._wire is None and client._http._transport is transport
    finally:
        client.close()
