"""Create files and folders in a drive: one PUT for small files, an upload session for large ones.

Files up to 4 MiB go in one `PUT …/items/{parent}:/{name}:/content`; larger ones through `createUploadSession`, in
fragments that are multiples of 320 KiB (at most 60 MiB; the last may be any size), sent to the session's
pre-authenticated `uploadUrl` without the bearer token. A fragment that fails after the client's own retries (5xx,
a lost connection, a 416 for a range the server already holds) is followed by a GET of the session, whose
`nextExpectedRanges` says where to continue; the source is seeked there. One fragment is in memory at a time.
The conflict policy is Graph's `@microsoft.graph.conflictBehavior` (fail, replace, rename); with `fail` an existing
name raises GraphConflict.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from core.errors import (
    GraphError,
    GraphNotFound,
    GraphServerError,
    GraphThrottled,
    GraphTransportError,
    InvalidRequestError,
    MalformedResponse,
)
from core.graph.client import GraphClient
from core.graph.drive_download import segment

SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024
FRAGMENT_UNIT = 320 * 1024
MAX_FRAGMENT = 60 * 1024 * 1024
DEFAULT_FRAGMENT = 10 * FRAGMENT_UNIT
_COLLECT_EVERY = 4
CONFLICT_BEHAVIOURS = ("fail", "replace", "rename")


def _check_conflict(conflict: str) -> None:
    if conflict not in CONFLICT_BEHAVIOURS:
        raise InvalidRequestError(f"conflict behaviour must be one of {CONFLICT_BEHAVIOURS}, not {conflict!r}")


def _child_path(drive_id: str, parent_id: str, name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InvalidRequestError(f"not a usable file or folder name: {name!r}")
    return f"drives/{segment(drive_id)}/items/{segment(parent_id)}:/{segment(name)}:"


def _json(response: Any, what: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise MalformedResponse(f"{what} answered a body that is not a JSON object", url=str(response.request.url))
    return body


def _read_exactly(source: BinaryIO, count: int) -> bytes:
    parts = [b""]
    remaining = count
    while remaining:
        piece = source.read(remaining)
        if not piece:
            raise InvalidRequestError(f"the source ended {remaining} bytes short of the announced size")
        parts.append(piece)
        remaining -= len(piece)
    return parts[-1] if len(parts) <= 2 else b"".join(parts)


def parse_next_expected(ranges: Any) -> int | None:
    """The first missing byte from `nextExpectedRanges` (["26214400-", "30000000-30999999"]), None if none listed."""
    if not isinstance(ranges, list):
        raise MalformedResponse(f"nextExpectedRanges is not a list: {ranges!r}")
    starts = []
    for entry in ranges:
        head = str(entry).split("-", 1)[0].strip()
        if not head.isdigit():
            raise MalformedResponse(f"unreadable nextExpectedRanges entry: {entry!r}")
        starts.append(int(head))
    return min(starts) if starts else None


def create_folder(graph: GraphClient, drive_id: str, parent_id: str, name: str, conflict: str = "fail") -> dict:
    """Create folder `name` under `parent_id`; returns the driveItem. `fail` on an existing name raises
    GraphConflict; `replace` gives the existing folder; `rename` makes "name 1"."""
    _check_conflict(conflict)
    _child_path(drive_id, parent_id, name)  # same name rules as files
    url = f"drives/{segment(drive_id)}/items/{segment(parent_id)}/children"
    body = {"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": conflict}
    # fail and replace are safe to send again (409, or the same folder); rename would make a second folder
    return graph.post_json(url, body, replay_safe=conflict != "rename")


def upload_file(
    graph: GraphClient,
    drive_id: str,
    parent_id: str,
    name: str,
    source: BinaryIO,
    size: int,
    *,
    conflict: str = "fail",
    file_system_info: dict[str, str] | None = None,
    fragment_size: int = DEFAULT_FRAGMENT,
    max_resumes: int = 8,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Upload `size` bytes read from `source` (seekable, binary; from its current position) as file `name` under
    folder `parent_id`, and return the created driveItem. `file_system_info` ({"createdDateTime": …,
    "lastModifiedDateTime": …}) restores the original timestamps."""
    _check_conflict(conflict)
    if size < 0:
        raise InvalidRequestError(f"negative size {size}")
    if fragment_size <= 0 or fragment_size % FRAGMENT_UNIT or fragment_size > MAX_FRAGMENT:
        raise InvalidRequestError(f"fragment size must be a multiple of 320 KiB up to 60 MiB, not {fragment_size}")
    item_path = _child_path(drive_id, parent_id, name)
    if size <= SIMPLE_UPLOAD_LIMIT:
        return _simple_upload(graph, drive_id, item_path, source, size, conflict, file_system_info)
    return _session_upload(
        graph, item_path, source, size, conflict, file_system_info, fragment_size, max_resumes, sleep
    )


def _simple_upload(
    graph: GraphClient,
    drive_id: str,
    item_path: str,
    source: BinaryIO,
    size: int,
    conflict: str,
    file_system_info: dict[str, str] | None,
) -> dict:
    data = _read_exactly(source, size)
    response = graph.request(
        "PUT",
        f"{item_path}/content?@microsoft.graph.conflictBehavior={conflict}",
        headers={"Content-Type": "application/octet-stream"},
        content=data,
        replay_safe=conflict != "rename",  # a repeated rename upload would land a second copy
    )
    item = _json(response, "simple upload")
    if file_system_info:
        item_id = item.get("id")
        if not isinstance(item_id, str):
            raise MalformedResponse("the uploaded item has no id", url=str(response.request.url))
        patched = graph.request(
            "PATCH", f"drives/{segment(drive_id)}/items/{segment(item_id)}", json={"fileSystemInfo": file_system_info}
        )
        item = _json(patched, "fileSystemInfo update")
    return item


def _session_upload(
    graph: GraphClient,
    item_path: str,
    source: BinaryIO,
    size: int,
    conflict: str,
    file_system_info: dict[str, str] | None,
    fragment_size: int,
    max_resumes: int,
    sleep: Callable[[float], None],
) -> dict:
    base = source.tell()
    body: dict[str, Any] = {"@microsoft.graph.conflictBehavior": conflict}
    if file_system_info:
        body["fileSystemInfo"] = file_system_info
    session = graph.post_json(f"{item_path}/createUploadSession", {"item": body}, replay_safe=True)
    upload_url = session.get("uploadUrl")
    if not isinstance(upload_url, str) or not upload_url:
        raise MalformedResponse("createUploadSession answered no uploadUrl", url=graph.url(item_path))

    setbacks = 0
    sent = 0
    offset = 0
    try:
        while True:
            length = min(fragment_size, size - offset)
            source.seek(base + offset)
            data = _read_exactly(source, length)
            end = offset + length - 1
            try:
                response = graph.request(
                    "PUT",
                    upload_url,
                    headers={
                        "Content-Range": f"bytes {offset}-{end}/{size}",
                        "Content-Type": "application/octet-stream",
                    },
                    content=data,
                    authenticated=False,
                )
            except GraphError as exc:
                if not _resumable(exc):
                    raise
                del data
                setbacks += 1
                if setbacks > max_resumes:
                    raise
                sleep(min(0.1 * 2 ** (setbacks - 1), 5.0))
                status = _json(graph.request("GET", upload_url, authenticated=False), "upload session status")
                missing = parse_next_expected(status.get("nextExpectedRanges", []))
                if missing is None:
                    raise MalformedResponse(
                        "the upload session lists no missing range but never answered with the item", url=upload_url
                    ) from exc
                if missing >= size:
                    raise MalformedResponse(
                        f"nextExpectedRanges starts at {missing}, the file has {size} bytes", url=upload_url
                    ) from exc
                offset = missing
                continue
            if response.status_code in (200, 201):
                return _json(response, "final fragment")
            progress = _json(response, "fragment") if response.content else {}
            missing = parse_next_expected(progress.get("nextExpectedRanges", [f"{end + 1}-"]))
            offset = end + 1 if missing is None else missing
            # httpx keeps each sent fragment reachable from a reference cycle until the cycle collector runs;
            # collecting every few fragments keeps a restore's memory flat whatever the file's size.
            del data, response
            sent += 1
            if sent % _COLLECT_EVERY == 0:
                gc.collect()
            if offset >= size:
                raise MalformedResponse(
                    "every byte was sent but the session did not answer with the item", url=upload_url
                )
    except BaseException:
        with contextlib.suppress(Exception):  # leave no half-written session behind
            graph.request("DELETE", upload_url, authenticated=False)
        raise


def _resumable(exc: GraphError) -> bool:
    """A fragment failure worth asking the session about: server trouble, a lost connection, or 416 (the server
    already holds some of the range, e.g. an earlier attempt of this fragment did arrive)."""
    if isinstance(exc, GraphNotFound):
        return False  # the session is gone: nothing to resume
    return isinstance(exc, (GraphServerError, GraphThrottled, GraphTransportError)) or exc.status == 416
