"""The restore portal's routes: GET /portal (the page, no token needed: its script signs in) and GET
/portal/assets/{name} (its script, stylesheet and MSAL for the browser). Everything the page shows comes from the
other /api/v1 routes, called with the signed-in user's token, so the portal can see and do exactly what the API
allows that user (api/access.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from api.context import Svc
from api.portal_page import asset, content_security_policy, portal_config, render_portal
from api.schemas import PROBLEM_RESPONSES

router = APIRouter(responses=PROBLEM_RESPONSES)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@router.get(
    "/portal",
    response_class=HTMLResponse,
    include_in_schema=False,
    summary="The self-service restore portal (signs in in the browser)",
)
def portal(request: Request, svc: Svc) -> HTMLResponse:
    config = portal_config(svc.settings)
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(config),
               "Cache-Control": "no-store"}  # fmt: skip
    return HTMLResponse(render_portal(config, request.url.path.rstrip("/") + "/assets"), headers=headers)


@router.get(
    "/portal/assets/{name}", include_in_schema=False, summary="The portal's script, stylesheet and MSAL for the browser"
)
def portal_asset(name: Annotated[str, Path(pattern=r"^[a-z][a-z.-]{0,63}$")]) -> Response:
    body, media_type = asset(name)
    return Response(body, media_type=media_type, headers={**SECURITY_HEADERS, "Cache-Control": "max-age=3600"})
