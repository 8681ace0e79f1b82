"""The direct storage paths' HTTP/1.1 exchange (core/http11.py): against Azurite, and against a loopback
server that answers exactly the bytes a test gives it (framings, closes, malformed answers), since Azurite always
answers the same way. Every fault raises, so the caller hands the request to the SDK; nothing is reused that could
lose the next request."""

from __future__ import annotations

import threading

import pytest

from core.http11 import Connections
from tests.integration.scripted_server import ScriptedServer


@pytest.fixture
def server():
    server = ScriptedServer()
    yield server
    server.close()


def test_answers_are_read_in_each_framing_on_one_connection(server):
    pool = Connections(4)
    server.answer(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Ms-Error-Code: none\r\n\r\nhello")
    server.answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: x\r\n\r\n"
    )
    server.answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n")
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")  # HEAD: the length is the body's it would have
    first = pool.request("PUT", server.url("/c/b?comp=x"), body=b"data", headers={"x-ms-meta-a": "1"})
    assert (first.status, first.data, first.headers.get("x-ms-error-code")) == (201, b"hello", "none")
    assert pool.request("GET", server.url()).data == b"abcde"
    third = pool.request("DELETE", server.url())
    assert (third.status, third.data, third.headers.get("Set-Cookie")) == (204, b"", "a, b")
    assert pool.request("HEAD", server.url()).data == b""
    assert server.accepted == 1 and pool.opened == 1  # one kept-alive connection for the four
    assert server.requests[0].startswith(b"PUT /c/b?comp=x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"x-ms-meta-a: 1\r\nContent-Length: 4\r\n\r\ndata" in server.requests[0]


def test_a_connection_the_server_closes_is_not_reused(server):
    pool = Connections(4)
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", close=True)  # closed while idle
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nb", close=True)
    server.answer(b"HTTP/1.0 200 OK\r\n\r\nto the end", close=True)  # no length: framed by the close
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd")
    assert pool.request("GET", server.url()).data == b"a"
    threading.Event().wait(0.2)  # the close reaches the idle connection
    assert pool.request("GET", server.url()).data == b"b"  # the dropped one seen and left: a new connection
    assert pool.request("GET", server.url()).data == b"to the end"
    assert pool.request("GET", server.url()).data == b"d"
    assert server.accepted == 4 and pool.opened == 4 and len(server.requests) == 4  # none sent on a closed one


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # the body ends early
        b"SSH-2.0-OpenSSH\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # not a chunk size
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"",  # closed with no answer
    ],
)
def test_a_broken_answer_raises_and_its_connection_is_dropped(server, raw):
    pool = Connections(4)
    server.answer(raw, close=True)
    with pytest.raises(OSError):  # ConnectionError: the caller hands the request to the SDK
        pool.request("GET", server.url())
    server.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert pool.request("GET", server.url()).data == b"ok" and pool.opened == 2


def test_a_header_that_could_split_the_request_is_refused_before_sending(server):
    pool = Connections(4)
    with pytest.raises(ValueError, match="holds a character"):
        pool.request("PUT", server.url(), body=b"", headers={"x-ms-meta-a": "1\r\nx-ms-evil: 2"})
    with pytest.raises(ValueError, match="not an http"):
        pool.request("GET", "ftp://127.0.0.1/x")
    assert server.requests == [] and pool.opened == 0


def test_requests_to_azurite_share_a_connection(azurite):
    pool = Connections(2)
    url = f"http://127.0.0.1:{azurite.blob_port}/devstoreaccount1/nosuch?restype=container"
    answers = [pool.request("GET", url, headers={"x-ms-version": "2021-08-06"}) for _ in range(3)]
    assert [a.status for a in answers] == [403, 403, 403]  # unsigned: refused, framed and read all the same
    assert all(b"AuthorizationFailure" in a.data or b"Authorization" in a.data for a in answers)
    assert pool.opened == 1
    pool.clear()
    pool.request("GET", url)
    assert pool.opened == 2
