"""An HTTP/1.1 exchange of our own: a request written on a kept-alive socket, its answer read back, nothing more.
The direct storage paths (core/storage/direct_auth.py) take whole answers (`Connections.request`); Graph's requests
(core/graph/wire.py) stream theirs (`Connections.connection` + `Exchange`). urllib3 (over http.client, which parses
every header block with the `email` package) cost ~0.5 ms of CPU per request on this project's machines, httpx over
httpcore and h11 ~0.5 ms too, against ~0.06 ms for this; a small message's backup makes about two such requests.

What it does, as RFC 9112 (https://www.rfc-editor.org/rfc/rfc9112) has it for a client that sends no `Expect` and
no pipelined requests: one request at a time per connection; the answer's body framed by `Transfer-Encoding:
chunked`, else `Content-Length`, else the connection's end (then not reused); no body for HEAD, 1xx, 204 and 304;
`Connection: close` honoured. TLS with the platform's checks (certificate chain to certifi's CAs, the given file's
or the given context's; host name). Nothing is retried here and no redirect is followed: any fault (a refused or
dropped connection, a timeout, an answer that is not HTTP: `BrokenAnswer`) raises, and the caller decides (the
storage paths hand the request to the SDK, which knows how to retry it; the Graph client knows which requests may
be sent again).

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
_PIECE = 65_536  # what a streamed body is read in
Origin = tuple[str, str, int]  # scheme, host, port


class BrokenAnswer(ConnectionError):
    """What came back is not a whole HTTP/1.1 answer (not HTTP, a bad header or chunk, a body cut short)."""


class Headers(dict[str, str]):
    """An answer's headers by lower-case name (repeated ones joined with ', ')."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in fields:
            key = name.lower()
            self[key] = f"{self[key]}, {value}" if key in self else value

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class Answer:
    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status, self.headers, self.data = status, headers, data


class _Connection:
    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.timeout = timeout
        self.idle_since = time.monotonic()

    def dropped(self, idle_s: float) -> bool:
        """Whether the server closed it (or sent something unasked) while it was idle, or it idled too long. Over
        TLS, what arrived may be TLS records only (a TLS 1.3 session ticket): the connection is still good then."""
        if time.monotonic() - self.idle_since >= idle_s:
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
            self.sock.settimeout(self.timeout)
        return True  # a close_notify, the end, or data nobody asked for

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Connections:
    """Kept-alive connections by origin, at most `size` idle per origin. Thread-safe; a connection serves one
    request at a time. TLS trusts certifi's CAs, or `ca_file`'s, or is the `tls` context given."""

    def __init__(
        self,
        size: int,
        ca_file: str | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        idle_s: float = IDLE_S,
    ) -> None:
        self._size = size
        self._ca_file = ca_file or certifi.where()
        self._tls = tls
        self._connect_timeout, self._read_timeout, self._idle_s = connect_timeout, read_timeout, idle_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections made (tests read it)

    def request(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """The whole answer to one request (`url` absolute). Raises OSError, ValueError or ssl.SSLError on any
        fault."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        if (not https and parts.scheme != "http") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url[:100]}")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        lines = [("Host", parts.netloc), *(headers or {}).items()]
        if body is not None and not any(name.lower() == "content-length" for name in headers or {}):
            lines.append(("Content-Length", str(len(body))))
        head = request_head(method, parts.path + (f"?{parts.query}" if parts.query else ""), lines)
        exchange = Exchange(self, origin, self.connection(origin))
        exchange.send(method, head, body)
        try:
            return Answer(exchange.status, exchange.named, exchange.read_all())
        finally:
            exchange.close()

    def connection(self, origin: Origin) -> _Connection:
        """A kept connection to `origin` that the server has not closed, or a new one (OSError if none can be
        made: nothing was sent)."""
        while True:
            with self._lock:
                stack = self._idle.get(origin)
                connection = stack.pop() if stack else None
            if connection is None:
                return self._open(origin)
            if not connection.dropped(self._idle_s):
                return connection
            connection.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def give_back(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            stack = self._idle.setdefault(origin, [])
            if len(stack) < self._size:
                stack.append(connection)
                return
        connection.close()

    def _open(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=host)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self.opened += 1
        return _Connection(sock, self._read_timeout)

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context(cafile=self._ca_file)
            return self._tls


def request_head(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    """The request line and header block. A name or value that could end the line (CR, LF, NUL) or a name with a
    colon is refused (ValueError), as http.client refuses it."""
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise ValueError(f"header {name!r} holds a character a header cannot")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Exchange:
    """One request sent on `connection` and its answer's head read (`status`, `reason`, `headers` as sent, in
    order); the body then read whole (`read_all`) or piece by piece (`read`). Once the body is read to its end the
    connection goes back to the pool if it may carry another request; `close` before that closes it. Any fault
    closes the connection and raises (OSError: BrokenAnswer for what is not HTTP, TimeoutError, ...)."""

    def __init__(self, pool: Connections, origin: Origin, connection: _Connection) -> None:
        self._pool, self._origin, self._connection = pool, origin, connection
        self.sent = False  # whether the request was written whole (until then a fault is a write's)

    def send(self, method: str, head: bytes, body: bytes | None) -> None:
        """Write the request (`head` from `request_head`, then `body`) and read the answer's head."""
        connection = self._connection
        assert connection is not None, "an exchange sends one request"
        try:
            if body and len(body) > _PIECE:  # an upload fragment (up to 60 MiB): not copied to be joined
                connection.sock.sendall(head)
                connection.sock.sendall(body)
            else:
                connection.sock.sendall(head + body if body else head)
            self.sent = True
            self._read_head(connection.reader, method)
        except BaseException:
            self._drop()
            raise

    def _read_head(self, reader: io.BufferedIOBase, method: str) -> None:
        while True:
            line = reader.readline(_LINE)
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise BrokenAnswer(f"not an HTTP answer: {line[:80]!r}")
            status = int(parts[1])
            fields = _fields(reader)
            if status >= 200 or status == 101:
                break  # a 1xx but 101 is interim: the answer follows
        self.status = status
        self.reason = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
        self.headers = fields  # as sent, in order
        self.named = named = Headers(fields)  # by lower-case name
        self._reusable = parts[0] == b"HTTP/1.1" and "close" not in (named.get("connection") or "").lower()
        self._chunked = False
        self._left: int | None = 0  # bytes of the body (or of the current chunk) still to read; None: to the end
        if method == "HEAD" or status in (204, 304) or status < 200:
            self._reusable = self._reusable and status != 101
        elif "chunked" in (named.get("transfer-encoding") or "").lower():
            self._chunked, self._left = True, self._chunk_size()
        elif (length := named.get("content-length")) is None:
            self._left, self._reusable = None, False  # framed by the connection's end
        elif not length.isdigit():
            raise BrokenAnswer(f"invalid Content-Length {length[:40]!r}")
        else:
            self._left = int(length)
        if self._left == 0:
            self._done()

    def read(self, size: int = _PIECE) -> bytes:
        """Up to `size` bytes of the body; b"" at its end."""
        connection = self._connection
        if connection is None:
            return b""
        try:
            if self._left is None:
                piece = connection.reader.read1(size)
                if not piece:
                    self._done()
                return piece
            piece = connection.reader.read(min(size, self._left))
            if len(piece) < min(size, self._left):
                raise BrokenAnswer(f"the answer ended {self._left - len(piece)} bytes early")
            self._left -= len(piece)
            if self._left == 0 and self._chunked:
                if connection.reader.read(2) != b"\r\n":
                    raise BrokenAnswer("a chunk did not end where its size said")
                self._left = self._chunk_size()
            if self._left == 0:
                self._done()
            return piece
        except BaseException:
            self._drop()
            raise

    def read_all(self) -> bytes:
        data = bytearray()
        while piece := self.read():
            data += piece
        return bytes(data)

    def close(self) -> None:
        """The body is not wanted (or was read): a connection with some of it unread is closed, not reused."""
        self._drop()

    def _chunk_size(self) -> int:
        line = self._connection.reader.readline(_LINE)  # type: ignore[union-attr]
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BrokenAnswer(f"invalid chunk size {line[:40]!r}") from None
        if size == 0:
            _fields(self._connection.reader)  # type: ignore[union-attr]  # the trailer, up to its empty line
        return size

    def _done(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._reusable:
            self._pool.give_back(self._origin, connection)
        else:
            connection.close()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _fields(reader: io.BufferedIOBase) -> list[tuple[str, str]]:
    fields = []
    while True:
        line = reader.readline(_LINE)
        if line in (b"\r\n", b"\n"):
            return fields
        if not line.endswith(b"\n"):
            raise BrokenAnswer("the answer's headers ended early")
        name, colon, value = line.partition(b":")
        if not colon:
            raise BrokenAnswer(f"not a header line: {line[:80]!r}")
        fields.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
