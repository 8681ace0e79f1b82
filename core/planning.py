"""Pure planning helpers: no I/O, no clock, no randomness, so orchestrators may call them while being replayed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

RESOURCE_STATUSES = ("succeeded", "partial", "failed", "skipped")  # skipped: nothing to back up (no mailbox)


def new_run_id(when: datetime) -> str:
    """A run id that sorts in time order: `20261122T062100123456Z`. Pass the orchestration's current UTC time."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y%m%dT%H%M%S%fZ")


def run_time(run_id: str) -> datetime:
    """The UTC time a run id was made from."""
    return datetime.strptime(run_id, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)


def plan_batches(resource_keys: Sequence[str], batch_size: int) -> list[list[str]]:
    """Split resources into batches of at most `batch_size`, keeping order; one sub-orchestration per batch
    keeps each orchestration's history bounded however many resources the tenant has."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return [list(resource_keys[i : i + batch_size]) for i in range(0, len(resource_keys), batch_size)]


def failed_result(resource_key: str, error: str) -> dict:
    """The result recorded for a resource whose activity failed outright (after its retries)."""
    return {
        "resource": resource_key,
        "status": "failed",
        "items": 0,
        "bytes": 0,
        "removed": 0,
        "failed_items": 0,
        "error": error,
    }


def summarize(run_id: str, results: Iterable[dict]) -> dict:
    """Fold per-resource results (as `backup_resource` returns them) into a run summary of counts."""
    summary = {
        "run_id": run_id,
        "resources": 0,
        "succeeded": 0,
        "partial": 0,
        "failed": 0,
        "skipped": 0,
        "items": 0,
        "bytes": 0,
        "removed": 0,
        "failed_items": 0,
    }
    for result in results:
        summary["resources"] += 1
        status = result.get("status", "failed")
        summary[status if status in RESOURCE_STATUSES else "failed"] += 1
        for key in ("items", "bytes", "removed", "failed_items"):
            summary[key] += int(result.get(key, 0) or 0)
    summary["status"] = run_status(summary)
    return summary


def run_status(summary: dict) -> str:
    """succeeded when every resource succeeded (or had nothing to back up); failed when none did; else partial."""
    if summary["succeeded"] + summary["skipped"] == summary["resources"]:
        return "succeeded"
    if summary["failed"] == summary["resources"]:
        return "failed"
    return "partial"
