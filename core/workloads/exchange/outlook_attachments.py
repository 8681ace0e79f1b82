"""Adding attachments to an Outlook item a restore has just created (a message or an event), as Graph documents it
("Add attachment", "attachment: createUploadSession"): a file under 3 MB or an item attachment in one POST, a larger
file through an upload session (pre-authenticated uploadUrl, no token sent; parts of at most 4 MB, in order).

Never twice: the item was made by this restore, so every attachment on it is one this restore sent. A POST whose
outcome is unknown (GraphAmbiguousWrite: a reset connection, a timeout, a 5xx) is followed by one listing of the
item's attachments: if it holds more of that name than were added before, the POST landed; only if not is it sent
again. Names are compared, not sizes: Graph's `size` need not be the byte count sent. createUploadSession is
replay-safe (an unused session creates nothing), and so are the part PUTs, except that a last part whose answer was
lost is checked the same way before the error is reported."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from core.errors import GraphAmbiguousWrite, GraphError, MalformedResponse
from core.graph.client import GraphClient
from core.workloads.exchange.restore_marker import CREATE_ATTEMPTS

SMALL = 3_000_000  # bytes: files under this go in one POST (4 MB of request with base64 and JSON)
PART = 4 * 1024 * 1024  # upload session parts


def landed(graph: GraphClient, url: str, name: str, before: int) -> bool:
    """Whether the item's attachments (`url`) now hold more named `name` than the `before` already added."""
    listing = [a for page in graph.iter_pages(url, params={"$select": "id,name"}) for a in page]
    return sum(1 for a in listing if isinstance(a, dict) and a.get("name") == name) > before


def post_once(graph: GraphClient, url: str, body: dict[str, Any], before: int) -> None:
    """POST one attachment (`body` with its name) exactly once."""
    for tries in range(1, CREATE_ATTEMPTS + 1):
        try:
            graph.post_json(url, body)
            return
        except GraphAmbiguousWrite:
            if landed(graph, url, str(body.get("name")), before):
                return
            if tries == CREATE_ATTEMPTS:
                raise


def file_json(meta: dict[str, Any], data: bytes) -> dict[str, Any]:
    """A fileAttachment of `data` under 3 MB, as "Add attachment" takes it (and a message's JSON create)."""
    return {"@odata.type": "#microsoft.graph.fileAttachment", **meta, "contentBytes": base64.b64encode(data).decode()}


def add_file(
    graph: GraphClient,
    url: str,
    meta: dict[str, Any],
    size: int,
    chunks: Iterable[bytes],
    before: int,
) -> None:
    """Add a file attachment: `meta` = name, contentType, isInline (and contentId), `chunks` its bytes in order."""
    if size < SMALL:
        post_once(graph, url, file_json(meta, b"".join(chunks)), before)
        return
    item = {"attachmentType": "file", **meta, "size": size}
    session = graph.post_json(f"{url}/createUploadSession", {"AttachmentItem": item}, replay_safe=True)
    upload_url = session.get("uploadUrl")
    if not isinstance(upload_url, str):
        raise MalformedResponse("attachment upload session without an uploadUrl", url=graph.url(url))
    offset, buffer = 0, b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > PART:  # the last part is kept for below: it is the one that creates the attachment
            offset = _put(graph, upload_url, buffer[:PART], offset, size)
            buffer = buffer[PART:]
    try:
        _put(graph, upload_url, buffer, offset, size)
    except GraphError:
        if not landed(graph, url, str(meta.get("name")), before):
            raise


def _put(graph: GraphClient, upload_url: str, data: bytes, offset: int, size: int) -> int:
    end = offset + len(data) - 1
    graph.request(
        "PUT", upload_url, authenticated=False, content=data,
        headers={"Content-Range": f"bytes {offset}-{end}/{size}", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    return end + 1
