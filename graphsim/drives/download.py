"""The pre-authenticated download URL (/_dl/{token}) that /content redirects to: no bearer token, expiry, Range,
and the drop_download fault."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from graphsim.drives.service import DriveService
from graphsim.simulator import Simulator

RANGE = re.compile(r"^\s*bytes=(\d*)-(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) for 'bytes=a-b' / 'a-' / '-n'; None without a header; False when unsatisfiable."""
    if not header:
        return None
    match = RANGE.match(header)
    if match is None or (not match.group(1) and not match.group(2)):
        return None  # unsupported forms (several ranges) get the whole body, as HTTP allows
    a, b = match.groups()
    if not a:
        n = int(b)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else False
    start, end = int(a), int(b) if b else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


async def download_url(request: Request) -> Response:
    """The pre-authenticated download URL: no bearer token needed (any sent is recorded, never checked)."""
    sim: Simulator = request.app.state.sim
    svc: DriveService = sim.files  # type: ignore[attr-defined]
    sim.count("download")
    svc.stats.counters["download_requests"] += 1
    if "authorization" in request.headers:
        svc.stats.counters["download_with_authorization"] += 1
    grant = svc.downloads.get(request.path_params["token"])
    if grant is None or grant.expires < time.monotonic():
        svc.stats.counters["download_expired"] += 1
        sim.stats.by_status[401] += 1
        return JSONResponse(
            {
                "error": {
                    "code": "unauthenticated",
                    "message": "The download link has expired or is "
                    "not valid. Request the item's content again for a fresh link.",
                }
            },
            status_code=401,
        )
    content = grant.content
    wanted = parse_range(request.headers.get("range"), content.size)
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", "ETag": f'"{grant.item_id}"'}
    if wanted is False:
        sim.stats.by_status[416] += 1
        return Response(status_code=416, headers={"Content-Range": f"bytes */{content.size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, content.size - 1)
    status = 206 if isinstance(wanted, tuple) else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    fault = sim.faults.take_drive_fault("drop_download", grant.item_id)
    sim.stats.by_status[status] += 1
    counters = svc.stats.counters

    def body() -> Iterator[bytes]:
        sent = 0
        limit = fault.after_bytes if fault is not None and fault.after_bytes is not None else None
        for piece in content.iter_range(start, end, 256 * 1024) if end >= start else ():
            if limit is not None and sent + len(piece) >= limit:
                if limit > sent:
                    yield piece[: limit - sent]
                    counters["download_bytes"] += limit - sent
                counters["download_dropped"] += 1
                raise ConnectionAbortedError("graphsim: drop_download fault")
            sent += len(piece)
            counters["download_bytes"] += len(piece)
            yield piece

    return StreamingResponse(body(), status_code=status, headers=headers)
