"""Composition root: builds the services from Settings. The Functions app calls `get_services()` lazily on first
use, so a missing setting never breaks function indexing."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core.config import Settings, load_settings
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from core.storage.audit_log import AuditLog
from core.storage.catalog import Catalog
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaStateStore
from core.storage.quarantine import QuarantineStore
from core.storage.restore_jobs import RestoreJobStore
from core.storage.runs import RunStore
from core.storage.tables import container_client, table_clients


@dataclass
class Services:
    settings: Settings
    graph: GraphClient
    content: BlobContentStore
    delta_state: DeltaStateStore
    catalog: Catalog
    runs: RunStore
    restore_jobs: RestoreJobStore
    audit: AuditLog
    quarantine: QuarantineStore

    def close(self) -> None:
        self.graph.close()


def build_services(settings: Settings) -> Services:
    content = BlobContentStore(container_client(settings))
    content.ensure_container()
    tables = table_clients(settings)
    return Services(
        settings=settings,
        graph=GraphClient(settings, TokenProvider(settings)),
        content=content,
        delta_state=DeltaStateStore(tables["deltastate"]),
        catalog=Catalog(tables["catalog"]),
        runs=RunStore(tables["runs"], tables["restorepoints"]),
        restore_jobs=RestoreJobStore(tables["restorejobs"]),
        audit=AuditLog(tables["audit"]),
        quarantine=QuarantineStore(tables["quarantine"]),
    )


_services: Services | None = None
_lock = threading.Lock()


def get_services() -> Services:
    """The process-wide services, built from the environment on first use (once, however many activities of
    a fresh worker ask at the same time)."""
    global _services
    with _lock:
        if _services is None:
            _services = build_services(load_settings())
        return _services
