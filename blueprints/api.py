"""The restore API under the Functions host: one anonymous HTTP function for every /api/v1/... route (the app
authenticates callers itself with Entra ID bearer tokens), handing requests to the FastAPI app through
AsgiMiddleware, with the Durable client the host binds as the app's orchestration starter.

The function-key starters in blueprints/backup.py (/api/v1/automation/backups) stay for automation."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api.app import create_app
from api.orchestrations import restore_instance_id
from blueprints.backup import start_backup
from blueprints.services import provider
from core.backup_start import BACKUP_INSTANCE
from core.errors import AlreadyRunningError

log = logging.getLogger(__name__)
bp = df.Blueprint()
_client: contextvars.ContextVar[df.DurableOrchestrationClient] = contextvars.ContextVar("durable_client")


def _status_dict(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    return {
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
        "customStatus": status.custom_status,
        "output": status.output,
    }


class DurableOrchestrations:
    """The API's orchestration port over the Durable client bound to the current request."""

    async def start_backup(self, resources: list[str] | None) -> None:
        if not await start_backup(_client.get(), "api", resources):
            raise AlreadyRunningError("a backup run is already pending or running; poll /api/v1/backups/current")

    async def backup_status(self) -> dict[str, Any] | None:
        status = await _client.get().get_status(BACKUP_INSTANCE)
        return _status_dict(status) if status and status.runtime_status else None

    async def start_restore(self, job_id: str) -> None:
        await _client.get().start_new("restore_orchestrator", restore_instance_id(job_id), {"job_id": job_id})


_asgi = func.AsgiMiddleware(create_app(DurableOrchestrations(), provider.get))


@bp.route(
    route="v1/{*path}",
    methods=["GET", "POST"],
    auth_level=func.AuthLevel.ANONYMOUS,  # bearer tokens are checked by the app (api/auth.py)
)
@bp.durable_client_input(client_name="client")
async def restore_api(req: func.HttpRequest, context: func.Context, client: df.DurableOrchestrationClient):
    token = _client.set(client)
    try:
        return await _asgi.handle_async(req, context)
    finally:
        _client.reset(token)
