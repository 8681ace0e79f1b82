"""Composition root: `build_services(settings)` is the one function that builds the services from Settings; every
use case takes the Services it gets. Hosts own a `ServiceProvider`, which builds them lazily on first use (so a
missing setting never breaks function indexing) and which tests replace with `provider.override(services)`.

    Settings ──build_services──> Services ──> core use cases (core.backup, core.restore_job, ...)
    ServiceProvider: get() builds once (from the environment by default), override() swaps in others, close()
      the Functions app and its API: blueprints.services.provider
      the local API server (devenv.api_server): the same provider, since it runs the blueprints' activities
      the CLI (core.cli): build_services(load_settings(), probe_storage=True) directly, once per command: storage
        that cannot be reached fails in seconds (core/storage/reachability.py); hosts keep the SDKs' retries
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.config import Settings, load_settings
from core.graph.auth import TokenProvider
from core.graph.client import GraphClient
from core.keys.from_settings import content_format
from core.lifecycle.dedup_protection import ProtectingContentStore
from core.storage.audit_log import AuditLog
from core.storage.catalog import Catalog
from core.storage.content_store import BlobContentStore
from core.storage.delta_state import DeltaStates, DeltaStateStore
from core.storage.direct_batch import DirectTransaction
from core.storage.direct_put import DirectPut
from core.storage.direct_query import DirectQuery
from core.storage.directory import Directory
from core.storage.erasures import ErasureLog
from core.storage.http_transport import pool_size
from core.storage.immutability import ImmutabilityPolicies, NoImmutability, immutability_for
from core.storage.journal import Journal
from core.storage.legal_holds import LegalHolds
from core.storage.quarantine import QuarantineStore
from core.storage.reachability import probe_blob
from core.storage.restore_jobs import RestoreJobStore
from core.storage.runs import RunStore
from core.storage.tables import container_client, table_clients
from core.telemetry import NO_TELEMETRY, Telemetry, from_environment

if TYPE_CHECKING:
    from azure.data.tables import TableClient
    from azure.storage.blob import ContainerClient


@dataclass
class Services:
    settings: Settings
    graph: GraphClient
    content: BlobContentStore
    delta_state: DeltaStates
    catalog: Catalog
    runs: RunStore
    restore_jobs: RestoreJobStore
    audit: AuditLog
    quarantine: QuarantineStore
    holds: LegalHolds | None = None  # legal holds (core/storage/legal_holds.py), in the runs table
    erasures: ErasureLog | None = None  # erasure records and pending marks (core/storage/erasures.py)
    immutability: ImmutabilityPolicies = field(default_factory=NoImmutability)
    telemetry: Telemetry = NO_TELEMETRY  # events and metrics for Application Insights, when set (core/telemetry.py)
    directory: Directory | None = None  # what each discovered resource is called (core/storage/directory.py)

    def close(self) -> None:
        self.graph.close()


def direct_puts(settings: Settings, container: ContainerClient) -> DirectPut | None:
    """Small content written without the SDK's pipeline (core/storage/direct_put.py), unless turned off."""
    return DirectPut.for_container(container, pool_size(settings)) if settings.storage_direct_writes else None


def direct_transactions(settings: Settings, table: TableClient) -> DirectTransaction | None:
    """Transactions into `table` without the SDK's pipeline (core/storage/direct_batch.py), unless turned off."""
    return DirectTransaction.for_table(table, pool_size(settings)) if settings.storage_direct_writes else None


def direct_queries(settings: Settings, table: TableClient) -> DirectQuery | None:
    """Queries of `table` without the SDK's pipeline (core/storage/direct_query.py), unless turned off."""
    return DirectQuery.for_table(table, pool_size(settings)) if settings.storage_direct_writes else None


def direct_table(settings: Settings, table: TableClient) -> tuple[DirectTransaction | None, DirectQuery | None]:
    """A store's direct paths into `table`: its transactions and its queries."""
    return direct_transactions(settings, table), direct_queries(settings, table)


def build_services(settings: Settings, probe_storage: bool = False) -> Services:
    """The services for `settings`. With `probe_storage` (the CLI), the blob and table endpoints are each asked
    once, quickly, before any other storage request: an unreachable account raises its `ServiceRequestError` in
    seconds instead of after the SDKs' retries (core/storage/reachability.py)."""
    container = container_client(settings)
    if probe_storage:
        probe_blob(container)
    tables = table_clients(settings, probe=probe_storage)  # probed before any other table request
    direct = direct_puts(settings, container)
    content = BlobContentStore(container, content_format(settings, container), direct)
    content.ensure_container()
    immutability = immutability_for(settings, container)  # the backup identity's: it sets policies, never deletes
    journal = Journal(container, direct)  # the catalog, runs, points and audit, kept write-once beside the content
    return Services(
        settings=settings,
        graph=GraphClient(settings, TokenProvider(settings)),
        content=ProtectingContentStore(content, immutability, settings.immutability_days),  # dedup keeps old blobs
        delta_state=DeltaStateStore(tables["deltastate"], *direct_table(settings, tables["deltastate"])),
        catalog=Catalog(tables["catalog"], journal, *direct_table(settings, tables["catalog"])),
        runs=RunStore(
            tables["runs"], tables["restorepoints"], journal, direct_table(settings, tables["restorepoints"])
        ),
        restore_jobs=RestoreJobStore(tables["restorejobs"]),
        audit=AuditLog(tables["audit"], journal),
        quarantine=QuarantineStore(tables["quarantine"], direct_queries(settings, tables["quarantine"])),
        holds=LegalHolds(tables["runs"], journal),
        erasures=ErasureLog(tables["runs"], journal),
        immutability=immutability,
        telemetry=from_environment(),  # Azure Monitor once per process, when APPLICATIONINSIGHTS_* are set
        directory=Directory(tables["runs"], journal),
    )


def services_from_environment() -> Services:
    """What a host builds when nothing overrides it: the services for the settings in os.environ."""
    return build_services(load_settings())


class ServiceProvider:
    """A host's services, built by `build` on first use (once, however many activities of a fresh worker ask at
    the same time). Pass the provider itself (or `provider.get`) where a `Callable[[], Services]` is expected."""

    def __init__(self, build: Callable[[], Services] = services_from_environment) -> None:
        self._build = build
        self._built: Services | None = None
        self._override: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        with self._lock:
            if self._override is not None:
                return self._override
            if self._built is None:
                self._built = self._build()
            return self._built

    __call__ = get

    @contextmanager
    def override(self, services: Services) -> Iterator[Services]:
        """Serve `services` instead until the block ends, then what was served before (overrides nest). The
        caller owns `services`: they are not closed here. The seam tests use instead of a process-wide global."""
        with self._lock:
            previous, self._override = self._override, services
        try:
            yield services
        finally:
            with self._lock:
                self._override = previous

    def close(self) -> None:
        """Close the services this provider built; the next `get()` builds new ones."""
        with self._lock:
            built, self._built = self._built, None
        if built is not None:
            built.close()
