"""Backup use cases, called alike by the Durable activities, the local CLI runner and the tests."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.errors import InvalidRequestError, StorageError
from core.models import BackupReport, ResourceKey
from core.planning import failed_result
from core.workloads import handler_for

if TYPE_CHECKING:
    from core.bootstrap import Services

log = logging.getLogger(__name__)


def start_run(services: Services, run_id: str, trigger: str) -> None:
    """Record that run `run_id` started (trigger: 'schedule', 'http', 'cli')."""
    services.runs.start(run_id, trigger)


def discover_resources(services: Services) -> list[str]:
    """Resource keys ('exchange:<user id>', ...) of every resource the configured workloads back up."""
    keys: list[str] = []
    for workload in services.settings.workloads:
        handler = handler_for(workload)
        keys.extend(f"{handler.name}:{owner}" for owner in handler.discover(services))
    return keys


def backup_resource(services: Services, run_id: str, resource_key: str) -> dict:
    """Back up one resource and record its restore point; returns its result dict (resource, status, items,
    bytes, removed, failed_items, error). A failure of the resource is returned with status 'failed', never
    raised, so it cannot fail its siblings. Only a failure to record the outcome raises (StorageError): the
    backup is idempotent, so the caller's retry (the activity's retry options) is the right answer to it."""
    try:
        key = ResourceKey.parse(resource_key)
        handler = handler_for(key.workload)
    except (ValueError, InvalidRequestError) as exc:
        return failed_result(resource_key, str(exc))
    report = BackupReport(resource_key)
    try:
        handler.backup(services, run_id, key.owner, report)
    except Exception as exc:  # the whole resource failed; recorded, and the run goes on
        log.exception("backup of %s failed", resource_key)
        report.fatal = f"{type(exc).__name__}: {exc}"[:1000]
    result = report.result()
    try:
        services.runs.record_point(run_id, result, report.failures)
    except Exception as exc:
        raise StorageError(f"restore point of {resource_key} not recorded: {exc}") from exc
    return result


def finish_run(services: Services, run_id: str, summary: dict) -> dict:
    """Record the run summary (see core.planning.summarize) and return it."""
    services.runs.finish(run_id, summary)
    return summary
