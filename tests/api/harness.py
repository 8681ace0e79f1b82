"""An API under test: a simulated tenant with one backup made, core's services built from its settings as in
Azure, and the restore API served by uvicorn on 127.0.0.1 with the real orchestrators run locally."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devenv.api_server import ApiServer
from tests.integration.tenant import Tenant, host_services, open_tenant

AUDIENCE = "api://m365-backup-api"
ADMIN, OPERATOR = "Backup.Admin", "Restore.Operator"


@dataclass
class Api:
    tenant: Tenant
    server: ApiServer

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, oid: str, roles: tuple[str, ...] = (), name: str = "", **options: Any) -> str:
        return self.tenant.sim.control.api_token(
            oid=oid, name=name or f"{oid}@contoso.test", roles=list(roles), audience=AUDIENCE, **options
        )

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def admin(self) -> httpx.Client:
        return self.client(self.token("00000000-0000-0000-0000-0000000000ad", (ADMIN,), "admin@contoso.test"))

    def operator(self) -> httpx.Client:
        return self.client(self.token("00000000-0000-0000-0000-00000000000b", (OPERATOR,), "helpdesk@contoso.test"))

    def user(self, user_id: str) -> httpx.Client:
        """A signed-in user without app roles (self-service)."""
        return self.client(self.token(user_id))

    def wait_for_restore(self, client: httpx.Client, status_url: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = client.get(status_url).raise_for_status().json()
            if body["status"] not in ("accepted", "running"):
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"restore still {body['status']} after {timeout} s: {body}")
            time.sleep(0.1)

    def audit(self) -> list[dict[str, Any]]:
        return self.tenant.services.audit.list(1000)[0]

    def writes(self) -> int:
        """Graph requests that could have changed the tenant so far."""
        return int(self.tenant.sim.control.stats()["writes"])


@contextmanager
def serve_api(state_dir: Path, storage_env: dict[str, str], **sim_options: Any) -> Iterator[Api]:
    """The tenant backed up once (mail, contacts, calendars, OneDrive), and the API serving it."""
    settings = {"API_AUDIENCE": f"{AUDIENCE},00000000-0000-0000-0000-00000000a11d", "BACKUP_WORKLOADS":
                "exchange,onedrive"}  # fmt: skip
    options = {"users": 3, "messages": 12, "seed": 7, "contacts": 2, "events": 2, "drive_files": 6, **sim_options}
    tenant = open_tenant(state_dir, storage_env, settings, **options)
    try:
        with host_services(tenant):  # the activities and the API are served its services
            report = tenant.backup()
            assert report["status"] == "succeeded", report
            with ApiServer() as server:
                yield Api(tenant, server)
    finally:
        tenant.close()
