"""Helpers of the /_sim control API (not Graph; no auth) that every surface's control routes use."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graphsim.errors import GraphError, json_object
from graphsim.mail.store import Mailbox
from graphsim.simulator import Simulator
from graphsim.tenant import User


def sim_of(request: Request) -> Simulator:
    return request.app.state.sim


async def control_body(request: Request) -> dict[str, Any]:
    return await json_object(request, "BadRequest")


def mailbox_user(sim: Simulator, ref: str) -> tuple[User, Mailbox]:
    user = sim.tenant.resolve_user(ref)
    if user is None or user.mailbox is None:
        raise GraphError(404, "NotFound", f"no mailbox user {ref!r}")
    return user, user.mailbox


def control(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except GraphError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, status_code=400)

    endpoint.__name__ = handler.__name__
    return endpoint
