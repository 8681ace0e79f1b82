"""A simulated tenant wired to real storage: the simulator process on loopback HTTPS, Azurite, and core's
services built from settings exactly as the CLI and the Functions app build them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from blueprints.services import provider
from core.bootstrap import Services, build_services
from core.config import load_settings
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from core.graph.policy import GraphPolicy
from core.graph.retry import RetryPolicy
from core.runner import run_backup
from core.storage.content_store import CONTENT_PREFIXES
from devenv.azurite import Azurite
from graphsim.process import SimulatorProcess, start_simulator
from tests.conftest import isolated_storage


@dataclass
class Tenant:
    sim: SimulatorProcess
    env: dict[str, str]
    services: Services
    sleeps: list[float]

    def backup(self, **kwargs: Any) -> dict:
        return run_backup(self.services, **kwargs)

    def mailboxes(self) -> list[dict]:
        return self.sim.control.mailbox_users()

    def user(self, n: int) -> dict:
        return self.mailboxes()[n]

    def live_messages(self, user_id: str) -> dict[str, tuple[str, str]]:
        """id -> (folder id, MIME sha256) in the simulated mailbox now."""
        user = next(u for u in self.sim.control.state()["users"] if u["id"] == user_id)
        return {m["id"]: (m["folder_id"], m["sha256"]) for m in user["messages"]}

    def catalog_messages(self, user_id: str, run_id: str) -> dict[str, tuple[str, str]]:
        """id -> (folder id, content sha256) in the backup as of `run_id`."""
        versions = self.services.catalog.as_of(f"exchange:{user_id}", "mail", run_id)
        return {v.item_id: (v.folder_id, v.content_hash) for v in versions}

    def blob_count(self) -> int:
        """Content blobs of every format (plain, compressed, keyed; not the journal's or the keys' blobs)."""
        container = self.services.content._container
        return sum(1 for prefix in CONTENT_PREFIXES for _ in container.list_blobs(name_starts_with=prefix))

    def close(self) -> None:
        self.services.close()
        self.sim.stop()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_tenant(
    state_dir: Path,
    storage_env: dict[str, str],
    settings: dict[str, str] | None = None,
    policy: RetryPolicy | None = None,
    **sim_options: Any,
) -> Tenant:
    sim = start_simulator(state_dir, **sim_options)
    env = {**sim.graph_env(), **storage_env, "GRAPH_PAGE_SIZE": "7", **(settings or {})}  # small pages
    settings = load_settings(env)
    if "BACKUP_LOCAL_PROCESSES" not in env:  # in-process backups in threads, so the recording sleep sees every
        settings = replace(settings, local_processes=1)  # retry; the CLI (tenant.env) keeps the machine's default
    services = build_services(settings)
    sleeps: list[float] = []
    recording_sleep: Callable[[float], None] = lambda seconds: (sleeps.append(seconds), _sleep(seconds))  # noqa: E731
    services.graph.close()
    changes: dict[str, Any] = {"sleep": recording_sleep} | ({"retry": policy} if policy else {})
    graph_policy = GraphPolicy.from_settings(settings, **changes)
    services.graph = GraphClient(settings, TokenProvider(settings), policy=graph_policy)
    return Tenant(sim, env, services, sleeps)


@contextmanager
def surface_tenant(state_dir: Path, storage_env: dict[str, str], **sim_options: Any) -> Iterator[Tenant]:
    """A small tenant for one simulator surface's tests, closed on exit: one message, one drive file, one site and
    no contacts or events unless `sim_options` say otherwise."""
    options = {"messages": 1, "contacts": 0, "events": 0, "drive_files": 1, "sites": 1} | sim_options
    tenant = open_tenant(state_dir, storage_env, **options)
    try:
        yield tenant
    finally:
        tenant.close()


def surface_tenant_fixture(name: str, **sim_options: Any) -> Any:
    """A module-scoped `tenant` fixture for one simulator surface's tests (`tenant = surface_tenant_fixture(...)` in
    the test module): a surface_tenant on isolated Azurite storage, its state under a temporary folder `name`."""

    @pytest.fixture(scope="module", name="tenant")
    def tenant(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Tenant]:
        with surface_tenant(tmp_path_factory.mktemp(name) / "sim", isolated_storage(azurite), **sim_options) as t:
            yield t

    return tenant


@contextmanager
def host_services(tenant: Tenant) -> Iterator[Services]:
    """The host layer's services (blueprints.services.provider: the activities, the API) built for this tenant
    from its settings, as the Functions app builds them from its app settings, through the provider's documented
    seam (`provider.override`). On exit they are closed and the provider serves what it served before. No
    monkeypatch and no os.environ: a module-scoped fixture can use it."""
    services = build_services(load_settings(tenant.env))
    try:
        with provider.override(services):
            yield services
    finally:
        services.close()


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)
