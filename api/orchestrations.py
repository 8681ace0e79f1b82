"""The port through which the API starts Durable orchestrations. In Azure it is the Durable client the Functions
host binds (blueprints/api.py); locally it is devenv/local_orchestrations.py, which runs the same orchestrator
functions by replay in background threads."""

from __future__ import annotations

from typing import Any, Protocol

from core.backup_start import BACKUP_INSTANCE  # one backup run at a time: every starter shares the instance

__all__ = ["BACKUP_INSTANCE", "Orchestrations", "restore_instance_id"]


def restore_instance_id(job_id: str) -> str:
    return f"restore-{job_id}"


class Orchestrations(Protocol):
    async def start_backup(self, resources: list[str] | None) -> None:
        """Start a backup run of every resource (None) or of these. AlreadyRunningError if one is going."""
        ...

    async def backup_status(self) -> dict[str, Any] | None:
        """{instanceId, runtimeStatus, createdTime, lastUpdatedTime, customStatus, output}, or None if none ran."""
        ...

    async def start_restore(self, job_id: str) -> None:
        """Start the restore orchestration of a recorded job (instance `restore_instance_id(job_id)`)."""
        ...
