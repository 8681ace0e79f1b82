"""The Graph client follows a GET's 307/308 only on the Graph endpoint's own origin (an archive's expanded folder
answers 308 with the auxiliary archive's URL: https://learn.microsoft.com/graph/handle-archive-mailbox-redirects),
never sends its token to another origin, stops after MAX_REDIRECTS hops, and still returns a 302 (a drive item's
content) to its caller. Real loopback HTTPS: two tiny servers, two origins."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import GraphRedirectRefused
from core.graph.client import MAX_REDIRECTS, GraphClient
from graphsim.tls import make_tls_files


class _Tokens:
    def token(self) -> str:
        return "secret-token"

    def invalidate(self) -> None:
        pass


class _Server:
    """An HTTPS server on 127.0.0.1 answering from `routes` (path -> (status, headers, body)); it records each
    request's path and Authorization header."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server names it so
                server.seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = server.routes.get(self.path.split("?")[0], (404, {}, b'{"error": {}}'))
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers(tmp_path) -> Iterator[tuple[_Server, _Server, GraphClient]]:
    tls = make_tls_files(tmp_path)
    graph, other = _Server(tls.cert_file, tls.key_file), _Server(tls.cert_file, tls.key_file)
    settings = load_settings({"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "s",
                              "GRAPH_ENDPOINT": graph.url, "GRAPH_CA_BUNDLE": str(tls.ca_file),
                              "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
                              "BACKUP_WORKLOADS": "exchange"})  # fmt: skip
    client = GraphClient(settings, _Tokens())
    try:
        yield graph, other, client
    finally:
        client.close()
        graph.close()
        other.close()


def test_a_308_on_graphs_origin_is_followed_with_its_query(servers):
    graph, _other, client = servers
    graph.routes["/beta/users/MBX:main/mailFolders/f/messages"] = (
        308, {"Location": f"{graph.url}/beta/users/MBX:aux/mailFolders/f/messages?%24top=5"}, b"")  # fmt: skip
    graph.routes["/beta/users/MBX:aux/mailFolders/f/messages"] = (200, {}, b'{"value": [{"id": "m"}]}')
    body = client.get_json(f"{graph.url}/beta/users/MBX:main/mailFolders/f/messages", params={"$top": "10"})
    assert body == {"value": [{"id": "m"}]}
    assert graph.seen == [("/beta/users/MBX:main/mailFolders/f/messages?%24top=10", "Bearer secret-token"),
                          ("/beta/users/MBX:aux/mailFolders/f/messages?%24top=5", "Bearer secret-token")]  # fmt: skip
    assert client.stats()["redirects"] == 1


def test_a_307_relative_location_is_followed_too(servers):
    graph, _other, client = servers
    graph.routes["/v1.0/a"] = (307, {"Location": "/v1.0/b"}, b"")
    graph.routes["/v1.0/b"] = (200, {}, b'{"ok": true}')
    assert client.get_json("a") == {"ok": True}


def test_a_redirect_to_another_origin_is_refused_and_gets_no_token(servers):
    graph, other, client = servers
    graph.routes["/v1.0/away"] = (308, {"Location": f"{other.url}/steal"}, b"")
    with pytest.raises(GraphRedirectRefused) as refused:
        client.get_json("away")
    assert refused.value.location == f"{other.url}/steal" and other.url in str(refused.value)
    assert other.seen == []  # nothing at all reached the other origin, least of all the token


def test_a_redirect_loop_stops_after_the_allowed_hops(servers):
    graph, _other, client = servers
    graph.routes["/v1.0/loop"] = (308, {"Location": f"{graph.url}/v1.0/loop"}, b"")
    with pytest.raises(GraphRedirectRefused):
        client.get_json("loop")
    assert len(graph.seen) == MAX_REDIRECTS + 1


def test_a_302_is_still_returned_to_the_caller(servers):
    graph, other, client = servers
    graph.routes["/v1.0/drives/d/items/i/content"] = (302, {"Location": f"{other.url}/download?sig=1"}, b"")
    response = client.request("GET", "drives/d/items/i/content")
    assert response.status_code == 302 and response.headers["Location"] == f"{other.url}/download?sig=1"
    assert other.seen == []
