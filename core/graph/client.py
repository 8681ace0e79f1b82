"""Microsoft Graph over httpx: one pooled connection set, app-only bearer tokens, bounded retries that honour
Retry-After, the per-mailbox limiter, paging, and typed errors (core.errors) for everything else.

Two seams: `policy` (core.graph.policy.GraphPolicy: retries, Retry-After cap, per-mailbox limits, how to wait;
default: the settings') and `transport` (any httpx.BaseTransport, through which httpx.Client then sends every
request). Given none, requests go out on connections of the client's own (core/graph/wire.py), and the few it does
not form through httpx over `graph_transport(settings)`; with a proxy in the environment, httpx sends everything,
with the environment's proxies mounted."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from core.config import Settings
from core.errors import (
    DeltaExpired,
    GraphAmbiguousWrite,
    GraphAuthError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphRedirectRefused,
    GraphServerError,
    GraphThrottled,
    GraphTransportError,
    MalformedResponse,
)
from core.graph.batch import Prefetched
from core.graph.policy import GraphPolicy
from core.graph.retry import RETRYABLE_STATUSES
from core.graph.ru_budget import request_cost
from core.graph.transports import LIMITS, graph_transport, tls_context
from core.graph.wire import GraphWire, sendable
from core.proxy_env import environment_names_a_proxy
from core.stopping import check as check_not_stopped

# Error codes with which Outlook and directory delta queries say "start over" (compared case-insensitively).
DELTA_EXPIRED_CODES = frozenset(
    {
        "syncstatenotfound",
        "resyncrequired",
        "syncstateinvalid",
        "resyncchangesapplydifferences",
        "resyncchangesuploaddifferences",
        "invaliddeltatoken",
    }
)
_CHUNK = 64 * 1024
# Transport errors raised before a request can have reached the server: replaying is always safe.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Answers after which a write may still have happened (the server failed or timed out while or after doing it).
# 429 and 503 are throttling answers: Graph refused the request before carrying it out, so they are replayed.
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
# Redirects a GET follows itself: an archive mailbox's expanded folder answers 308 with the auxiliary archive's URL
# ("Handle archive mailbox redirects", https://learn.microsoft.com/graph/handle-archive-mailbox-redirects), only
# ever to Graph's own origin ("without automatically forwarding credentials to an untrusted host",
# https://learn.microsoft.com/graph/archive-mailbox-mail-api). A 302 (a drive item's content) is returned as before.
_FOLLOWED_REDIRECTS = frozenset({307, 308})
MAX_REDIRECTS = 3


class Sink(Protocol):
    def write(self, chunk: bytes) -> int: ...
    def restart(self) -> None: ...


class Tokens(Protocol):
    def token(self) -> str: ...
    def invalidate(self) -> None: ...


def expanded_next_link(entity: dict, navigation: str) -> str | None:
    """The next page of a collection expanded into an entity (`$expand=replies` gives a channel message at most
    1,000 replies, the rest behind `replies@odata.nextLink`), for `GraphClient.iter_pages`; None when it has none."""
    link = entity.get(f"{navigation}@odata.nextLink")
    return link if isinstance(link, str) and link else None


def _error_details(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if not error and isinstance(body, dict) and isinstance(body.get("Message"), str):
            return "", body["Message"]  # Outlook's own answers (an import URL's 409) carry a bare "Message"
        if isinstance(error, dict):
            return str(error.get("code", "")), str(error.get("message", ""))
        return str(error), str(body.get("error_description", ""))
    except ValueError:
        return "", response.text[:200]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"https": 443, "http": 80}.get(scheme)


class GraphClient:
    def __init__(
        self,
        settings: Settings,
        tokens: Tokens,
        *,
        policy: GraphPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = settings.graph_endpoint
        self.version_root = f"{self.endpoint}/v1.0"
        self.page_size = settings.page_size
        self.batch_requests = settings.batch_requests  # per JSON batch; 0: none (core/graph/batch.py)
        self._tokens = tokens
        self.policy = policy or GraphPolicy.from_settings(settings)
        self._retry = self.policy.retry
        self._limiter = self.policy.limiter()
        self._ru = self.policy.resource_units(settings.tenant_id)  # SharePoint/OneDrive RU: core/graph/ru_budget.py
        self._sleep = self.policy.sleep
        proxied = transport is None and environment_names_a_proxy()
        if proxied:  # httpx builds the transport and mounts the environment's proxies; it sends every request
            connection: dict[str, Any] = {"verify": tls_context(settings.ca_bundle), "limits": LIMITS}
        elif transport is None:  # for what the wire does not send: httpx, with no environment lookups
            connection = {"transport": graph_transport(settings), "trust_env": False}
        else:  # the given transport carries every request
            connection = {"transport": transport}
        self._http = httpx.Client(timeout=httpx.Timeout(settings.timeout_seconds), follow_redirects=False, **connection)
        self._wire: GraphWire | None = None  # Graph's requests on connections of our own (core/graph/wire.py)
        if transport is None and not proxied:
            keep = LIMITS.max_keepalive_connections
            self._wire = GraphWire(tls_context(settings.ca_bundle), settings.timeout_seconds, keep, self._http.headers)
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self.prefetched = Prefetched()  # answers read ahead by JSON batching, each used once (core/graph/batch.py)

    # -- bookkeeping -------------------------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self._stats[key] += n

    def stats(self) -> dict[str, int]:
        """Requests sent, retries, 429/503 answers seen: for run reports and benchmarks."""
        with self._stats_lock:
            return dict(self._stats)

    def close(self) -> None:
        self._http.close()
        if self._wire is not None:
            self._wire.close()

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith("https://") or path_or_url.startswith("http://"):
            return path_or_url
        return f"{self.version_root}/{path_or_url.lstrip('/')}"

    # -- the one place requests are sent -----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None,
        stream: bool,
        limited: bool = True,
        authenticated: bool = True,
        replay_safe: bool | None = None,
        counts_as: tuple[str | None, int] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        url = self.url(url)
        if replay_safe is None:  # POST creates; every other method Graph documents is idempotent
            replay_safe = method.upper() != "POST"
        mailbox = self.policy.scope(url) if limited else None  # not limited: the caller holds the mailbox's slot
        weight = 1
        if counts_as is not None:  # a JSON batch: the scope and number of the requests inside it
            mailbox, weight = counts_as
        reauthenticated = False
        attempt = hops = 0
        while True:
            check_not_stopped()  # after Ctrl-C no request is sent, not even a retry (core/stopping.py)
            attempt += 1
            request_headers = dict(headers or {})
            if authenticated:  # never for pre-authenticated URLs (downloads, upload sessions): no token leaks there
                request_headers["Authorization"] = f"Bearer {self._tokens.token()}"
            cost = self._spend_resource_units(method, url) if authenticated else None
            try:
                with self._limiter.slot(mailbox, weight):
                    check_not_stopped()  # again: a Ctrl-C while this waited for a slot sends nothing either
                    self._count("requests")
                    if self._wire is not None and sendable(kwargs):
                        response = self._wire.send(method, url, request_headers, stream=stream, **kwargs)
                    else:
                        request = self._http.build_request(method, url, headers=request_headers, **kwargs)
                        response = self._http.send(request, stream=stream)
                    if stream and response.status_code >= 300:
                        response.read()
            except httpx.TransportError as exc:
                self._count("transport_errors")
                if not replay_safe and not isinstance(exc, _NOT_SENT):
                    self._count("ambiguous_writes")
                    raise GraphAmbiguousWrite(f"{method} outcome unknown: {exc!r}", url=url) from exc
                if attempt >= self._retry.max_attempts:
                    raise GraphTransportError(f"{method} failed: {exc!r}", url=url) from exc
                self._count("retries")
                self._sleep(self._retry.backoff(attempt))
                continue
            status = response.status_code
            if cost is not None:
                self._observe_resource_units(status, response.headers)
            # a Graph API GET only: a pre-authenticated URL's redirects stay its caller's (core/graph/drive_download.py)
            if (status in _FOLLOWED_REDIRECTS and authenticated and method.upper() == "GET"
                    and response.headers.get("Location")):  # fmt: skip
                url = self._redirect_target(url, response, hops := hops + 1)
                kwargs.pop("params", None)  # the Location carries its whole query
                mailbox = self.policy.scope(url) if limited else None
                attempt = 0
                continue
            if status < 400:
                return response
            if not replay_safe and status in _AMBIGUOUS_STATUSES:
                self._count("ambiguous_writes")
                error = self._error(method, url, response)
                raise GraphAmbiguousWrite(
                    f"{method} outcome unknown: {error}", status=status, code=error.code, url=url
                ) from error
            if status in RETRYABLE_STATUSES:
                self._count(f"status_{status}")
                if attempt < self._retry.max_attempts:
                    self._count("retries")
                    self._sleep(self._retry.delay(attempt, response.headers.get("Retry-After")))
                    continue
            if status == 401 and authenticated and not reauthenticated:
                reauthenticated = True
                self._tokens.invalidate()
                continue
            raise self._error(method, url, response)

    def _spend_resource_units(self, method: str, url: str) -> int | None:
        """The RU a SharePoint/OneDrive request costs, waited for in the process's budget; None: not one."""
        cost = request_cost(method, url) if url.startswith(f"{self.endpoint}/") else None
        if cost is not None:
            self._count("ru_requests")
            self._count("ru_units", cost)
            if self._ru is not None:
                self._ru.spend(cost)
        return cost

    def _observe_resource_units(self, status: int, headers: httpx.Headers) -> None:
        if status in (429, 503):
            self._count("ru_throttled")
        if self._ru is not None:
            self._ru.observe(status, headers)

    def _redirect_target(self, url: str, response: httpx.Response, hops: int) -> str:
        """The URL a followed redirect names, if it is on the Graph endpoint's origin (scheme, host, port) and
        within MAX_REDIRECTS hops; GraphRedirectRefused otherwise, before anything (a token) is sent there."""
        response.close()
        location = urljoin(url, response.headers["Location"])
        if _origin(location) != _origin(self.endpoint):
            raise GraphRedirectRefused(f"GET redirected to another origin, not followed: {location}",
                                       status=response.status_code, url=url, location=location)  # fmt: skip
        if hops > MAX_REDIRECTS:
            raise GraphRedirectRefused(f"GET redirected more than {MAX_REDIRECTS} times, last to {location}",
                                       status=response.status_code, url=url, location=location)  # fmt: skip
        self._count("redirects")
        return location

    def _error(self, method: str, url: str, response: httpx.Response) -> GraphError:
        status = response.status_code
        code, message = _error_details(response)
        text = f"{method} answered {status}: {message}".strip()
        kwargs = {"status": status, "code": code, "url": url, "location": response.headers.get("Location", "")}
        if status == 410 or code.lower() in DELTA_EXPIRED_CODES:
            return DeltaExpired(text, **kwargs)
        if status in (401, 403):
            return GraphAuthError(text, **kwargs)
        if status == 404:
            return GraphNotFound(text, **kwargs)
        if status == 409:
            return GraphConflict(text, **kwargs)
        if status in (429, 503):
            return GraphThrottled(text, **kwargs)
        if status >= 500:
            return GraphServerError(text, **kwargs)
        return GraphError(text, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        authenticated: bool = True,
        replay_safe: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with the client's retries and typed errors; redirects are returned, not followed, but for
        a GET's 307/308 to Graph's own origin (MAX_REDIRECTS hops).
        `authenticated=False` sends no bearer token (for pre-authenticated download and upload-session URLs).
        With `stream=True` the caller reads the body and must close the response. A request that is not
        `replay_safe` (default: POST) is never sent twice after it may have reached Graph: GraphAmbiguousWrite."""
        return self._send(
            method, url, headers=headers, stream=stream, authenticated=authenticated, replay_safe=replay_safe, **kwargs
        )

    # -- conveniences ------------------------------------------------------------------------------------------
    def get_json(
        self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> dict:
        """GET a JSON object. A body that is not a JSON object is fetched again (it is a GET), up to the policy's
        malformed_body_attempts (3) in all, then MalformedResponse."""
        ahead = self.prefetched.take(self.url(url), params, headers)  # read ahead in a $batch (core/graph/batch.py)
        if ahead is not None:
            return ahead
        attempts = self.policy.malformed_body_attempts
        for attempt in range(1, attempts + 1):
            response = self._send("GET", url, headers=headers, stream=False, params=params)
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            self._count("malformed_bodies")
            if attempt >= attempts:
                raise MalformedResponse("Graph answered a body that is not a JSON object", url=self.url(url))
        raise AssertionError("unreachable")

    def iter_pages(
        self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Iterator[list[dict]]:
        """Follow @odata.nextLink, yielding each page's `value` list."""
        next_url: str | None = url
        while next_url:
            page = self.get_json(next_url, params=params, headers=headers)
            params = None  # a nextLink carries its own query
            value = page.get("value")
            if not isinstance(value, list):
                raise MalformedResponse("page has no 'value' list", url=self.url(next_url))
            yield value
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None

    def post_json(
        self,
        url: str,
        body: dict,
        *,
        headers: dict[str, str] | None = None,
        replay_safe: bool = False,
        counts_as: tuple[str | None, int] | None = None,
    ) -> dict:
        """POST a JSON body. Not replayed after it may have reached Graph (GraphAmbiguousWrite) unless the caller
        says a second copy is harmless (`replay_safe`: an upload session, a create that answers 409 when repeated).
        `counts_as` (scope, n): a JSON batch of n requests to one mailbox, charged to its limits as n requests."""
        response = self._send(
            "POST", url, headers=headers, stream=False, replay_safe=replay_safe, counts_as=counts_as, json=body
        )
        return response.json() if response.content else {}

    def post_content(self, url: str, content: bytes, *, content_type: str, replay_safe: bool = False) -> dict:
        response = self._send(
            "POST", url, headers={"Content-Type": content_type}, stream=False, replay_safe=replay_safe, content=content
        )
        return response.json() if response.content else {}

    def download(self, url: str, sink: Sink) -> int:
        """Stream a body into `sink`, returning its size. A connection lost mid-body is retried from the start,
        with the sink emptied first."""
        attempt = 0
        while True:
            attempt += 1
            sink.restart()
            size = 0
            # The mailbox's slot is held until the body is read, not only until the headers arrive.
            with self._limiter.slot(self.policy.scope(self.url(url))):
                response = self._send("GET", url, headers=None, stream=True, limited=False)
                try:
                    for chunk in response.iter_bytes(_CHUNK):
                        sink.write(chunk)
                        size += len(chunk)
                    return size
                except httpx.TransportError as exc:
                    self._count("transport_errors")
                    if attempt >= self._retry.max_attempts:
                        raise GraphTransportError(f"download broke off: {exc!r}", url=self.url(url)) from exc
                finally:
                    response.close()
            self._sleep(self._retry.backoff(attempt))
