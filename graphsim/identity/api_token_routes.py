"""/_sim/api-tokens: Entra ID v2.0 access tokens for the project's own restore API, as a signed-in user (delegated)
or a daemon (app-only) would present them. The simulator plays the tenant's sign-in service only: it signs with
the key its JWKS publishes, so the API's validator checks these tokens exactly as it checks real ones. Test knobs
make the tokens a validator must refuse: expired, forged signature, foreign audience, issuer or tenant."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.control_api import control, control_body
from graphsim.simulator import Simulator


def _field(body: dict[str, Any], name: str, kind: type, default: Any = None, required: bool = False) -> Any:
    value = body.get(name, default)
    if value is None and not required:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name} must be a {kind.__name__}, got {value!r}")
    return value


@control
async def api_token(request: Request) -> Response:
    """{"oid", "name", "roles", "audience", "lifetime", "app_only", "wrong_key", "issuer", "tenant"} -> token."""
    sim: Simulator = request.app.state.sim
    body = await control_body(request)
    roles = _field(body, "roles", list, [])
    if not all(isinstance(r, str) for r in roles):
        raise ValueError(f"roles must be a list of strings, got {roles!r}")
    token = sim.issuer.issue_api_token(
        oid=_field(body, "oid", str, required=True),
        audience=_field(body, "audience", str, required=True),
        name=_field(body, "name", str, ""),
        roles=roles,
        lifetime=_field(body, "lifetime", int, 3600),
        app_only=_field(body, "app_only", bool, False),
        wrong_key=_field(body, "wrong_key", bool, False),
        issuer=_field(body, "issuer", str),
        tenant=_field(body, "tenant", str),
    )
    return JSONResponse({"access_token": token, "token_type": "Bearer"})


def api_token_routes() -> list[Route]:
    return [Route("/_sim/api-tokens", api_token, methods=["POST"])]
