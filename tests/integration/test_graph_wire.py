"""Graph's requests on the client's own connections (core/graph/wire.py), against a loopback server that keeps the
bytes it receives and answers exactly what a test scripts: the request is byte for byte the one httpx sends, the
answer is an httpx.Response in every framing, streamed or read whole, and every fault is the httpx exception
GraphClient's rules expect (nothing sent: ConnectError; possibly applied: a read or protocol error)."""

from __future__ import annotations

import random
import socket
import time

import httpx
import pytest

from core.graph.transports import tls_context
from core.graph.wire import GraphWire, plain_target, request_target
from tests.integration.scripted_server import ScriptedServer

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def server():
    server = ScriptedServer()
    yield server
    server.close()


def _wire(timeout: float = 5.0) -> GraphWire:
    return GraphWire(tls_context(""), timeout, 8, httpx.Client().headers)


REQUESTS = [
    ("GET", "/v1.0/users/u1/mailFolders/inbox/messages/delta", {"headers": {"Prefer": "odata.maxpagesize=50"},
                                                                 "params": {"$select": "id,subject", "$top": "50"}}),
    ("GET", "/v1.0/users/u1/messages/delta?$deltatoken=a%2Fb-_c&$select=id", {"headers": {"Authorization": "t"}}),
    ("GET", "/v1.0/users/ü ser/drive/root:/a b#c:/content", {"headers": {"Accept": "application/json"}}),
    ("POST", "/v1.0/$batch", {"json": {"requests": [{"id": "1", "url": "/me", "body": "Grüße"}]}}),
    ("POST", "/v1.0/users/u1/messages/m1/send", {}),
    ("PUT", "/v1.0/users/u1/contacts/c1/photo/$value", {"content": b"\x89PNG\r\n", "headers": {"Content-Type": "x/y"}}),
    ("PATCH", "/v1.0/users/u1/events/e1", {"json": {"subject": "s"}, "params": {}}),
    ("DELETE", "/v1.0/users/u1/messages/m2", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "options"), REQUESTS, ids=[f"{m} {p[:30]}" for m, p, _ in REQUESTS])
def test_the_request_is_the_one_httpx_sends(server, method, path, options):
    options = {"headers": {}, **options}
    server.answer(OK)
    server.answer(OK)
    with httpx.Client(trust_env=False) as client:
        sent = client.request(method, server.url(path), **options)
    answer = _wire().send(method, server.url(path), options.pop("headers"), stream=False, **options)
    assert server.requests[0] == server.requests[1]  # byte for byte: the line, the headers in order, the body
    assert (answer.status_code, answer.content, answer.headers["content-length"]) == (200, b"ok", "2")
    assert answer.request.method == method and str(answer.request.url) == str(sent.request.url)


def test_answers_in_every_framing_streamed_or_whole_on_one_connection(server):
    wire = _wire()
    server.answer(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nhello")
    server.answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n")
    server.answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    body = bytes(range(256)) * 1171 + b"tail"
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    first = wire.send("POST", server.url(), {}, stream=False, json={"a": 1})
    assert (first.status_code, first.text, first.headers.get_list("set-cookie")) == (201, "hello", ["a", "b"])
    assert first.reason_phrase == "Created" and first.http_version == "HTTP/1.1"
    streamed = wire.send("GET", server.url(), {}, stream=True)
    assert b"".join(streamed.iter_bytes(2)) == b"abcde"
    streamed.close()
    assert wire.send("DELETE", server.url(), {}, stream=False).status_code == 204
    big = wire.send("GET", server.url(), {}, stream=True)
    pieces = list(big.iter_bytes(65_536))
    assert len(pieces) == 5 and b"".join(pieces) == body
    big.close()
    assert server.accepted == 1 and wire.opened == 1  # every answer read to its end: the connection kept


def test_a_body_left_unread_or_framed_by_the_close_does_not_keep_its_connection(server):
    wire = _wire()
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    server.answer(b"HTTP/1.0 200 OK\r\n\r\nto the end", close=True)
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", close=True)  # then closed while idle
    server.answer(OK)
    wire.send("GET", server.url(), {}, stream=True).close()  # not read: the rest of it would be the next answer
    assert wire.send("GET", server.url(), {}, stream=False).content == b"to the end"
    assert wire.send("GET", server.url(), {}, stream=False).content == b"a"
    time.sleep(0.2)  # the server's close reaches the idle connection
    assert wire.send("GET", server.url(), {}, stream=False).content == b"ok"
    assert server.accepted == 4 and len(server.requests) == 4  # none written on a connection that was done


def test_nothing_sent_is_a_connect_error():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(httpx.ConnectError):
        _wire().send("POST", f"http://127.0.0.1:{port}/v1.0/x", {}, stream=False, json={})


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        (b"", httpx.RemoteProtocolError),  # closed after the request, no answer: it may have been applied
        (b"SSH-2.0-OpenSSH\r\n", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", httpx.RemoteProtocolError),
    ],
)
def test_a_broken_answer_is_a_protocol_error_after_the_request_went_out(server, raw, fault):
    wire = _wire()
    server.answer(raw, close=True)
    with pytest.raises(fault):
        wire.send("POST", server.url(), {}, stream=False, json={"a": 1})
    assert len(server.requests) == 1  # it reached the server: GraphClient calls such a POST ambiguous
    server.answer(OK)
    assert wire.send("GET", server.url(), {}, stream=False).content == b"ok" and wire.opened == 2


def test_a_body_cut_short_while_streaming_is_a_protocol_error(server):
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 70_000, close=True)
    response = _wire().send("GET", server.url(), {}, stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        b"".join(response.iter_bytes())
    response.close()


def test_silence_is_a_read_timeout(server):
    server.answer(b"")  # the request is taken and never answered
    with pytest.raises(httpx.ReadTimeout):
        _wire(timeout=0.3).send("GET", server.url(), {}, stream=False)


def test_a_header_that_could_split_the_request_is_refused_before_anything_is_sent(server):
    with pytest.raises(httpx.LocalProtocolError):
        _wire().send("GET", server.url(), {"X-A": "1\r\nX-Evil: 2"}, stream=False)
    with pytest.raises(httpx.UnsupportedProtocol):
        _wire().send("GET", "ftp://127.0.0.1/x", {}, stream=False)
    assert server.requests == [] and server.accepted == 0


def test_the_target_is_httpxs_with_or_without_a_parse():
    rng = random.Random(16)
    plain, other = "aZ09-._~:/@!$&'()*+,;=%", ' "<>\\^`{|}é#?[]'

    def word(alphabet: str, most: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, most)))

    origins = ["https://graph.microsoft.com", "https://Graph.Microsoft.com:443", "https://127.0.0.1:8443",
               "http://localhost:80", "http://[::1]:8080"]  # fmt: skip
    unparsed = 0
    for n in range(4000):
        path = "/v1.0/" + word(plain if n % 2 else plain + other, 30)
        query = "" if n % 3 else "?" + word(plain + "?" + ("" if n % 4 else other), 20)
        params = [None, {}, {word(plain + other, 8) or "k": word(plain + other, 12)}][n % 3 if n % 5 else 0]
        url = rng.choice(origins) + path + query
        parsed = httpx.URL(url) if params is None else httpx.URL(url).copy_merge_params(params)
        port = parsed.port or {"https": 443, "http": 80}[parsed.scheme]
        expected = ((parsed.scheme, parsed.raw_host.decode(), port), parsed.netloc.decode(), parsed.raw_path.decode())
        assert request_target(url, params) == expected, (url, params)
        unparsed += plain_target(url, params) is not None
    assert unparsed > 1000  # the common case needs no parse
