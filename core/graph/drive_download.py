"""Download one drive item's content, streamed into a sink, surviving dropped connections and expired URLs.

`GET /drives/{d}/items/{i}/content` answers 302 with a short-lived pre-authenticated URL (or, rarely, the body itself).
That URL is fetched without the bearer token. A connection lost mid-body is resumed with `Range: bytes=N-` on the
same URL, so bytes already received are not fetched again; a URL that has expired (401/403/404/410) is exchanged for a
fresh one through `/content` and the download resumes from the same offset. A server that ignores Range (answers 200)
makes the sink start over. Only the piece just read from the socket (at most 64 KiB) is held at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import closing
from urllib.parse import quote, urljoin

import httpx

from core.errors import DeltaExpired, GraphAuthError, GraphNotFound, GraphTransportError, MalformedResponse
from core.graph.client import GraphClient, Sink

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What a pre-authenticated URL answers once it has expired; from /content itself these are real errors.
_EXPIRED = (GraphAuthError, GraphNotFound, DeltaExpired)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def segment(value: str) -> str:
    """One URL path segment: every reserved character (/ ? # % : and so on), spaces and non-ASCII percent-encoded."""
    return quote(value, safe="")


def content_path(drive_id: str, item_id: str) -> str:
    return f"drives/{segment(drive_id)}/items/{segment(item_id)}/content"


def _range_headers(offset: int) -> dict[str, str]:
    # identity: offsets must count the stored bytes, not a compressed representation of them
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return headers


def _start_and_total(response: httpx.Response) -> tuple[int, int | None]:
    """Where the body starts in the file, and the file's full size when the response says."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match:
            raise MalformedResponse(
                f"206 without a usable Content-Range: {response.headers.get('Content-Range')!r}",
                status=206,
                url=str(response.request.url),
            )
        total = match.group(3)
        return int(match.group(1)), None if total == "*" else int(total)
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() and "Content-Encoding" not in response.headers else None


def download_item(
    graph: GraphClient,
    drive_id: str,
    item_id: str,
    sink: Sink,
    *,
    expected_size: int | None = None,
    max_resumes: int = 8,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Stream the item's content into `sink` (write/restart) and return its size in bytes.

    `max_resumes` bounds the setbacks (a dropped connection, an expired URL, a body that ended early) survived in
    all; one more raises GraphTransportError. With `expected_size`, a different final size raises
    MalformedResponse. Errors from `/content` itself (item gone: GraphNotFound; no access: GraphAuthError) propagate.
    """
    path = content_path(drive_id, item_id)
    where = graph.url(path)
    download_url: str | None = None
    received = 0
    total = expected_size
    setbacks = 0

    def setback(reason: str, cause: BaseException | None = None) -> None:
        nonlocal setbacks
        setbacks += 1
        if setbacks > max_resumes:
            raise GraphTransportError(
                f"download gave up after {max_resumes} resumes at byte {received}: {reason}", url=where
            ) from cause
        sleep(min(0.1 * 2 ** (setbacks - 1), 5.0))

    while True:
        if download_url is None:
            response = graph.request("GET", path, headers=_range_headers(received), stream=True)
            if response.status_code in _REDIRECTS:
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise MalformedResponse("/content redirected without a Location", status=302, url=where)
                download_url = urljoin(where, location)
                continue
        else:
            try:
                response = graph.request(
                    "GET", download_url, headers=_range_headers(received), stream=True, authenticated=False
                )
            except _EXPIRED as exc:  # the short-lived URL has lapsed: ask /content for a fresh one
                download_url = None
                setback(f"download URL refused ({exc.status})", exc)
                continue
            if response.status_code in _REDIRECTS:  # a pre-authenticated URL that moves on: follow, still anonymous
                location = response.headers.get("Location")
                response.close()
                download_url = urljoin(download_url, location) if location else None
                setback("download URL redirected")
                continue
        with closing(response):
            if response.status_code not in (200, 206):
                raise MalformedResponse(
                    f"content answered {response.status_code}", status=response.status_code, url=where
                )
            start, announced = _start_and_total(response)
            if start != received:
                if start != 0:
                    raise MalformedResponse(
                        f"asked for bytes from {received}, got a range from {start}", status=206, url=where
                    )
                sink.restart()  # Range ignored: the whole body again
                received = 0
            if announced is not None:
                total = announced if expected_size is None else expected_size
            try:
                # Pieces as they come off the socket (at most 64 KiB), not re-buffered: a drop then loses nothing
                # that arrived, so the resume asks only for bytes never received.
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    received += len(chunk)
            except httpx.TransportError as exc:
                setback(f"connection lost ({exc!r})", exc)
                continue
        if total is not None and received < total and (announced is None or received < announced):
            setback(f"body ended at {received} of {total} bytes")
            continue
        break

    if expected_size is not None and received != expected_size:
        raise MalformedResponse(f"downloaded {received} bytes, the item has {expected_size}", url=where)
    return received
