"""The /_sim control API (not Graph; no auth) shared by every surface: health, the whole tenant's state, faults,
config, stats, expiring access tokens. Each surface's own control routes live in its package."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphsim.control_api import control, control_body, sim_of
from graphsim.drives.control_routes import drives_state
from graphsim.limits import LINK_STYLES, parse_rate_limit
from graphsim.mail.control_routes import mail_state
from graphsim.pim.control_routes import pim_state


@control
async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


@control
async def state(request: Request) -> Response:
    sim = sim_of(request)
    users = []
    for user in sim.tenant.users.values():
        entry: dict[str, Any] = {"id": user.id, "userPrincipalName": user.user_principal_name, "mail": user.mail,
                                 "displayName": user.display_name, "has_mailbox": user.mailbox is not None,
                                 "purpose": user.purpose}  # fmt: skip
        if user.mailbox is not None:
            entry.update(mail_state(user))  # folders, messages
            entry.update(pim_state(sim, user))  # contact_folders, contacts, calendars, events
        users.append(entry)
    return JSONResponse({"tenant_id": sim.tenant_id, "seed": sim.seed, "users": users, **drives_state(sim)})


@control
async def expire_access_tokens(request: Request) -> Response:
    sim_of(request).issuer.revoke_all()
    return JSONResponse({"expired": "all"})


@control
async def faults(request: Request) -> Response:
    sim = sim_of(request)
    if request.method == "POST":
        body = await control_body(request)
        specs = body.get("faults") if "faults" in body else [body]
        added = [sim.faults.add(spec).to_json() for spec in specs]
        return JSONResponse({"added": added, "active": [f.to_json() for f in sim.faults.active]}, status_code=201)
    if request.method == "DELETE":
        sim.faults.clear()
    return JSONResponse({"active": [f.to_json() for f in sim.faults.active]})


@control
async def config(request: Request) -> Response:
    sim = sim_of(request)
    if request.method == "POST":
        body = await control_body(request)
        if "latency_ms" in body:
            sim.config.latency_ms = float(body["latency_ms"])
        if "mailbox_concurrency" in body:
            sim.config.mailbox_concurrency = int(body["mailbox_concurrency"])
        if "rate_limit" in body:
            sim.config.rate_limit = parse_rate_limit(body["rate_limit"])
            sim.limiter.reset_windows()
        if "token_lifetime" in body:
            sim.config.token_lifetime = int(body["token_lifetime"])
        if "link_style" in body:
            if body["link_style"] not in LINK_STYLES:
                raise ValueError(f"link_style must be one of {LINK_STYLES}")
            sim.config.link_style = str(body["link_style"])
    return JSONResponse(sim.config.to_json())


@control
async def stats(request: Request) -> Response:
    sim = sim_of(request)
    if request.method == "POST":
        sim.stats = type(sim.stats)()
        sim.files.stats = type(sim.files.stats)()
    return JSONResponse({**sim.stats.to_json(dict(sim.limiter.in_flight)), "drives": sim.files.stats.to_json()})


def control_routes() -> list[Route]:
    return [
        Route("/_sim/health", health),
        Route("/_sim/state", state),
        Route("/_sim/stats", stats),
        Route("/_sim/stats/reset", stats, methods=["POST"]),
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/expire-access-tokens", expire_access_tokens, methods=["POST"]),
    ]
