"""/_sim control API of the in-place archive (not Graph; no auth): what a user's archive holds (folders with their
paths, which are expanded, messages and which store holds them), and archived messages added, edited and deleted
as Exchange would (each change is what message delta reports next)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.archive.store import Archive, archive_of
from graphsim.control_api import control, control_body, sim_of
from graphsim.errors import GraphError
from graphsim.mail.control_routes import message_summary
from graphsim.mail.create import new_message
from graphsim.mail.mime import MessageSpec, render_mime, rewrite_mime
from graphsim.mail.seed import _attachment
from graphsim.mail.store import Folder, Message
from graphsim.simulator import Context
from graphsim.tenant import User


def _archive(request: Request) -> tuple[User, Archive]:
    user = sim_of(request).tenant.resolve_user(request.path_params["user"])
    archive = archive_of(user) if user is not None else None
    if user is None or archive is None:
        raise GraphError(404, "NotFound", f"no archive for user {request.path_params['user']!r}")
    return user, archive


def _folder(archive: Archive, ref: str) -> Folder:
    assert archive.main.mailbox is not None
    folder = archive.main.mailbox.folders.get(ref) or archive.folder_by_path(ref)
    if folder is None:
        raise GraphError(404, "NotFound", f"no archive folder {ref!r}")
    return folder


def _message(archive: Archive, mid: str) -> tuple[User, Message]:
    found = archive.folder_of_message(mid)
    if found is None:
        raise GraphError(404, "NotFound", f"no archived message {mid!r}")
    store = found[0]
    assert store.mailbox is not None
    return store, store.mailbox.messages[mid]


def _summary(archive: Archive, store: User, message: Message) -> dict[str, Any]:
    assert store.mailbox is not None
    return {**message_summary(store.mailbox, message), "folder_path": archive.path_of(message.folder_id),
            "mailbox_id": store.id, "categories": list(message.categories)}  # fmt: skip


def _messages(archive: Archive, folder: Folder | None) -> list[dict[str, Any]]:
    out = []
    for store in (archive.main, archive.auxiliary):
        for message in store.mailbox.messages.values() if store is not None and store.mailbox else []:
            if folder is None or message.folder_id == folder.id:
                out.append(_summary(archive, store, message))  # type: ignore[arg-type]
    return out


@control
async def archive_state(request: Request) -> Response:
    _, archive = _archive(request)
    box = archive.main.mailbox
    assert box is not None
    folders = [{"id": f.id, "displayName": f.display_name, "path": box.folder_path(f), "expanded": f.id in
                archive.expanded} for f in box.folders.values() if f.parent_id]  # fmt: skip
    auxiliary = archive.auxiliary.id if archive.auxiliary is not None else None
    return JSONResponse({"archive_id": archive.main.id, "auxiliary_id": auxiliary, "folders": folders,
                         "messages": _messages(archive, None)})  # fmt: skip


@control
async def list_archived(request: Request) -> Response:
    _, archive = _archive(request)
    ref = request.query_params.get("folder")
    return JSONResponse({"value": _messages(archive, _folder(archive, ref) if ref else None)})


@control
async def add_archived(request: Request) -> Response:
    sim = sim_of(request)
    user, archive = _archive(request)
    body = await control_body(request)
    folder = _folder(archive, str(body.get("folder", "Archive 2023")))
    sim.tenant.added_counter += 1
    n = sim.tenant.added_counter
    rng = random.Random(f"archived-added:{sim.seed}:{user.id}:{n}")
    spec = MessageSpec(
        internet_message_id=f"<archived-added.{sim.seed}.{n}.{rng.getrandbits(32):08x}@mail.example>",
        date=dt.datetime(2023, 11, 2, 8, 30, tzinfo=dt.UTC) + dt.timedelta(hours=n), sender=("Dana Swope",
        "danas@fabrikam.example"), to=[(user.display_name, user.mail or "")],
        subject=str(body.get("subject", f"Archived message {n}")), body="Hello,\n\nAn archived message.\n",
        boundary_seed=f"{rng.getrandbits(64):016x}",
        attachments=[_attachment(rng, 2048, i) for i in range(int(body.get("attachments", 0)))],
    )  # fmt: skip
    store = archive.holder(folder.id)
    assert store.mailbox is not None
    message = new_message(Context(sim, store), render_mime(spec), store.mailbox.folders[folder.id], draft=False)
    message.is_read = bool(body.get("isRead", False))
    message.received = spec.date + dt.timedelta(seconds=7)
    return JSONResponse(_summary(archive, store, message), status_code=201)


@control
async def update_archived(request: Request) -> Response:
    _, archive = _archive(request)
    store, message = _message(archive, request.path_params["message"])
    body = await control_body(request)
    if "subject" in body:
        message.set_mime(rewrite_mime(message.mime, body["subject"], None))
        message.subject = str(body["subject"])
    if "isRead" in body:
        message.is_read = bool(body["isRead"])
    if "categories" in body:
        message.categories = [str(c) for c in body["categories"]]
    if "flag" in body:
        message.flag = {"flagStatus": str(body["flag"])}
    assert store.mailbox is not None
    store.mailbox.touch(message, dt.datetime.now(dt.UTC).replace(microsecond=0))
    return JSONResponse(_summary(archive, store, message))


@control
async def delete_archived(request: Request) -> Response:
    _, archive = _archive(request)
    store, message = _message(archive, request.path_params["message"])
    assert store.mailbox is not None
    store.mailbox.delete(message)
    return Response(status_code=204)


def archive_control_routes() -> list[Route]:
    a = "/_sim/users/{user}/archive"
    return [
        Route(a, archive_state),
        Route(f"{a}/messages", list_archived),
        Route(f"{a}/messages", add_archived, methods=["POST"]),
        Route(f"{a}/messages/{{message}}", update_archived, methods=["PATCH"]),
        Route(f"{a}/messages/{{message}}", delete_archived, methods=["DELETE"]),
    ]
