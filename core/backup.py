"""Backup use cases, called alike by the Durable activities, the local CLI runner and the tests."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from core.errors import GraphNotFound, InvalidRequestError, StorageError
from core.models import BackupReport, ResourceKey
from core.planning import failed_result
from core.signals.assessment import assess_point, learn
from core.storage.delta_state import ResourceDeltaStates
from core.storage.directory import DirectoryEntry
from core.workloads import registry
from core.workloads.registry import handler_for

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.run_owner import RunOwner

log = logging.getLogger(__name__)


def start_run(services: Services, run_id: str, trigger: str, owner: RunOwner | None = None) -> None:
    """Record that run `run_id` started (trigger: 'schedule', 'http', 'cli'); a local run names its owner process
    (core/run_owner.py)."""
    services.runs.start(run_id, trigger, owner)
    services.telemetry.run_started(run_id, trigger)


def discover_resources(services: Services, errors: dict[str, str] | None = None) -> list[str]:
    """Resource keys ('exchange:<user id>', ...) of every resource the configured workloads back up. A workload
    whose discovery fails does not keep the others from being backed up: its error goes into `errors` (workload ->
    one line), and the run says so (core.planning.with_discovery_errors). Raises only when every workload failed."""
    keys: list[str] = []
    found: list[DirectoryEntry] = []
    failed: dict[str, str] = {}
    last: Exception | None = None
    for workload in services.settings.workloads:
        handler = handler_for(workload)
        try:
            entries = handler.discover_named(services)
            found.extend(entries)
            keys.extend(e.resource for e in entries if e.included)
        except Exception as exc:  # this workload's resources are unknown this run; the others go on
            failed[workload], last = f"{type(exc).__name__}: {exc}"[:1000], exc
            log.warning("discovery of %s failed: %s", workload, failed[workload])
    if last is not None and len(failed) == len(services.settings.workloads):
        raise last
    if services.directory is not None:  # the names, and what the selectors leave out (the protection report)
        try:
            services.directory.record(found)
        except Exception as exc:  # names are for listings: a failure to keep them never stops a backup
            log.warning("discovered names not recorded: %s", exc)
    if errors is not None:
        errors.update(failed)
    return keys


def store_resource_list(services: Services, run_id: str, resources: list[str]) -> dict:
    """Keep the run's resources in storage (core/storage/run_resources.py), in batches of BACKUP_BATCH_SIZE, and
    return the reference a Durable run passes on instead of the list: {"list", "resources", "batches",
    "batch_size", "fanout_width"}."""
    batch_size = services.settings.batch_size
    list_id, batches = services.runs.resource_lists.store(run_id, resources, batch_size)
    return {"list": list_id, "resources": len(resources), "batches": batches, "batch_size": batch_size,
            "fanout_width": services.settings.fanout_width}  # fmt: skip


def batch_resources(services: Services, run_id: str, list_id: str, batch: int) -> list[str]:
    """The resource keys of one batch of a stored run list."""
    return services.runs.resource_lists.batch(run_id, list_id, batch)


def forget_resource_lists(services: Services, run_id: str) -> None:
    """Remove the run's stored resource lists once it has finished; a failure only leaves a few rows behind."""
    try:
        services.runs.resource_lists.forget(run_id)
    except Exception as exc:  # the run is recorded; the rows are harmless
        log.warning("resource lists of run %s not removed: %s", run_id, exc)


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
    watch = services.telemetry.watch(services.graph)  # duration and throttling, for the resource's event
    report = BackupReport(resource_key, recent_kind=lambda since: services.runs.recent_kind(resource_key, since))
    states = ResourceDeltaStates(services.delta_state, resource_key)  # read once, links saved together
    try:
        with services.catalog.shared.sharing(resource_key):  # one read of its live rows for the indexes it opens
            handler.backup(replace(services, delta_state=states), run_id, key.owner, report)
    except Exception as exc:  # the whole resource failed; recorded, and the run goes on
        log.exception("backup of %s failed", resource_key)
        report.fatal = f"{type(exc).__name__}: {exc}"[:1000]
        if isinstance(exc, GraphNotFound):
            confirm_owner(services, key, report)
    except BaseException:  # interrupted (Ctrl-C, a stop): the rounds it finished are kept all the same
        _save_links(states, resource_key, report)
        raise
    _save_links(states, resource_key, report)
    if report.skipped_reason and not report.fatal:
        confirm_owner(services, key, report)
    result = report.result()
    try:
        signal = assess_point(services, run_id, result, report.signals)  # the ransomware signal (core/signals/)
        services.runs.record_point(run_id, result, report.failures, report.notes, signal)
        learn(services, run_id, resource_key, signal)
    except Exception as exc:
        raise StorageError(f"restore point of {resource_key} not recorded: {exc}") from exc
    if signal is not None and signal.suspicious:
        result["suspicious"] = True
    services.telemetry.resource_finished(run_id, result, watch, services.graph)
    return result


def _save_links(states: ResourceDeltaStates, resource_key: str, report: BackupReport) -> None:
    """The delta links of the rounds the backup finished, whether it succeeded or not (core/storage/delta_state.py
    holds them to save them together)."""
    try:
        states.flush()
    except Exception as exc:  # their content is stored: the next run goes through those rounds again
        log.warning("delta links of %s not saved: %s", resource_key, exc)
        report.fail("delta links", exc)


def confirm_owner(services: Services, key: ResourceKey, report: BackupReport) -> None:
    """A resource skipped as having nothing to back up (no mailbox, no OneDrive), or failed with a 404, whose owner
    is not in the tenant at all is failed with that reason: a user or site that is gone (or was mistyped) is never
    'nothing to back up'. Graph answers both with similar 404s, so the owner (its workload's owner_path) is read
    to tell them apart."""
    declared = registry.workload(key.workload)
    what = declared.owner_noun
    try:
        services.graph.get_json(declared.graph_path(declared.owner_path, key.owner), params={"$select": "id"})
    except GraphNotFound as exc:
        reason = report.fatal or report.skipped_reason
        report.fatal = f"{what} {key.owner!r} is not in the tenant ({exc.code or exc.status}): {reason}"[:1000]
    except Exception as exc:  # the read itself failed: keep what the backup found, and say it was not confirmed
        log.warning("could not confirm that %s %s exists: %s", what, key.owner, exc)


def finish_run(services: Services, run_id: str, summary: dict) -> dict:
    """Record the run summary (see core.planning.summarize) and return it."""
    services.runs.finish(run_id, summary)
    services.telemetry.run_finished(summary)
    return summary


def end_run_early(services: Services, run_id: str, status: str, error: str, summary: dict) -> None:
    """A run that cannot finish ('interrupted' by Ctrl-C, or 'failed'): recorded with the counts of what it did
    finish, and sent as a run.finished event like any other end, so an alert on unfinished runs sees it too."""
    if services.runs.interrupt(run_id, status, error, summary):
        services.telemetry.run_finished({**summary, "status": status, "error": error})
