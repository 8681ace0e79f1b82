"""What an Outlook attachment upload session checks of each PUT ("attachment: createUploadSession",
learn.microsoft.com/graph/api/attachment-createuploadsession): a `Content-Range: bytes a-b/total` matching the
session and the body, parts of at most 4 MB, sent in order (416 with nextExpectedRanges otherwise). Shared by the
event and message attachment routes."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graphsim.errors import graph_error

CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
MAX_FRAGMENT = 4 * 1024 * 1024


def refuse_fragment(request: Request, data: bytes, size: int, received: int) -> Response | None:
    """The error answer for a fragment the session cannot take, or None when it is the next one."""
    match = CONTENT_RANGE.match(request.headers.get("content-range", ""))
    if match is None:
        return graph_error(request, 400, "ErrorInvalidRequest", "Content-Range 'bytes a-b/total' is required.")
    first, last, total = (int(g) for g in match.groups())
    if total != size or last < first or last >= total or len(data) != last - first + 1:
        return graph_error(request, 400, "ErrorInvalidRequest", "Content-Range does not match the session or body.")
    if len(data) > MAX_FRAGMENT:
        return graph_error(request, 413, "ErrorRequestEntityTooLarge", "Upload fragments are limited to 4 MB.")
    if first != received:
        body = {"error": {"code": "ErrorInvalidRange", "message": f"Expected the range to start at {received}."},
                "nextExpectedRanges": [f"{received}"]}  # fmt: skip
        return JSONResponse(body, status_code=416)
    return None
