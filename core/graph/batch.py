"""GETs read ahead through JSON batching (https://learn.microsoft.com/graph/json-batching): up to 20 requests in
one `POST /v1.0/$batch`, each answered on its own. What a batch read is kept (`Prefetched`) and handed out once to
the `GraphClient.get_json` that asks exactly the same (URL with its query, headers); everything else is sent alone
when asked, with the client's own retries and typed errors. So a batch can only save round trips, never change
what a backup sees:

- an inner 2xx with a JSON object body is kept; it is the answer the request would have had a moment later (a
  delta page's link covers the changes up to when it was read; later ones come in the next round);
- an inner 429 or 503 (each request of a batch "is evaluated individually against throttling limits",
  https://learn.microsoft.com/graph/throttling#throttling-and-batching) is sent again in a later batch after the
  longest Retry-After among them (the policy's backoff without one), up to the policy's attempts;
- an inner 4xx but 401 and 429 (a 404 for a well-known folder the mailbox lacks, a 410 for an expired delta link)
  is kept as the typed error the client raises for it alone (core.errors: GraphNotFound, DeltaExpired, ...): the
  request would have answered the same;
- any other inner answer (401, 5xx, ...) and a batch that fails whole are left to the request itself: its
  siblings' answers are kept all the same.

The answers kept are a mailbox's first pages (at most the page size of entries each) and are dropped when its
backup ends (`Prefetched.forget`), used or not. Graph counts every inner request against the mailbox's limits,
and so does the client: a batch holds one mailbox's requests only and is charged to its limiter as that many
(core/graph/limiter.py: a token each, up to all its slots while in flight, as Outlook runs 4 of them at once); the
envelope is one HTTP round trip (the simulator reports both: graphsim/batch.py). GRAPH_BATCH_REQUESTS sets the
batch size; 0 sends nothing ahead."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from core.errors import GraphError
from core.graph.retry import parse_retry_after
from core.graph.wire import plain_target

if TYPE_CHECKING:
    from core.graph.client import GraphClient

MAX_BATCH = 20  # "JSON batch requests are currently limited to 20 individual requests"
_RETRIED = frozenset({429, 503})  # throttled inside the batch: Graph did not carry the request out
Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Read:
    """One GET as `GraphClient.get_json` is asked it: a path or URL, its query, its headers."""

    url: str
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None


def request_key(absolute_url: str, params: dict[str, str] | None, headers: dict[str, str] | None) -> Key:
    """What identifies a GET: its URL with the query merged as httpx sends it, and its headers."""
    url = with_query(absolute_url, params) if params else absolute_url
    return url, tuple(sorted((k.lower(), v) for k, v in (headers or {}).items()))


def with_query(absolute_url: str, params: dict[str, str]) -> str:
    """`str(httpx.URL(absolute_url).copy_merge_params(params))`, without parsing the URL when it needs no encoding
    (core/graph/wire.py `plain_target`, as the request itself is formed). A parse costs ~0.1 ms of CPU, paid twice
    per read ahead (tests/unit/test_batch_keys.py checks the two agree)."""
    plain = plain_target(absolute_url, params)
    if plain is None:
        return str(httpx.URL(absolute_url).copy_merge_params(params))
    (scheme, _, _), host, target = plain
    return f"{scheme}://{host}{target}"


def _path(url: str) -> str:
    return url.split("?", 1)[0]


class Prefetched:
    """Answers read ahead, each handed out once (a kept error is raised). A GET whose path (its URL before any
    query) has no answer held is not keyed at all: building a key with a query may parse the URL (httpx:
    `with_query`), which cost more CPU than the rest of a small mailbox's backup when every read of a run paid it."""

    def __init__(self) -> None:
        self._bodies: dict[Key, dict | GraphError] = {}
        self._paths: Counter[str] = Counter()  # the path of every held answer's URL, as many times as held
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # batches, batched (inner requests), kept, used, retried

    def put(self, key: Key, body: dict | GraphError) -> None:
        with self._lock:
            if key not in self._bodies:
                self._paths[_path(key[0])] += 1
            self._bodies[key] = body

    def _pop(self, key: Key) -> dict | GraphError | None:
        body = self._bodies.pop(key, None)
        if body is not None:
            path = _path(key[0])
            self._paths[path] -= 1
            if self._paths[path] <= 0:
                del self._paths[path]
        return body

    def take(self, absolute_url: str, params: dict[str, str] | None, headers: dict[str, str] | None) -> dict | None:
        with self._lock:
            if _path(absolute_url) not in self._paths:
                return None
        key = request_key(absolute_url, params, headers)
        with self._lock:
            body = self._pop(key)
            if body is not None:
                self.counts["used"] += 1
        if isinstance(body, GraphError):
            raise body
        return body

    def holds(self, key: Key) -> bool:
        with self._lock:
            return key in self._bodies

    def forget(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._pop(key)

    def note(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n


def prefetch(graph: GraphClient, reads: list[Read]) -> set[Key]:
    """Read `reads` (GETs under the client's version root; others are skipped) in batches of at most
    `graph.batch_requests` (20; 0: nothing is read ahead), each batch to one throttling scope (a mailbox) and
    charged to its limits as that many requests, and keep their answers in `graph.prefetched`; returns the keys
    kept (for `forget`)."""
    size = min(graph.batch_requests, MAX_BATCH)
    if size <= 0:
        return set()
    root = graph.version_root
    pending: dict[str, tuple[Key, dict]] = {}
    kept: set[Key] = set()
    held: set[Key] = set()  # already read ahead and not yet asked for: not sent again
    for n, read in enumerate(reads):
        absolute = graph.url(read.url)
        if not absolute.startswith(f"{root}/"):
            continue
        key = request_key(absolute, read.params, read.headers)
        if graph.prefetched.holds(key):  # e.g. in a first backup's start-up batch
            held.add(key)
            continue
        inner: dict = {"id": str(n + 1), "method": "GET", "url": key[0][len(root) :]}
        if read.headers:
            inner["headers"] = dict(read.headers)
        pending[inner["id"]] = (key, inner)
    attempt = 0
    while pending and attempt < graph.policy.retry.max_attempts:
        attempt += 1
        again: dict[str, tuple[Key, dict]] = {}
        waits: list[float] = []
        for chunk, scope in _chunks(graph, pending, size):
            for inner_id, status, headers, body in _send_batch(graph, chunk, scope):
                key = chunk[inner_id][0]
                if 200 <= status < 300 and isinstance(body, dict):
                    graph.prefetched.put(key, body)
                    kept.add(key)
                elif 400 <= status < 500 and status not in (401, 429) and isinstance(body, dict):
                    kept_headers = {k: v for k, v in headers.items() if k not in ("content-length", "content-type")}
                    answer = httpx.Response(status, json=body, headers=kept_headers)
                    graph.prefetched.put(key, graph._error("GET", key[0], answer))  # as it would raise alone
                    kept.add(key)
                elif status in _RETRIED:
                    graph._count(f"status_{status}")  # a throttled answer, as telemetry counts the client's own
                    again[inner_id] = chunk[inner_id]
                    seconds = parse_retry_after(headers.get("retry-after"))
                    waits.append(graph.policy.retry.backoff(attempt) if seconds is None else seconds)
        pending = again
        if pending and attempt < graph.policy.retry.max_attempts:
            graph.prefetched.note("retried", len(pending))
            graph.policy.sleep(min(max(waits), graph.policy.retry.max_retry_after))
    graph.prefetched.note("kept", len(kept))
    return kept | held


def _chunks(
    graph: GraphClient, pending: dict[str, tuple[Key, dict]], size: int
) -> Iterator[tuple[dict[str, tuple[Key, dict]], str | None]]:
    """`pending` in batches of at most `size`, each of one throttling scope, with that scope."""
    by_scope: dict[str | None, list[str]] = {}
    for inner_id, (key, _) in pending.items():
        by_scope.setdefault(graph.policy.scope(key[0]), []).append(inner_id)
    for scope, ids in by_scope.items():
        for start in range(0, len(ids), size):
            yield {i: pending[i] for i in ids[start : start + size]}, scope


def _send_batch(
    graph: GraphClient, chunk: dict[str, tuple[Key, dict]], scope: str | None
) -> list[tuple[str, int, dict, object]]:
    """One $batch: (inner id, status, headers with lower-case names, body) of each answer naming a request of
    `chunk`; [] when the batch itself fails (its requests are then sent alone when asked)."""
    graph.prefetched.note("batches")
    graph.prefetched.note("batched", len(chunk))
    requests = [inner for _, inner in chunk.values()]
    try:  # only GETs inside: sending the batch again is harmless
        answer = graph.post_json(f"{graph.version_root}/$batch", {"requests": requests}, replay_safe=True,
                                 counts_as=(scope, len(requests)))  # fmt: skip
    except GraphError:
        return []
    responses = answer.get("responses") if isinstance(answer, dict) else None
    found = []
    for response in responses if isinstance(responses, list) else []:
        if not isinstance(response, dict) or response.get("id") not in chunk:
            continue
        status = response.get("status")
        raw = response.get("headers")
        headers = {str(k).lower(): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        if isinstance(status, int):
            found.append((str(response["id"]), status, headers, response.get("body")))
    return found
