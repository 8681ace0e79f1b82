"""How the HTTP clients are connected (issue 16): the storage transport reads the environment per request only
when it names a proxy and pools a connection per writing thread; Graph requests of one mailbox always go through
the same one of BACKUP_LOCAL_CONCURRENCY small pools."""

from __future__ import annotations

import httpx
import pytest
from requests.adapters import HTTPAdapter

from core.config import load_settings
from core.graph.client import GraphClient
from core.graph.mailbox_pools import MailboxPools
from core.graph.policy import GraphPolicy
from core.graph.transports import mailbox_pools
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


def test_a_mailbox_always_uses_the_same_pool() -> None:
    def scope(url: str) -> str | None:
        parts = url.split("/users/")
        return parts[1].split("/")[0] if len(parts) > 1 else None

    pools = MailboxPools(6, scope, lambda _n: httpx.HTTPTransport())
    try:
        chosen = {
            pools.pool_for(f"https://graph.invalid/v1.0/users/u{n}/messages/m{k}") for n in range(1) for k in range(20)
        }
        assert len(chosen) == 1
        spread = {pools.pool_for(f"https://graph.invalid/v1.0/users/u{n}/messages") for n in range(60)}
        assert len(spread) == 6  # 60 mailboxes over 6 pools: every pool used
        assert pools.pool_for("https://graph.invalid/v1.0/organization") == 0
    finally:
        pools.close()


def test_graph_client_builds_mailbox_pools_without_a_proxy(no_proxy_env: None) -> None:
    settings = _settings()

    class Tokens:
        def token(self) -> str:
            return "t"

        def invalidate(self) -> None:
            pass

    client = GraphClient(settings, Tokens())
    try:
        assert isinstance(client._http._transport, MailboxPools)
        assert client._http.trust_env is False
    finally:
        client.close()
    pools = mailbox_pools(settings, GraphPolicy.from_settings(settings))
    assert len(pools._pools) == 6
    kept_alive = [p._pool._max_keepalive_connections for p in pools._pools]
    assert kept_alive == [100] + [8] * 5  # the shared pool as before; a mailbox's: 2 x 4 in flight
    pools.close()
