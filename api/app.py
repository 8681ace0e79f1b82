"""The restore API: `create_app` builds the FastAPI app under /api/v1 with its OpenAPI document at
/api/v1/openapi.json. The same app runs under the Functions host (blueprints/api.py) and under uvicorn locally
(devenv/api_server.py); only the orchestration starter differs."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from api import (
    problems,
    routes_admin,
    routes_catalog,
    routes_exports,
    routes_lifecycle,
    routes_portal,
    routes_report,
    routes_restores,
    routes_signals,
)
from api.body_limit import BodyLimit
from api.context import ApiContext
from api.orchestrations import Orchestrations
from core.bootstrap import Services

PREFIX = "/api/v1"
DESCRIPTION = """Browse, search, restore and export Microsoft 365 backups; start backups; read the audit log.

Every call needs an Entra ID bearer token for this API's app registration. App roles: **Backup.Admin** (everything),
**Restore.Operator** (browse, restore and export any resource). Signed-in users without a role may browse, restore
and export only their own mailbox and OneDrive, back into their own data. Errors are RFC 9457 problem details."""


def create_app(
    orchestrations: Orchestrations,
    services: Callable[[], Services],
    context: ApiContext | None = None,
) -> FastAPI:
    """The app over `services` (the host's provider: blueprints.services.provider under Functions) and the
    orchestration starter `orchestrations`."""
    app = FastAPI(
        title="Microsoft 365 backup: restore API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from CDNs: not served
        redoc_url=None,
    )
    app.state.context = context or ApiContext(services=services, orchestrations=orchestrations)
    problems.install(app)
    for module in (routes_catalog, routes_restores, routes_exports, routes_admin, routes_lifecycle, routes_portal,
                   routes_report, routes_signals):  # fmt: skip
        app.include_router(module.router, prefix=PREFIX)
    app.add_middleware(BodyLimit)
    return app
