"""The storage probe of the CLI (core/storage/reachability.py) against real endpoints: a closed port, a real
Azurite, and a loopback server that answers every request with 503. Only a request that cannot be sent fails it;
any answer passes; the probe itself sends each attempt once (no SDK retries)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from core.bootstrap import build_services
from core.config import load_settings
from core.errors import GraphAuthError
from core.storage import reachability
from devenv.azurite import ACCOUNT, KEY

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


def _account(blob: str, table: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={blob};TableEndpoint={table}")  # fmt: skip


CLOSED = f"http://127.0.0.1:9/{ACCOUNT}"  # the discard port: nothing listens


def _container(connection_string: str, name: str = "probe") -> ContainerClient:
    return BlobServiceClient.from_connection_string(connection_string).get_container_client(name)


class Counting:
    """Each attempt of a request, with the options it was sent with."""

    def __init__(self, *requests: Callable[..., object]) -> None:
        self.requests = list(requests)
        self.sent: list[dict[str, object]] = []

    def __call__(self, **options: object) -> object:
        self.sent.append(options)
        return self.requests[min(len(self.sent), len(self.requests)) - 1](**options)


class _Unavailable(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        self.send_response(503, "Server Busy")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy() -> Iterator[http.server.HTTPServer]:
    """A storage endpoint that is there but answers 503 to everything."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Unavailable)
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_closed_port_fails_after_the_attempts_with_short_pauses_and_no_sdk_retries():
    pauses: list[float] = []
    attempts = Counting(_container(_account(CLOSED, CLOSED)).exists)
    with pytest.raises(ServiceRequestError):
        reachability.probe(attempts, sleep=pauses.append)
    assert len(attempts.sent) == reachability.ATTEMPTS == 3
    assert pauses == list(reachability.PAUSES)
    assert all(options["retry_total"] == 0 for options in attempts.sent)
    assert all(options["connection_timeout"] == reachability.CONNECT_TIMEOUT for options in attempts.sent)


def test_a_connection_that_fails_once_is_tried_again_and_passes(storage_env):
    pauses: list[float] = []
    reachable = _container(storage_env["BACKUP_STORAGE_CONNECTION_STRING"], storage_env["BACKUP_CONTAINER"])
    attempts = Counting(_container(_account(CLOSED, CLOSED)).exists, reachable.exists)
    reachability.probe(attempts, sleep=pauses.append)
    assert len(attempts.sent) == 2 and pauses == [reachability.PAUSES[0]]


def test_a_missing_container_or_table_is_an_answer(storage_env):
    connection = storage_env["BACKUP_STORAGE_CONNECTION_STRING"]
    container = _container(connection, storage_env["BACKUP_CONTAINER"])
    assert not container.exists()  # nothing made yet: the probe's request is answered 404
    reachability.probe_blob(container)
    runs = f"{storage_env['BACKUP_TABLE_PREFIX']}runs"
    table = TableServiceClient.from_connection_string(connection).get_table_client(runs)
    reachability.probe_table(table)  # the table does not exist: 404, an answer


def test_an_endpoint_that_answers_503_is_reachable_and_asked_once(busy):
    endpoint = f"http://127.0.0.1:{busy.server_address[1]}/{ACCOUNT}"
    service = TableServiceClient.from_connection_string(_account(endpoint, endpoint))
    reachability.probe_blob(_container(_account(endpoint, endpoint)))
    reachability.probe_table(service.get_table_client("truns"))
    assert busy.requests == 2  # one request each: the probe does not wait through the SDKs' retries


def test_the_cli_services_probe_the_blob_and_then_the_table_endpoint(storage_env):
    connection = storage_env["BACKUP_STORAGE_CONNECTION_STRING"]
    blob = next(p.split("=", 1)[1] for p in connection.split(";") if p.startswith("BlobEndpoint="))
    no_tables = {**SECRETLESS, **storage_env, "BACKUP_STORAGE_CONNECTION_STRING": _account(blob, CLOSED)}
    with pytest.raises(ServiceRequestError) as failed:  # the blob endpoint answers, the table endpoint cannot
        build_services(load_settings(no_tables), probe_storage=True)
    assert any(entry.path.name == "reachability.py" for entry in failed.traceback)  # raised by the probe
    no_sign_in = {**SECRETLESS, **storage_env, "GRAPH_AUTHORITY_HOST": "https://127.0.0.1:9"}
    with pytest.raises(GraphAuthError):  # reachable storage: built as without the probe, up to the sign-in host
        build_services(load_settings(no_sign_in), probe_storage=True)
    assert _container(connection, storage_env["BACKUP_CONTAINER"]).exists()
    tables = TableServiceClient.from_connection_string(connection).list_tables()
    assert f"{storage_env['BACKUP_TABLE_PREFIX']}runs" in {table.name for table in tables}
