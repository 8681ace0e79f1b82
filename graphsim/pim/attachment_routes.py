"""Graph v1.0 event attachments: list, get, raw $value (streamed; big ones generated on the fly), add small ones
(< 3 MB, contentBytes), delete, and the Outlook upload session (createUploadSession, then PUT byte ranges in order
to a pre-authenticated uploadUrl; the last one answers 201 with a Location naming the attachment)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from graphsim.errors import GraphError, graph_error
from graphsim.ids import opaque_id
from graphsim.odata import context, pick, select_of
from graphsim.outlook_uploads import refuse_fragment
from graphsim.pim.calendar_store import SMALL_ATTACHMENT, Attachment, CalendarStore, Event, Instance
from graphsim.pim.common import Blob, iso_z, now
from graphsim.pim.contact_routes import json_body, paged, pim_of, service
from graphsim.pim.service import PimService
from graphsim.simulator import Context, Simulator, graph_route

MAX_UPLOAD = 150 * 1024 * 1024
NOT_FOUND = "The specified object was not found in the store."


def _event(store: CalendarStore, request: Request) -> Event:
    """The event holding the attachments (an occurrence shows its master's)."""
    found = store.lookup(request.path_params["event"])
    if found is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return found.event if isinstance(found, Instance) else found


def _attachment(event: Event, request: Request) -> Attachment:
    att = event.attachments.get(request.path_params["attachment"])
    if att is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return att


def add_attachment(store: CalendarStore, event: Event, name: str, content_type: str, blob: Blob,
                   is_inline: bool = False) -> Attachment:  # fmt: skip
    when = now()
    aid = opaque_id("AAMkA", event.id, "att", "added", len(event.attachments), name, when.timestamp(), blob.size)
    att = Attachment(aid, name, content_type, blob, is_inline, when)
    event.attachments[aid] = att
    store.touch(event, when)
    return att


@graph_route("attachments")
async def list_attachments(request: Request, ctx: Context) -> Response:
    event = _event(pim_of(ctx).calendar, request)
    return paged(request, "Collection(attachment)", [a.to_json() for a in event.attachments.values()], 100)


@graph_route("attachments")
async def get_attachment(request: Request, ctx: Context) -> Response:
    att = _attachment(_event(pim_of(ctx).calendar, request), request)
    return JSONResponse({"@odata.context": context(request, "attachments/$entity"),
                         **pick(att.to_json(), select_of(request))})  # fmt: skip


@graph_route("attachment_value")
async def get_attachment_value(request: Request, ctx: Context) -> Response:
    att = _attachment(_event(pim_of(ctx).calendar, request), request)
    headers = {"Content-Length": str(att.blob.size)}
    return StreamingResponse(att.blob.chunks(), media_type=att.content_type, headers=headers)


@graph_route("pim_create")
async def post_attachment(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).calendar
    event = _event(store, request)
    body = await json_body(request)
    kind = str(body.get("@odata.type", "#microsoft.graph.fileAttachment")).lstrip("#").lower()
    if kind != "microsoft.graph.fileattachment":
        raise GraphError(400, "ErrorInvalidRequest", "Only file attachments are supported by this simulator.")
    try:
        data = base64.b64decode(str(body.get("contentBytes") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise GraphError(400, "ErrorInvalidRequest", "contentBytes is not valid base64.") from None
    if len(data) > SMALL_ATTACHMENT:
        raise GraphError(413, "ErrorRequestEntityTooLarge", "The attachment is too large for a single request; "
                         "use createUploadSession for files of 3 MB or more.")  # fmt: skip
    name = str(body.get("name") or "attachment")
    att = add_attachment(store, event, name, str(body.get("contentType") or "application/octet-stream"),
                         Blob.of(data), bool(body.get("isInline", False)))  # fmt: skip
    return JSONResponse({"@odata.context": context(request, "attachments/$entity"), **att.to_json()},
                        status_code=201)  # fmt: skip


@graph_route("pim_delete")
async def delete_attachment(request: Request, ctx: Context) -> Response:
    store = pim_of(ctx).calendar
    event = _event(store, request)
    att = _attachment(event, request)
    del event.attachments[att.id]
    store.touch(event, now())
    return Response(status_code=204)


@graph_route("attachment_session")
async def create_upload_session(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    store = pim_of(ctx).calendar
    event = _event(store, request)
    body = await json_body(request)
    item = body.get("AttachmentItem") or body.get("attachmentItem")
    if not isinstance(item, dict) or str(item.get("attachmentType", "file")).lower() != "file":
        raise GraphError(400, "ErrorInvalidRequest", "AttachmentItem with attachmentType 'file' is required.")
    size = item.get("size")
    if not isinstance(size, int) or not 0 < size <= MAX_UPLOAD:
        raise GraphError(400, "ErrorInvalidRequest", "AttachmentItem.size must be between 1 byte and 150 MB.")
    upload = service(ctx).new_upload(ctx.user.id, event.id, str(item.get("name") or "attachment"), size,
                                     str(item.get("contentType") or "application/octet-stream"),
                                     bool(item.get("isInline", False)))  # fmt: skip
    expires = dt.datetime.fromtimestamp(upload.expires, dt.UTC)
    url = (f"{ctx.sim.base_url}/_outlook/api/v2.0/Users('{ctx.user.id}@{ctx.sim.tenant_id}')/Events('{event.id}')"
           f"/AttachmentSessions('{upload.token}')?authtoken={upload.token}")  # fmt: skip
    return JSONResponse({"@odata.context": f"{ctx.sim.base_url}/v1.0/$metadata#microsoft.graph.uploadSession",
                         "uploadUrl": url, "expirationDateTime": iso_z(expires), "nextExpectedRanges": ["0-"]},
                        status_code=201)  # fmt: skip


def _upload_error(request: Request, status: int, code: str, message: str) -> Response:
    return graph_error(request, status, code, message)


async def upload_fragment(request: Request) -> Response:
    """PUT to the uploadUrl: no bearer token (pre-authenticated); byte ranges in order."""
    sim: Simulator = request.app.state.sim
    pim: PimService = sim.pim  # type: ignore[attr-defined]
    sim.count("attachment_upload")
    token = request.query_params.get("authtoken", "")
    upload = pim.uploads.get(token)
    if upload is None or upload.token != request.path_params["session"]:
        return _upload_error(request, 404, "ErrorItemNotFound", "The upload session was not found or has expired.")
    if "authorization" in request.headers:
        sim.stats.by_kind["attachment_upload_with_authorization"] += 1
    if request.method == "DELETE":
        pim.uploads.pop(token, None)
        return Response(status_code=204)
    data = await request.body()
    refused = refuse_fragment(request, data, upload.size, len(upload.data))
    if refused is not None:
        return refused
    upload.data += data
    expires = iso_z(dt.datetime.fromtimestamp(upload.expires, dt.UTC))
    if len(upload.data) < upload.size:
        return JSONResponse({"@odata.context": f"{sim.base_url}/_outlook/api/v2.0/$metadata#AttachmentSessions/$entity",
                             "expirationDateTime": expires, "nextExpectedRanges": [f"{len(upload.data)}"]})  # fmt: skip
    pim.uploads.pop(token, None)
    store = pim.of(upload.user_id).calendar
    event = store.events.get(upload.event_id) or store.exceptions.get(upload.event_id)
    if event is None:
        return _upload_error(request, 404, "ErrorItemNotFound", NOT_FOUND)
    att = add_attachment(store, event, upload.name, upload.content_type, Blob.of(bytes(upload.data)), upload.is_inline)
    location = (f"{sim.base_url}/_outlook/api/v2.0/Users('{upload.user_id}@{sim.tenant_id}')/Events('{event.id}')"
                f"/Attachments('{att.id}')")  # fmt: skip
    return Response(status_code=201, headers={"Location": location})


def attachment_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(
            "/_outlook/api/v2.0/Users('{owner}')/Events('{event}')/AttachmentSessions('{session}')",
            upload_fragment,
            methods=["PUT", "DELETE"],
        ),
    ]
    for base in ("/v1.0/users/{user}/events/{event}", "/v1.0/users/{user}/calendars/{calendar}/events/{event}",
                 "/v1.0/users/{user}/calendar/events/{event}"):  # fmt: skip
        a = f"{base}/attachments"
        routes += [
            Route(f"{a}/createUploadSession", create_upload_session, methods=["POST"]),
            Route(f"{a}/microsoft.graph.createUploadSession", create_upload_session, methods=["POST"]),
            Route(a, list_attachments),
            Route(a, post_attachment, methods=["POST"]),
            Route(f"{a}/{{attachment}}/$value", get_attachment_value),
            Route(f"{a}/{{attachment}}", get_attachment),
            Route(f"{a}/{{attachment}}", delete_attachment, methods=["DELETE"]),
        ]
    return routes


__all__ = ["attachment_routes"]
