"""The API's orchestration port for local runs (demo, tests): the real orchestrator functions of blueprints/, run by
devenv.durable_local in background threads, one backup at a time like the fixed "backup" instance in Azure. A
backup starts through core.backup_start, as every starter in Azure does, with the same run input ('api')."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from api.orchestrations import restore_instance_id
from core.backup_start import BACKUP_INSTANCE, BACKUP_ORCHESTRATOR, start_backup_unless_running
from core.errors import AlreadyRunningError
from devenv.durable_local import LocalResult, run_orchestration

log = logging.getLogger(__name__)


class LocalOrchestrations:
    def __init__(
        self, max_parallel: int = 4, retry_delay_scale: float = 0.01, restore_part_size: int | None = None
    ) -> None:
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="orchestration")
        self._lock = threading.Lock()
        self._backup: Future[LocalResult] | None = None
        self._backup_started = ""
        self._restores: dict[str, Future[LocalResult]] = {}
        self.max_parallel, self.retry_delay_scale = max_parallel, retry_delay_scale
        self.restore_part_size = restore_part_size  # items per restore part (None: the planner's default; benches)

    def _run(self, name: str, payload: dict[str, Any], instance_id: str) -> LocalResult:
        result = run_orchestration(
            name, payload, max_parallel=self.max_parallel, instance_id=instance_id,
            retry_delay_scale=self.retry_delay_scale,
        )  # fmt: skip
        if result.runtime_status != "Completed":
            log.error("orchestration %s failed: %s", instance_id, result.error)
        return result

    async def start_backup(self, resources: list[str] | None) -> None:
        if not await start_backup_unless_running(_LocalBackupInstance(self), "api", resources):
            raise AlreadyRunningError("a backup run is already pending or running; poll /api/v1/backups/current")

    def _start_backup(self, run_input: dict[str, Any]) -> None:
        with self._lock:  # checked again under the lock: the host refuses to replace a running instance too
            if self._backup is not None and not self._backup.done():
                raise AlreadyRunningError(f"instance {BACKUP_INSTANCE!r} is already running")
            self._backup_started = datetime.now(UTC).isoformat()
            self._backup = self._pool.submit(self._run, BACKUP_ORCHESTRATOR, run_input, BACKUP_INSTANCE)

    async def backup_status(self) -> dict[str, Any] | None:
        with self._lock:
            future = self._backup
        if future is None:
            return None
        status: dict[str, Any] = {"instanceId": BACKUP_INSTANCE, "createdTime": self._backup_started}
        if not future.done():
            return {**status, "runtimeStatus": "Running", "customStatus": None, "output": None}
        result = future.result()
        return {**status, "runtimeStatus": result.runtime_status, "customStatus": result.custom_status,
                "output": result.output}  # fmt: skip

    async def start_restore(self, job_id: str) -> None:
        instance = restore_instance_id(job_id)
        payload: dict[str, Any] = {"job_id": job_id}
        if self.restore_part_size:
            payload["part_size"] = self.restore_part_size
        with self._lock:
            self._restores[job_id] = self._pool.submit(self._run, "restore_orchestrator", payload, instance)

    def wait_idle(self, timeout: float = 300) -> None:
        """Block until every orchestration started so far has ended (tests, demo)."""
        with self._lock:
            futures = [f for f in (self._backup, *self._restores.values()) if f is not None]
        _, pending = wait(futures, timeout=timeout)
        if pending:
            raise TimeoutError(f"{len(pending)} orchestrations still running after {timeout} s")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


class _LocalBackupInstance:
    """The local backup 'instance' (a core.backup_start.BackupInstance): the thread running it, if any."""

    def __init__(self, orchestrations: LocalOrchestrations) -> None:
        self._orchestrations = orchestrations

    async def runtime_status(self) -> str | None:
        status = await self._orchestrations.backup_status()
        return status["runtimeStatus"] if status else None

    async def start(self, run_input: dict[str, Any]) -> None:
        self._orchestrations._start_backup(run_input)
