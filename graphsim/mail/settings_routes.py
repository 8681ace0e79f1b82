"""A mailbox's settings (https://learn.microsoft.com/graph/api/user-get-mailboxsettings, resource
https://learn.microsoft.com/graph/api/resources/mailboxsettings): `GET /users/{id}/mailboxSettings` with $select, and
one property by path (`/mailboxSettings/userPurpose`). `userPurpose` is read-only and tells a user's own mailbox from a
shared, room or equipment mailbox; Graph has no other way to list shared mailboxes (they are user objects).
A user without a mailbox is refused as every mailbox route refuses it (the simulator's gate)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.errors import GraphError
from graphsim.odata import context, pick, select_of
from graphsim.simulator import Context, graph_route
from graphsim.tenant import User

WORKING_HOURS = {
    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "startTime": "08:00:00.0000000",
    "endTime": "17:00:00.0000000",
    "timeZone": {"name": "UTC"},
}


def settings_of(user: User) -> dict[str, Any]:
    return {
        "archiveFolder": f"AQMkA-archive-{user.id}",
        "timeZone": "UTC",
        "dateFormat": "yyyy-MM-dd",
        "timeFormat": "HH:mm",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "automaticRepliesSetting": {"status": "disabled", "externalAudience": "none"},
        "workingHours": WORKING_HOURS,
        "userPurpose": user.purpose,
    }


@graph_route("mailboxsettings")
async def get_settings(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    body = pick(settings_of(ctx.user), select_of(request), always=())
    return JSONResponse({"@odata.context": context(request, f"users('{ctx.user.id}')/mailboxSettings"), **body})


@graph_route("mailboxsettings")
async def get_setting(request: Request, ctx: Context) -> Response:
    assert ctx.user is not None
    name = request.path_params["name"]
    settings = settings_of(ctx.user)
    found = next((k for k in settings if k.lower() == name.lower()), None)
    if found is None:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{name}'.")
    value = settings[found]
    where = context(request, f"users('{ctx.user.id}')/mailboxSettings/{found}")
    return JSONResponse({"@odata.context": where, **value} if isinstance(value, dict) else
                        {"@odata.context": where, "value": value})  # fmt: skip


def mailbox_settings_routes() -> list[Route]:
    u = "/v1.0/users/{user}/mailboxSettings"
    return [Route(u, get_settings), Route(u + "/{name}", get_setting)]
