"""Pure planning helpers: no I/O, no clock, no randomness, so orchestrators may call them while being replayed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

RESOURCE_STATUSES = ("succeeded", "partial", "failed", "skipped")  # skipped: nothing to back up (no mailbox)


FIRST_RUN_ID = "00010101T000000000000Z"  # the run id of datetime.min: every run id sorts at or after it
LAST_RUN_ID = "99991231T235959999999Z"  # ... and of datetime.max: every run id sorts at or before it


def new_run_id(when: datetime) -> str:
    """A run id that sorts in time order: `20261122T062100123456Z`, the year always four digits. Pass the
    orchestration's current UTC time. A time whose UTC equivalent is before year 1 or after 9999 (e.g. year 1 at
    +01:00) gives FIRST_RUN_ID or LAST_RUN_ID, so it still compares correctly with every run id."""
    if when.tzinfo is not None:
        try:
            when = when.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # only a time within a day of datetime.min or datetime.max can overflow
            return FIRST_RUN_ID if when.year == 1 else LAST_RUN_ID
    return f"{when.year:04d}" + when.strftime("%m%dT%H%M%S%fZ")


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


RUN_COUNTS = ("resources", *RESOURCE_STATUSES, "items", "bytes", "removed", "failed_items")


def count_results(results: Iterable[dict]) -> dict:
    """The counts of per-resource results (as `backup_resource` returns them): what a backup batch returns, so an
    orchestration's history holds one small dict per batch, never one result per resource."""
    counts = dict.fromkeys(RUN_COUNTS, 0)
    for result in results:
        counts["resources"] += 1
        status = result.get("status", "failed")
        counts[status if status in RESOURCE_STATUSES else "failed"] += 1
        for key in ("items", "bytes", "removed", "failed_items"):
            counts[key] += int(result.get(key, 0) or 0)
    return counts


def add_counts(parts: Iterable[dict]) -> dict:
    """Several batches' (or fan-out nodes') counts summed."""
    totals = dict.fromkeys(RUN_COUNTS, 0)
    for part in parts:
        for key in RUN_COUNTS:
            totals[key] += int(part.get(key, 0) or 0)
    return totals


def summary_of(run_id: str, counts: dict) -> dict:
    """The run summary of these counts: run id, counts, status."""
    summary = {"run_id": run_id, **{key: int(counts.get(key, 0) or 0) for key in RUN_COUNTS}}
    summary["status"] = run_status(summary)
    return summary


def summarize(run_id: str, results: Iterable[dict]) -> dict:
    """Fold per-resource results (as `backup_resource` returns them) into a run summary of counts."""
    return summary_of(run_id, count_results(results))


def plan_fanout(first: int, count: int, width: int) -> list[tuple[int, int]]:
    """The children of a fan-out over batches `first` .. `first + count - 1`: at most `width` ranges
    `(first batch, batches)`; a range of one batch is that batch's sub-orchestration, a longer one a fan-out node
    of its own (which plans its children the same way). Every range but the last spans a power of `width`, so the
    tree is as shallow as it can be and every orchestration in it has at most `width` children: its history stays
    under a fixed bound however many resources the run has."""
    if width < 2:
        raise ValueError("width must be >= 2")
    span = 1
    while -(-count // span) > width:
        span *= width
    return [(start, min(span, first + count - start)) for start in range(first, first + count, span)]


def resources_in(first: int, count: int, total: int, batch_size: int) -> int:
    """How many of a run's `total` resources batches `first` .. `first + count - 1` of `batch_size` hold."""
    return max(0, min(total, (first + count) * batch_size) - first * batch_size)


def with_discovery_errors(summary: dict, errors: dict[str, str]) -> dict:
    """A run in which some workload's discovery failed backed up the others, but is no success: 'partial' ('failed'
    when nothing else was backed up), its error naming each such workload. Pure (the orchestrator calls it)."""
    if not errors:
        return summary
    text = "; ".join(f"{workload} discovery failed: {error}" for workload, error in sorted(errors.items()))
    status = summary["status"]
    if status in ("succeeded", "skipped"):
        status = "partial" if summary["succeeded"] or summary["partial"] else "failed"
    return {**summary, "status": status, "error": text[:1000]}


def run_status(summary: dict) -> str:
    """succeeded when every resource succeeded or had nothing to back up (skipped, with its reason), and at least
    one was backed up; skipped when every resource was skipped (nothing was backed up: not a success); failed when
    every resource that was not skipped failed; else partial. A run of no resources at all succeeded."""
    resources, succeeded, skipped = summary["resources"], summary["succeeded"], summary["skipped"]
    if resources and skipped == resources:
        return "skipped"
    if succeeded + skipped == resources:
        return "succeeded"
    if summary["failed"] + skipped == resources:
        return "failed"
    return "partial"
