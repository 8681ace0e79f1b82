"""The browser side of sign-in (graphsim/identity/sign_in.py holds the rules): GET /{tenant}/oauth2/v2.0/authorize
shows a sign-in page listing the tenant's people (the simulator's stand-in for Entra's account picker, no
password), POST on the same URL signs the chosen one in and redirects to the app's redirect URI with `code` and
`state` in the query or the fragment (response_mode), as the authorization code flow's docs show
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#successful-response); errors go back
the same way, or are shown on the page when the redirect URI itself is not registered. GET .../logout (the
end_session_endpoint) redirects to post_logout_redirect_uri. Control routes register a single-page app and assign
app roles to users."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from graphsim.control_api import control, control_body
from graphsim.identity.sign_in import AuthorizeError, AuthRequest, SignIn
from graphsim.simulator import Simulator

PASSED_ON = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
             "code_challenge_method", "response_mode", "client_info", "prompt")  # fmt: skip
PAGE_STYLE = (
    "body{font:15px system-ui,sans-serif;background:#f2f2f2;margin:0}main{max-width:440px;margin:60px auto;"
    "background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}h1{font-size:22px;font-weight:600}"
    "button{display:block;width:100%;text-align:left;margin:8px 0;padding:10px 12px;border:1px solid #ccc;"
    "background:#fff;cursor:pointer;font:inherit}button:hover{background:#eef4fc}small{color:#666}"
)


def sign_in_of(sim: Simulator) -> SignIn:
    return sim.sign_in


def _redirect(request: AuthRequest | None, uri: str, mode: str, params: dict[str, str]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v})
    target = f"{uri}#{query}" if mode == "fragment" else f"{uri}{'&' if '?' in uri else '?'}{query}"
    return RedirectResponse(target, status_code=302 if request is None else 303)


def _error_page(error: AuthorizeError) -> HTMLResponse:
    text = html.escape(f"AADSTS{error.code}: {error.description}")
    body = "<!doctype html><title>Sign in</title><main><h1>Sorry, but we're having trouble signing you in.</h1>"
    return HTMLResponse(f"{body}<p id=error>{text}</p></main>", status_code=400)


def _refused(params: dict[str, str], error: AuthorizeError) -> Response:
    if not error.redirectable:
        return _error_page(error)
    description = f"AADSTS{error.code}: {error.description}"
    reply = {"error": error.error, "error_description": description, "state": params.get("state", "")}
    return _redirect(None, params["redirect_uri"], params.get("response_mode", "query"), reply)


def _sign_in_page(sim: Simulator, params: dict[str, str]) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in PASSED_ON
        if name in params
    )
    people = [u for u in sim.tenant.users.values() if u.purpose == "user"]
    buttons = "".join(
        f'<button type="submit" name="login" value="{html.escape(u.id)}">{html.escape(u.display_name)}<br>'
        f"<small>{html.escape(u.user_principal_name)}</small></button>"
        for u in people
    )
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in to your account</title>"
            '<link rel="icon" href="data:,">'
            f"<style>{PAGE_STYLE}</style></head><body><main><h1>Pick an account</h1><p><small>"
            f"{html.escape(sim.tenant.domain)} (simulated tenant: no password)</small></p>"
            f"<form method=post>{hidden}{buttons}</form></main></body></html>")  # fmt: skip
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def authorize(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    if request.method == "POST":
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        params = {k: v[-1] for k, v in form.items()}
    else:
        params = dict(request.query_params)
    sim.count("authorize")
    if request.path_params["tenant"].lower() not in (sim.tenant_id, sim.tenant.domain.lower(), "organizations"):
        return _error_page(AuthorizeError("invalid_tenant", 90002, "Tenant not found.", redirectable=False))
    try:
        checked = sign_in_of(sim).check_request(params)
    except AuthorizeError as error:
        return _refused(params, error)
    if request.method == "GET":
        return _sign_in_page(sim, params)
    user = sim.tenant.users.get(params.get("login", ""))
    if user is None or user.purpose != "user":
        return _refused(params, AuthorizeError("access_denied", 50034, "The user account does not exist in the "
                                               "directory."))  # fmt: skip
    code = sign_in_of(sim).issue_code(checked, user)
    return _redirect(checked, checked.redirect_uri, checked.response_mode, {"code": code, "state": checked.state})


async def logout(request: Request) -> Response:
    """end_session_endpoint: back to the app's post_logout_redirect_uri when it is one of its redirect URIs."""
    sim: Simulator = request.app.state.sim
    target = request.query_params.get("post_logout_redirect_uri", "")
    if any(target in app.redirect_uris for app in sign_in_of(sim).apps.values()):
        return RedirectResponse(target, status_code=302)
    return HTMLResponse("<!doctype html><title>Signed out</title><p>You signed out of your account.</p>")


@control
async def register_spa(request: Request) -> Response:
    """{"client_id", "redirect_uris": [...], "api_audience"} -> the registration."""
    body = await control_body(request)
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ValueError("redirect_uris must be a list of strings")
    app = sign_in_of(request.app.state.sim).register_spa(str(body.get("client_id", "")), uris,
                                                         str(body.get("api_audience", "")))  # fmt: skip
    return JSONResponse({"client_id": app.client_id, "redirect_uris": list(app.redirect_uris),
                         "api_audience": app.api_audience})  # fmt: skip


@control
async def assign_roles(request: Request) -> Response:
    """{"user": id or UPN, "roles": [...]}: the app roles the user's API tokens carry from now on."""
    sim: Simulator = request.app.state.sim
    body = await control_body(request)
    user = sim.tenant.resolve_user(str(body.get("user", "")))
    roles = body.get("roles")
    if user is None:
        raise ValueError(f"no user {body.get('user')!r}")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("roles must be a list of strings")
    sign_in_of(sim).assign_roles(user.id, roles)
    return JSONResponse({"user": user.id, "roles": roles})


def authorize_routes() -> list[Route]:
    return [
        Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
        Route("/{tenant}/oauth2/v2.0/logout", logout),
        Route("/_sim/spa-apps", register_spa, methods=["POST"]),
        Route("/_sim/app-roles", assign_roles, methods=["POST"]),
    ]
