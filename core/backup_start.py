"""Starting a backup run, the same way from every starter: the timer and the function-key HTTP starter
(blueprints/backup.py), the API under the Functions host (blueprints/api.py) and the local API
(devenv/local_orchestrations.py). Runs never overlap: there is one orchestration instance, BACKUP_INSTANCE.

    start_backup_unless_running(instance, trigger, resources)
      instance.runtime_status() is Pending or Running ─────────────> False (nothing started)
      instance.start(backup_run_input(trigger, resources)) ────────> True
      start refused, and the instance is now Pending or Running ───> False (a run started in between)
      start refused otherwise ─────────────────────────────────────> the error is raised

The host-specific part is a `BackupInstance`: the Durable client in blueprints/, a thread in devenv/. No I/O here."""

from __future__ import annotations

from typing import Any, Protocol

BACKUP_ORCHESTRATOR = "backup_orchestrator"
BACKUP_INSTANCE = "backup"  # one backup run at a time: every starter uses this instance id
# who started a run, as recorded in the runs table: the timer, the function-key starter, the API (the CLI: 'cli')
TRIGGERS = ("schedule", "http", "api")
ACTIVE_STATUSES = frozenset({"Pending", "Running"})  # Durable runtime statuses of an instance still going


class BackupInstance(Protocol):
    async def runtime_status(self) -> str | None:
        """The BACKUP_INSTANCE's Durable runtime status ('Running', 'Completed', ...), None if it never ran."""
        ...

    async def start(self, run_input: dict[str, Any]) -> None:
        """Start BACKUP_ORCHESTRATOR as BACKUP_INSTANCE with this input; raises if the host refuses."""
        ...


def backup_run_input(trigger: str, resources: list[str] | None = None) -> dict[str, Any]:
    """The backup orchestrator's input: {"trigger": ..., "resources": [...] only when some were asked for}."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown backup trigger {trigger!r}; expected one of {', '.join(TRIGGERS)}")
    run_input: dict[str, Any] = {"trigger": trigger}
    if resources:
        run_input["resources"] = list(resources)
    return run_input


async def start_backup_unless_running(
    instance: BackupInstance, trigger: str, resources: list[str] | None = None
) -> bool:
    """Start a backup run unless one is pending or running. True if this call started it."""
    run_input = backup_run_input(trigger, resources)
    if await instance.runtime_status() in ACTIVE_STATUSES:
        return False
    try:
        await instance.start(run_input)
    except Exception:
        # The host refuses to replace a running instance (overridableExistingInstanceStates = NonRunningStates):
        # a run started between the status check and the start is not an error.
        if await instance.runtime_status() in ACTIVE_STATUSES:
            return False
        raise
    return True
