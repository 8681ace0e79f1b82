"""The Graph client against the simulator over loopback HTTPS: certificate and secret sign-in through msal, token
refresh after a 401, the per-mailbox concurrency limit, typed errors, and its two seams: the httpx transport it is
given and its GraphPolicy (retries, waits, per-mailbox limits)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from core.config import load_settings
from core.errors import GraphAuthError, GraphNotFound, GraphTransportError
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from core.graph.policy import GraphPolicy
from core.graph.retry import RetryPolicy
from core.graph.transports import graph_transport
from graphsim.process import SimulatorProcess, start_simulator

STORAGE = {"BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"}  # not used by these tests


@pytest.fixture
def sim(tmp_path) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path / "sim", users=2, messages=6, seed=9) as process:
        yield process


def _client(env: dict[str, str], **seams: Any) -> GraphClient:
    settings = load_settings({**STORAGE, **env})
    return GraphClient(settings, TokenProvider(settings), **seams)


class _Sink:
    def write(self, chunk: bytes) -> int:
        return len(chunk)

    def restart(self) -> None:
        pass


class RecordingTransport(httpx.BaseTransport):
    """A real transport (loopback HTTPS) that notes each request's path as it goes out."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_sign_in_with_a_pem_certificate(sim: SimulatorProcess):
    assert sim.client_certificate_file
    pem = Path(sim.client_certificate_file).read_text()
    client = _client({**sim.graph_env(), "GRAPH_CLIENT_SECRET": "", "GRAPH_CLIENT_CERTIFICATE": pem})
    users = [u for page in client.iter_pages("users", params={"$top": "1"}) for u in page]
    assert len(users) == 3  # two mailboxes and one user without, across several pages


def test_sign_in_with_a_pkcs12_certificate_as_key_vault_returns_it(sim: SimulatorProcess):
    pem = Path(sim.client_certificate_file or "").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])
    pfx = pkcs12.serialize_key_and_certificates(b"graph", key, cert, None, serialization.NoEncryption())  # type: ignore[arg-type]
    env = {**sim.graph_env(), "GRAPH_CLIENT_SECRET": "", "GRAPH_CLIENT_CERTIFICATE": base64.b64encode(pfx).decode()}
    assert _client(env).get_json("users", params={"$top": "1"})["value"]


def test_a_wrong_secret_is_a_clear_auth_error(sim: SimulatorProcess):
    client = _client({**sim.graph_env(), "GRAPH_CLIENT_SECRET": "not-the-secret"})
    with pytest.raises(GraphAuthError, match="invalid_client"):
        client.get_json("users")


def test_a_revoked_token_is_replaced_once_and_the_request_succeeds(sim: SimulatorProcess):
    client = _client(sim.graph_env())
    client.get_json("users")
    sim.control.reset_stats()
    sim.control.expire_access_tokens()
    assert client.get_json("users")["value"]
    stats = sim.control.stats()
    assert stats["by_kind"]["token"] == 1 and stats["by_status"].get("401", 0) == 1


def test_unknown_ids_are_typed_not_found(sim: SimulatorProcess):
    client = _client(sim.graph_env())
    user = sim.control.mailbox_users()[0]["id"]
    with pytest.raises(GraphNotFound) as caught:
        client.get_json(f"users/{user}/messages/AAMk-does-not-exist")
    assert caught.value.status == 404 and caught.value.code == "ErrorItemNotFound"


def test_never_more_than_four_requests_in_flight_per_mailbox(sim: SimulatorProcess):
    sim.control.configure(latency_ms=30)
    client = _client(sim.graph_env())
    user = sim.control.mailbox_users()[0]
    urls = [f"users/{user['id']}/messages/{m['id']}/$value" for m in user["messages"]] * 4

    with ThreadPoolExecutor(16) as pool:
        sizes = list(pool.map(lambda url: client.download(url, _Sink()), urls))
    assert all(size > 0 for size in sizes)
    stats = sim.control.stats()
    assert stats["max_in_flight"][user["id"]] == 4  # saturated, never exceeded
    assert stats["answered_429"] == 0  # so Graph never had to refuse


def test_a_request_waiting_for_its_mailbox_slot_at_ctrl_c_is_never_sent(sim: SimulatorProcess):
    """core/stopping.py: after a stop request no request goes out, not even one that was already waiting for a
    slot of its mailbox when the stop came; the one on the wire finishes."""
    import threading
    import time

    from core import stopping

    client = _client(sim.graph_env(), policy=GraphPolicy(mailbox_concurrency=1))
    user = sim.control.mailbox_users()[0]
    client.get_json(f"users/{user['id']}")  # signed in: the first download goes straight to the wire
    sim.control.configure(latency_ms=400)
    first, second = (f"users/{user['id']}/messages/{m['id']}" for m in user["messages"][:2])
    sim.control.reset_stats()
    outcome: dict[str, object] = {}

    def fetch(name: str, url: str) -> None:
        try:
            outcome[name] = client.get_json(url, params={"$select": "id"})
        except stopping.Interrupted as exc:
            outcome[name] = exc

    on_the_wire = threading.Thread(target=fetch, args=("first", first))
    waiting = threading.Thread(target=fetch, args=("second", second))
    try:
        on_the_wire.start()
        time.sleep(0.1)  # the first holds the mailbox's one slot for 400 ms
        waiting.start()
        time.sleep(0.1)  # the second waits for that slot
        stopping.request_stop()
        on_the_wire.join(10)
        waiting.join(10)
    finally:
        stopping.reset()
    assert isinstance(outcome["first"], dict) and outcome["first"]["id"] == first.rsplit("/", 1)[1]
    assert isinstance(outcome["second"], stopping.Interrupted)
    assert sim.control.stats()["by_kind"]["message_get"] == 1  # the waiting one never reached Graph


def test_the_given_transport_carries_every_graph_request(sim: SimulatorProcess):
    settings = load_settings({**STORAGE, **sim.graph_env()})
    # the default TLS and pool settings, plus an httpx option of our own: bind the client side to 127.0.0.1
    transport = RecordingTransport(graph_transport(settings, local_address="127.0.0.1"))
    client = GraphClient(settings, TokenProvider(settings), transport=transport)
    sim.control.reset_stats()

    users = [u for page in client.iter_pages("users", params={"$top": "1"}) for u in page]

    assert len(users) == 3
    assert transport.paths == ["/v1.0/users"] * 3  # one per page; sign-in goes through msal, not this transport
    assert sim.control.stats()["by_kind"]["users"] == 3


def test_a_transport_that_does_not_trust_the_simulator_fails_as_the_policy_says(sim: SimulatorProcess):
    sleeps: list[float] = []
    policy = GraphPolicy(retry=RetryPolicy(max_attempts=2, base_delay=0.01), sleep=sleeps.append)
    # only the system's CAs: the simulator's self-signed certificate is refused before any request is sent
    client = _client(sim.graph_env(), transport=httpx.HTTPTransport(), policy=policy)
    sim.control.reset_stats()

    with pytest.raises(GraphTransportError):
        client.get_json("users")

    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.01  # two attempts, one backoff wait of at most base_delay
    assert client.stats()["transport_errors"] == 2
    assert sim.control.stats()["by_kind"].get("users", 0) == 0


def test_its_own_connections_trust_only_the_system_and_the_bundle(sim: SimulatorProcess):
    class Token:  # no sign-in: it would need the bundle too
        def token(self) -> str:
            return "t"

        def invalidate(self) -> None:
            pass

    policy = GraphPolicy(retry=RetryPolicy(max_attempts=2, base_delay=0.01), sleep=lambda _s: None)
    env = {k: v for k, v in sim.graph_env().items() if k != "GRAPH_CA_BUNDLE"}
    client = GraphClient(load_settings({**STORAGE, **env}), Token(), policy=policy)
    assert client._wire is not None  # no transport given, no proxy: core/graph/wire.py
    sim.control.reset_stats()
    with pytest.raises(GraphTransportError, match="ConnectError"):  # refused before anything is sent
        client.post_json("users/u1/messages", {"subject": "x"})
    assert client.stats()["transport_errors"] == 2 and client.stats().get("ambiguous_writes", 0) == 0
    assert not any(sim.control.stats()["by_kind"].values())


def test_the_policy_sets_the_per_mailbox_concurrency(sim: SimulatorProcess):
    sim.control.configure(latency_ms=30)
    client = _client(sim.graph_env(), policy=GraphPolicy(mailbox_concurrency=2))
    user = sim.control.mailbox_users()[0]
    urls = [f"users/{user['id']}/messages/{m['id']}/$value" for m in user["messages"]] * 2

    with ThreadPoolExecutor(8) as pool:
        assert all(size > 0 for size in pool.map(lambda url: client.download(url, _Sink()), urls))
    assert sim.control.stats()["max_in_flight"][user["id"]] == 2
