"""The HTTP/1.1 exchange of the direct storage paths (core/storage/direct_auth.py): a request written on a kept-alive
socket, its answer read back, nothing more. urllib3 (over http.client, which parses every header block with the
`email` package) cost ~0.5 ms of CPU per request on this project's machines, against ~0.06 ms for this; a small
message's backup makes about one such request.

What it does, as RFC 9112 (https://www.rfc-editor.org/rfc/rfc9112) has it for a client that sends no `Expect` and
no pipelined requests: one request at a time per connection; the answer's body framed by `Transfer-Encoding:
chunked`, else `Content-Length`, else the connection's end (then not reused); no body for HEAD, 1xx, 204 and 304;
`Connection: close` honoured. TLS with the platform's checks (certificate chain to certifi's CAs or the given file,
host name). Nothing is retried here and no redirect is followed: any fault (a refused or dropped connection, a
timeout, an answer that is not HTTP) raises, and the caller hands the request to the storage SDK, which knows how
to retry it (every direct request is safe to send again: core/storage/direct_auth.py).

A kept connection is reused only if it was idle for less than `IDLE_S` (under the 5 s for which Azurite's Node
server keeps one; Azure's front ends keep them longer) and the server has not closed it meanwhile (it would be
readable): so a request is not lost to a close that crossed it, which the SDK would then have to repeat.
"""

from __future__ import annotations

import io
import select
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import certifi

IDLE_S = 4.0
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 20.0, 60.0  # the storage SDKs' connection and read timeouts
_LINE = 65_536  # the longest status or header line taken


class Headers(dict[str, str]):
    """An answer's headers by lower-case name (repeated ones joined with ', ')."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class Answer:
    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status, self.headers, self.data = status, headers, data


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.idle_since = time.monotonic()

    def dropped(self) -> bool:
        """Whether the server closed it (or sent something unasked) while it was idle, or it idled too long. Over
        TLS, what arrived may be TLS records only (a TLS 1.3 session ticket): the connection is still good then."""
        if time.monotonic() - self.idle_since >= IDLE_S:
            return True
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(0):
            return False
        if not isinstance(self.sock, ssl.SSLSocket):
            return True  # the server's close (or bytes nobody asked for)
        self.sock.setblocking(False)
        try:
            self.sock.recv(1)
        except ssl.SSLWantReadError:
            return False  # records the TLS layer took; no data, no close
        except OSError:
            return True
        finally:
            self.sock.settimeout(READ_TIMEOUT_S)
        return True  # a close_notify, the end, or data nobody asked for

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Connections:
    """Kept-alive connections by origin, at most `size` idle per origin. Thread-safe; a connection serves one
    request at a time."""

    def __init__(self, size: int, ca_file: str | None = None) -> None:
        self._size = size
        self._ca_file = ca_file or certifi.where()
        self._tls: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections made (tests read it)

    def request(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """The answer to one request (`url` absolute). Raises OSError, ValueError or ssl.SSLError on any fault."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        if (not https and parts.scheme != "http") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url[:100]}")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        head = _head(method, parts.path + (f"?{parts.query}" if parts.query else ""), parts.netloc, headers, body)
        connection = self._take(origin) or self._open(origin)
        try:
            connection.sock.sendall(head + body if body else head)
            answer, reusable = _answer(connection.reader, method)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._give_back(origin, connection)
        else:
            connection.close()
        return answer

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        while True:
            with self._lock:
                stack = self._idle.get(origin)
                if not stack:
                    return None
                connection = stack.pop()
            if not connection.dropped():
                return connection
            connection.close()

    def _give_back(self, origin: tuple[str, str, int], connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            stack = self._idle.setdefault(origin, [])
            if len(stack) < self._size:
                stack.append(connection)
                return
        connection.close()

    def _open(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=host)
            sock.settimeout(READ_TIMEOUT_S)
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self.opened += 1
        return _Connection(sock)

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context(cafile=self._ca_file)
            return self._tls


def _head(method: str, target: str, host: str, headers: dict[str, str] | None, body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    named = {name.lower() for name in headers or {}}
    for name, value in (headers or {}).items():
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise ValueError(f"header {name!r} holds a character a header cannot")  # as http.client refuses it
        lines.append(f"{name}: {value}")
    if body is not None and "content-length" not in named:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(reader: io.BufferedIOBase, method: str) -> tuple[Answer, bool]:
    """(the answer, whether the connection may carry another request)."""
    while True:
        line = reader.readline(_LINE)
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP answer: {line[:80]!r}")
        status = int(parts[1])
        headers = _headers(reader)
        if status >= 200 or status == 101:
            break  # a 1xx but 101 is interim: the answer follows
    reusable = parts[0] == b"HTTP/1.1" and "close" not in (headers.get("connection") or "").lower()
    if method == "HEAD" or status in (204, 304) or status < 200:
        return Answer(status, headers, b""), reusable and status != 101
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        return Answer(status, headers, _chunks(reader)), reusable
    length = headers.get("content-length")
    if length is None:
        return Answer(status, headers, reader.read()), False  # framed by the connection's end
    if not length.isdigit():
        raise ConnectionError(f"invalid Content-Length {length[:40]!r}")
    data = reader.read(int(length))
    if len(data) != int(length):
        raise ConnectionError(f"the answer ended after {len(data)} of {length} bytes")
    return Answer(status, headers, data), reusable


def _headers(reader: io.BufferedIOBase) -> Headers:
    headers = Headers()
    while True:
        line = reader.readline(_LINE)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line.endswith(b"\n"):
            raise ConnectionError("the answer's headers ended early")
        name, colon, value = line.partition(b":")
        if not colon:
            raise ConnectionError(f"not a header line: {line[:80]!r}")
        key, text = name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text


def _chunks(reader: io.BufferedIOBase) -> bytes:
    data = bytearray()
    while True:
        line = reader.readline(_LINE)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ConnectionError(f"invalid chunk size {line[:40]!r}") from None
        if size == 0:
            _headers(reader)  # the trailer, up to its empty line
            return bytes(data)
        chunk = reader.read(size + 2)
        if len(chunk) != size + 2 or not chunk.endswith(b"\r\n"):
            raise ConnectionError("a chunk ended early")
        data += chunk[:-2]
