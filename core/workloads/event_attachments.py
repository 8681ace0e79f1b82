"""File attachments of a restored event, from the write-once store: under 3 MB in one POST, larger ones through an
attachment upload session (pre-authenticated uploadUrl, parts of at most 4 MB in order; no token sent).

Never twice: the event was just created by this restore, so every attachment on it is one this restore sent. A POST
whose outcome is unknown (GraphAmbiguousWrite: a reset connection, a timeout, a 5xx) is followed by one listing of the
event's attachments: if it holds more attachments of that name than were sent before, the POST landed; only if not
is it sent again. Names are compared, not sizes: Graph reports an attachment's stored `size`, which need not be the
byte count sent. createUploadSession is replay-safe (an unused session creates nothing); so are the PUTs of parts,
except that a last part whose answer was lost is checked the same way before the error is reported."""

from __future__ import annotations

import base64
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import GraphAmbiguousWrite, GraphError, MalformedResponse
from core.workloads.restore_marker import CREATE_ATTEMPTS

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient

INLINE_LIMIT = 3 * 1024 * 1024  # Graph takes attachments under 3 MB in one POST
CHUNK = 4 * 1024 * 1024


def attach_all(services: Services, user: str, event_id: str, attachments: list[dict[str, Any]]) -> None:
    url = f"users/{quote(user, safe='')}/events/{quote(event_id, safe='')}/attachments"
    sent: Counter[str] = Counter()  # name -> attachments of that name already on the event
    for attachment in attachments:
        name = str(attachment.get("name") or "attachment")
        _attach(services, url, {**attachment, "name": name}, sent[name])
        sent[name] += 1


def _landed(graph: GraphClient, url: str, name: str, before: int) -> bool:
    """Whether the event now holds more attachments named `name` than the `before` this restore had added."""
    listing = [a for page in graph.iter_pages(url, params={"$select": "id,name,size"}) for a in page]
    return sum(1 for a in listing if isinstance(a, dict) and a.get("name") == name) > before


def _attach(services: Services, url: str, attachment: dict[str, Any], before: int) -> None:
    graph = services.graph
    size = int(attachment.get("size") or 0)
    name = attachment["name"]
    if size < INLINE_LIMIT:
        data = services.content.read(attachment["sha256"])
        body = {"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
                "contentType": attachment.get("contentType"), "isInline": bool(attachment.get("isInline")),
                "contentBytes": base64.b64encode(data).decode()}  # fmt: skip
        for tries in range(1, CREATE_ATTEMPTS + 1):
            try:
                graph.post_json(url, body)
                return
            except GraphAmbiguousWrite:
                if _landed(graph, url, name, before):
                    return
                if tries == CREATE_ATTEMPTS:
                    raise
        return
    session = graph.post_json(
        f"{url}/createUploadSession",
        {"AttachmentItem": {"attachmentType": "file", "name": name, "size": size,
                            "contentType": attachment.get("contentType"),
                            "isInline": bool(attachment.get("isInline"))}},
        replay_safe=True,
    )  # fmt: skip
    upload_url = session.get("uploadUrl")
    if not isinstance(upload_url, str):
        raise MalformedResponse("attachment upload session without an uploadUrl")
    offset = 0
    buffer = b""
    for chunk in services.content.iter_chunks(attachment["sha256"]):
        buffer += chunk
        while len(buffer) > CHUNK:  # keep the last part for below: it is the one that creates the attachment
            offset = _put(graph, upload_url, buffer[:CHUNK], offset, size)
            buffer = buffer[CHUNK:]
    try:
        _put(graph, upload_url, buffer, offset, size)
    except GraphError:
        if not _landed(graph, url, name, before):
            raise


def _put(graph: GraphClient, upload_url: str, data: bytes, offset: int, size: int) -> int:
    end = offset + len(data) - 1
    graph.request(
        "PUT", upload_url, authenticated=False, content=data,
        headers={"Content-Range": f"bytes {offset}-{end}/{size}", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    return end + 1
