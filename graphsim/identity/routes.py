"""Entra ID (v2.0 endpoints) enough for msal's client-credentials flow (discovery, JWKS, token) and, for a browser
app (MSAL for the browser), the authorization code and refresh token grants of graphsim/identity/sign_in.py. The
endpoints a single-page app calls cross-origin (discovery, JWKS, token) answer CORS as Entra's do."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.errors import oauth_error
from graphsim.identity.sign_in import AuthorizeError
from graphsim.identity.tokens import TokenError, check_client_assertion
from graphsim.simulator import GRAPH_AUDIENCE, Simulator

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _tenant_ok(sim: Simulator, tenant: str) -> bool:
    return tenant.lower() in (sim.tenant_id, sim.tenant.domain.lower(), "organizations")


def _cors(request: Request, response: Response) -> Response:
    """Allow the calling page's origin, as Entra's token and discovery endpoints do for SPA redirect URIs."""
    origin = request.headers.get("origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def preflight(request: Request) -> Response:
    response = Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                                  "Access-Control-Max-Age": "86400"})  # fmt: skip
    asked = request.headers.get("access-control-request-headers")
    if asked:
        response.headers["Access-Control-Allow-Headers"] = asked
    return _cors(request, response)


def _unknown_tenant(tenant: str) -> JSONResponse:
    return oauth_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")


async def openid_configuration(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    tenant = request.path_params["tenant"]
    if not _tenant_ok(sim, tenant):
        return _unknown_tenant(tenant)
    base, tid = sim.base_url, sim.tenant_id
    return _cors(
        request,
        JSONResponse(
            {
                "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/oidc/userinfo",
                "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "roles"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "graphsim.local",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": base.removeprefix("https://"),
            }
        ),
    )


async def jwks(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    return _cors(request, JSONResponse(sim.issuer.jwks()))


async def token(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    sim.count("token")
    if sim.config.latency_ms > 0:
        await asyncio.sleep(sim.config.latency_ms / 1000)
    response = await _token(sim, request)
    sim.stats.by_status[response.status_code] += 1
    return _cors(request, response)


async def _token(sim: Simulator, request: Request) -> Response:
    tenant = request.path_params["tenant"]
    if not _tenant_ok(sim, tenant):
        return _unknown_tenant(tenant)
    form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):  # client_secret_basic
        try:
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote_plus(user))
            form.setdefault("client_secret", unquote_plus(password))
        except ValueError:
            pass
    grant_type = str(form.get("grant_type", ""))
    client_id = str(form.get("client_id", ""))
    scope = str(form.get("scope", ""))
    if grant_type in ("authorization_code", "refresh_token"):
        try:
            body = sim.sign_in.redeem(form, request.headers.get("origin"), sim.tenant.users)
        except AuthorizeError as error:
            return oauth_error(400, error.error, error.code, error.description)
        return JSONResponse(body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
    if grant_type != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    if client_id != sim.client_id:
        return oauth_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                           f"found in the directory '{sim.tenant_id}'.")  # fmt: skip
    assertion = form.get("client_assertion")
    if assertion is not None:
        if form.get("client_assertion_type") != ASSERTION_TYPE or sim.client_cert is None:
            return oauth_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        token_url = f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token"
        audiences = (token_url, f"{sim.base_url}/{tenant}/oauth2/v2.0/token", f"{sim.base_url}/{sim.tenant_id}/v2.0")
        try:
            check_client_assertion(str(assertion), sim.client_cert, sim.client_id, audiences)
        except TokenError as exc:
            return oauth_error(401, "invalid_client", 700027, str(exc))
    elif str(form.get("client_secret", "")) != sim.client_secret:
        return oauth_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                           f"sent in the request is the client secret value, not the client secret ID, for a secret "
                           f"added to app '{sim.client_id}'.")  # fmt: skip
    scopes = scope.split()
    allowed = {f"{GRAPH_AUDIENCE}/.default": GRAPH_AUDIENCE, f"{sim.base_url}/.default": sim.base_url}
    if len(scopes) != 1 or scopes[0] not in allowed:
        return oauth_error(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. Client "
                           "credential flows must have a scope value with /.default suffixed to the resource "
                           "identifier (application ID URI).")  # fmt: skip
    sim.issuer.lifetime = sim.config.token_lifetime
    access_token, lifetime = sim.issuer.issue(allowed[scopes[0]])
    return JSONResponse(
        {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access_token},
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def identity_routes() -> list[Route]:
    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", preflight, methods=["OPTIONS"]),
        Route("/{tenant}/discovery/v2.0/keys", jwks),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/token", preflight, methods=["OPTIONS"]),
    ]
