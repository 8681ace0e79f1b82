"""Graph's requests sent on connections of our own (core/http11.py), not through httpx.Client: the same request
httpx would send (its URL as httpx forms it, its default headers, the same body), answered as an `httpx.Response`,
so everything above GraphClient._send is unchanged. Per small message's backup httpx cost ~0.5 ms of CPU in forming
the request (`build_request` parses the URL character by character, the cookie jar reads every answer) and in
httpcore and h11 (a pool scanned per request, every header validated twice); this path forms the URL without a
parse when it is already as httpx would send it, and reads the answer with a few byte-string splits.

Faults are httpx's exceptions, as httpcore raises them, so the client's rules hold unchanged: nothing sent
(`ConnectError`, `ConnectTimeout`: replaying is always safe), the request partly or wholly written (`WriteError`,
`WriteTimeout`, `ReadError`, `ReadTimeout`, `RemoteProtocolError`: a write may have happened). No retries and no
redirects here; no cookies kept (nothing this client calls depends on one; httpx kept a jar per client). A
connection is reused only when its server has not closed it (core/http11.py); an answer's body streams
(`stream=True`: drive files) and the connection goes back to the pool once it is read to its end.

Used when GraphClient is given no transport and the environment names no proxy; with a proxy, httpx sends
everything (it mounts the environment's proxies), and requests this path does not form (a body that is not bytes,
form data) go through httpx too.
"""

from __future__ import annotations

import functools
import json as json_module
import re
import ssl
from typing import Any
from urllib.parse import urlencode

import httpx

from core.http11 import BrokenAnswer, Connections, Exchange, Origin, request_head

# what httpx leaves as it is (it percent-encodes anything else, removes dot segments): a subset of its PATH_SAFE and
# QUERY_SAFE sets (httpx/_urlparse.py, after https://url.spec.whatwg.org/#percent-encoded-bytes)
_KEPT_PATH = re.compile(r"[A-Za-z0-9\-._~:/@!$&'()*+,;=%]*")
_KEPT_QUERY = re.compile(r"[A-Za-z0-9\-._~:/@!$&'()*+,;=%?]*")
_BODIED = frozenset({"POST", "PUT", "PATCH"})  # httpx sends `Content-Length: 0` when they have no body


@functools.lru_cache(maxsize=64)
def _endpoint(origin: str) -> tuple[Origin, str] | None:
    """(where to connect, the Host header) for `scheme://host[:port]`, as httpx parses it; None: not http(s)."""
    url = httpx.URL(origin + "/")
    if url.scheme not in ("http", "https") or not url.host:
        return None
    port = url.port or (443 if url.scheme == "https" else 80)
    return (url.scheme, url.raw_host.decode("ascii"), port), url.netloc.decode("ascii")


def plain_target(url: str, params: dict[str, Any] | None) -> tuple[Origin, str, str] | None:
    """`request_target` without a parse, when the URL needs no encoding or dot-segment removal and any query is
    new string parameters; None otherwise."""
    start = url.find("://") + 3
    slash = url.find("/", start) if start > 2 else -1
    query = url.find("?")
    fast = (
        slash > 0
        and "#" not in url
        and "/." not in url
        and (query < 0 or params is None)  # given parameters, httpx writes the URL's own query again
        and _KEPT_PATH.fullmatch(url, slash, query if query >= 0 else len(url)) is not None
        and (query < 0 or _KEPT_QUERY.fullmatch(url, query + 1) is not None)
        and (not params or all(type(k) is str and type(v) is str for k, v in params.items()))
    )
    endpoint = _endpoint(url[:slash]) if fast else None
    if endpoint is None:
        return None
    return endpoint[0], endpoint[1], url[slash:] + (f"?{urlencode(params)}" if params else "")


def request_target(url: str, params: dict[str, Any] | None) -> tuple[Origin, str, str]:
    """(where to connect, the Host header, the request target) of `url` with `params` merged, as httpx forms them
    (`httpx.URL(url).copy_merge_params(params)`), parsed only when it must be (`plain_target`;
    tests/unit/test_wire.py compares the two). Raises httpx.InvalidURL or UnsupportedProtocol as httpx does."""
    plain = plain_target(url, params)
    if plain is not None:
        return plain
    parsed = httpx.URL(url)
    if params is not None:
        parsed = parsed.copy_merge_params(params)
    if parsed.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{parsed.scheme}://'.")
    if not parsed.host:
        raise httpx.UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    origin = (parsed.scheme, parsed.raw_host.decode("ascii"), port)
    return origin, parsed.netloc.decode("ascii"), parsed.raw_path.decode("ascii")


class WireResponse(httpx.Response):
    """An httpx.Response whose `request` (its method and URL, for error messages) is built only when asked for:
    building it parses the URL."""

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._asked = (method, url)

    @property
    def request(self) -> httpx.Request:
        if self._request is None:
            self._request = httpx.Request(*self._asked)
        return self._request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value


class _Body(httpx.SyncByteStream):
    """An answer's body as it arrives, faults raised as httpx raises them."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def __iter__(self) -> Any:
        try:
            while piece := self._exchange.read():
                yield piece
        except Exception as exc:
            raise _read_fault(exc) from exc

    def close(self) -> None:
        self._exchange.close()


def _read_fault(exc: Exception) -> Exception:
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out")
    if isinstance(exc, BrokenAnswer) or not isinstance(exc, OSError):
        return httpx.RemoteProtocolError(str(exc))
    return httpx.ReadError(str(exc) or type(exc).__name__)


def sendable(kwargs: dict[str, Any]) -> bool:
    """Whether this path forms the request GraphClient._send was asked (else httpx does)."""
    content = kwargs.get("content")
    return kwargs.keys() <= {"params", "json", "content"} and (
        content is None or isinstance(content, (bytes, bytearray, memoryview, str))
    )


class GraphWire:
    """Graph requests over kept-alive connections, at most `keep_alive` idle per origin; thread-safe. `defaults`
    are the headers httpx.Client adds to each request (Accept, Accept-Encoding, Connection, User-Agent)."""

    def __init__(self, tls: ssl.SSLContext, timeout: float, keep_alive: int, defaults: httpx.Headers) -> None:
        self._connections = Connections(keep_alive, tls=tls, connect_timeout=timeout, read_timeout=timeout)
        self._defaults = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in defaults.raw]

    @property
    def opened(self) -> int:
        return self._connections.opened

    def close(self) -> None:
        self._connections.clear()

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        stream: bool,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | bytearray | memoryview | str | None = None,
    ) -> httpx.Response:
        origin, host, target = request_target(url, params)
        body, lines = self._body(json, content), self._headers(host, headers)
        given = {name.lower() for name, _ in lines}
        if body is not None:
            lines += [(name, value) for name, value in self._content_headers(json, body) if name.lower() not in given]
        elif method in _BODIED and "content-length" not in given:
            lines.insert(1, ("Content-Length", "0"))
        try:
            head = request_head(method, target, lines)
        except ValueError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        try:
            connection = self._connections.connection(origin)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        exchange = Exchange(self._connections, origin, connection)
        try:
            exchange.send(method, head, body)
        except Exception as exc:
            if exchange.sent:
                raise _read_fault(exc) from exc
            if isinstance(exc, TimeoutError):
                raise httpx.WriteTimeout(str(exc) or "timed out") from exc
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
        response = WireResponse(
            method,
            url if not params else f"{origin[0]}://{host}{target}",
            status_code=exchange.status,
            headers=exchange.headers,
            stream=_Body(exchange),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": exchange.reason.encode("latin-1")},
        )
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response

    def _headers(self, host: str, headers: dict[str, str]) -> list[tuple[str, str]]:
        """Host first, then httpx's defaults the caller does not name, then the caller's: the order httpx.Client
        gives them (`Headers.update` moves a replaced header to the end; the body's headers follow)."""
        given = {name.lower() for name in headers}
        return [("Host", host), *(h for h in self._defaults if h[0].lower() not in given), *headers.items()]

    @staticmethod
    def _body(json: Any, content: bytes | bytearray | memoryview | str | None) -> bytes | None:
        if content is not None:
            return content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if json is not None:  # as httpx encodes it (httpx/_content.py encode_json)
            return json_module.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return None

    @staticmethod
    def _content_headers(json: Any, body: bytes) -> list[tuple[str, str]]:
        typed = [("Content-Type", "application/json")] if json is not None else []
        return [("Content-Length", str(len(body))), *typed]
