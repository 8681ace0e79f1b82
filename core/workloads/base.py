"""The one protocol every workload implements, so the engine, the orchestrator and the CLI treat a mailbox, a
OneDrive or a site alike: discover resources, back one up, restore from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.restore_request import RestoreReport, RestoreRequest


class WorkloadHandler(Protocol):
    name: str  # the workload part of resource keys: 'exchange'

    def discover(self, services: Services) -> list[str]:
        """Owner ids (e.g. user ids) of every resource of this workload in the tenant."""
        ...

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        """Back up one resource into the stores, recording counts and per-item failures in `report`. Raise only
        for a failure of the whole resource (it is then recorded as failed; its siblings go on)."""
        ...

    def restore(self, services: Services, request: RestoreRequest) -> RestoreReport:
        """Restore what the (validated) request selects."""
        ...
