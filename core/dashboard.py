"""The dashboard's figures: recent runs, per-resource health, storage used and saved by deduplication, recent
restores; one JSON-ready dict, read in a few queries and bounded scans (see `dashboard_data`).

What each figure means, and what it costs at 10,000 resources:

- **runs**: the last N run entities (one partition of `{prefix}runs`; small). A run's `items` are the item versions
  it captured (new or changed), its `bytes` the content it newly wrote (deduplicated content excluded).
- **resources**: one cross-partition query of `{prefix}restorepoints` for the points of the last `lookback` runs,
  with a narrow projection: at most lookback x resources rows (70,000 at the defaults). Azure Tables scans the whole
  table server-side for it, as `RunStore.resources()` does. A resource's `items` and `bytes` are those of its
  latest usable (succeeded or partial) point: what that backup captured and newly wrote, not the resource's total
  size. The total would be a sum over the resource's catalog partition, every item it holds: a scan of the whole
  catalog for the table, so it is not offered here. A resource with no point in the lookback is not listed; one
  with no usable point in it has no last good backup (an alarm worth showing).
- **storage**: stored, referenced and logical bytes and the dedup savings, as the content store counts them
  (core/storage_usage.py): logical counts every blob each version references (attachments, photos, export
  streams too) at its stored size, so the savings are never negative. Both scans stop after `scan_limit` rows; a
  stopped scan is reported `complete: false`, its figure is a lower bound and the savings ratio is None.
- **protection**: the protection report (core/report.py): every discovered or backed-up resource by name, its
  state against BACKUP_RPO_HOURS; one more scan of every restore point (narrow columns) and one directory query.
- **restores**: the last `restores` jobs (one query of job entities) and their parts' counts (one more query).
- **quarantine**: the items held in quarantine now (content a backup could not capture yet, retried by id on every
  run; core/storage/quarantine.py): one query of `{prefix}quarantine` for the rows not released, at most
  `scan_limit` read. `total` counts them, `items` lists the oldest `quarantine_rows`, and each resource row carries
  its `quarantined` count.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.data.tables import TableClient

from core.report import protection_report
from core.resource_names import directory_of, named
from core.storage.restore_jobs import COUNTS as RESTORE_COUNTS
from core.storage.restore_jobs import JOB
from core.storage.runs import USABLE
from core.storage.tables import container_client, table_clients
from core.storage_usage import storage_usage

if TYPE_CHECKING:
    from core.bootstrap import Services

DEFAULT_RUNS = 30
DEFAULT_LOOKBACK = 7
DEFAULT_SCAN_LIMIT = 50_000
DEFAULT_RESTORES = 10
DEFAULT_QUARANTINE_ROWS = 100
_HELD_FIELDS = ["resource", "category", "item_id", "container_id", "error", "first_run", "last_run", "attempts"]
_POINT_FIELDS = ["resource", "RowKey", "status", "items", "bytes", "failed_items", "error", "kind", "finished_at",
                 "suspicious", "suspicious_reasons"]  # fmt: skip


def dashboard_data(
    services: Services,
    runs: int = DEFAULT_RUNS,
    *,
    lookback: int = DEFAULT_LOOKBACK,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    restores: int = DEFAULT_RESTORES,
    quarantine_rows: int = DEFAULT_QUARANTINE_ROWS,
) -> dict[str, Any]:
    """Everything the dashboard shows, JSON-ready: `runs` (oldest to newest of the last `runs`), `resources`
    (problems first), `storage`, `restores` (newest first), `quarantine` and `generated_at`; see the module
    docstring for what each figure means and costs. Tables and the container are read through clients built from
    the settings."""
    tables = table_clients(services.settings, create=False)
    recent = list(reversed(services.runs.list(limit=max(runs, lookback, 1))))
    charted = recent[-runs:] if runs > 0 else []
    window = recent[-lookback:] if lookback > 0 else []
    held = quarantine_summary(tables["quarantine"], scan_limit, quarantine_rows)
    resources = _resources(tables["restorepoints"], window[0]["run_id"]) if window else []
    holds = services.holds.all() if services.holds is not None else {}  # legal holds: one query
    names = directory_of(services)  # every resource's names: one query
    for row in resources:
        row.update(named(names.get(row["resource"]), row["resource"]))  # 'Adele Vance <adele@…>', else the key
        row["quarantined"] = held["by_resource"].get(row["resource"], 0)
        row["hold"] = holds.get(row["resource"])
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "runs": [_run_row(run) for run in charted],
        "lookback": {"runs": len(window), "since_run": window[0]["run_id"] if window else None},
        "resources": resources,
        "storage": storage_usage(services.content, container_client(services.settings), tables["catalog"], scan_limit),
        "restores": _restores(services, tables["restorejobs"], restores),
        "quarantine": held,
        "verification": _last_verification(services),
        "protection": protection_report(services),  # every resource against the RPO (core/report.py)
    }


def _last_verification(services: Services) -> dict[str, Any] | None:
    """The latest content verification's counts (core/verify.py), without its problem list; None if none ran."""
    latest = services.runs.verifications.latest(1)
    return {k: v for k, v in latest[0].items() if k != "problems"} if latest else None


# -- quarantine ------------------------------------------------------------------------------------------------
def quarantine_summary(table: TableClient, scan_limit: int, rows: int) -> dict[str, Any]:
    """The items held now: `total`, `by_resource` counts, the oldest `rows` of them as `items`, and `complete`
    (False when the scan stopped at `scan_limit`: the figures are lower bounds)."""
    held: list[dict[str, Any]] = []
    complete = True
    for entity in table.query_entities("released_run eq ''", select=_HELD_FIELDS, results_per_page=1000):
        if len(held) >= scan_limit:
            complete = False
            break
        held.append({k: entity.get(k) for k in _HELD_FIELDS})
    by_resource: dict[str, int] = {}
    for item in held:
        by_resource[str(item["resource"])] = by_resource.get(str(item["resource"]), 0) + 1
    oldest = sorted(held, key=lambda i: (str(i["first_run"]), str(i["resource"]), str(i["item_id"])))[:rows]
    return {"total": len(held), "by_resource": by_resource, "items": oldest, "complete": complete}


# -- runs ------------------------------------------------------------------------------------------------------
def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["run_id"],
        "status": run["status"],
        "trigger": run["trigger"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "duration_seconds": seconds_between(run["started_at"], run["finished_at"]),
        "resources": run["resources"],
        "succeeded": run["succeeded"],
        "partial": run["partial"],
        "failed": run["failed"],
        "skipped": run["skipped"],
        "items": run["items"],
        "bytes": run["bytes"],
        "removed": run["removed"],
        "failed_items": run["failed_items"],
        "error": run["error"],
    }


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one ISO time to another; None when either is missing (a run still going) or unreadable."""
    try:
        return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


# -- resources -------------------------------------------------------------------------------------------------
_STATUS_ORDER = {"failed": 0, "partial": 1, "running": 2, "succeeded": 3, "skipped": 4}


def _resources(points: TableClient, since_run: str) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    good: dict[str, dict[str, Any]] = {}
    clean: dict[str, str] = {}
    entities = points.query_entities("RowKey ge @since", parameters={"since": since_run}, select=_POINT_FIELDS)
    for entity in entities:
        resource = str(entity.get("resource") or "")
        if not resource:
            continue
        if resource not in latest or entity["RowKey"] > latest[resource]["RowKey"]:
            latest[resource] = entity
        if entity.get("status") in USABLE and (resource not in good or entity["RowKey"] > good[resource]["RowKey"]):
            good[resource] = entity
        usable_clean = entity.get("status") in USABLE and not entity.get("suspicious")
        if usable_clean and entity["RowKey"] > clean.get(resource, ""):
            clean[resource] = entity["RowKey"]  # the last clean point (core/signals/clean_point.py), in the window
    rows = [_resource_row(resource, latest[resource], good.get(resource)) for resource in latest]
    for row in rows:
        row["last_clean_run_id"] = clean.get(row["resource"])
    return sorted(rows, key=lambda r: (_STATUS_ORDER.get(r["status"], 0), r["resource"]))


def _resource_row(resource: str, last: dict[str, Any], good: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "resource": resource,
        "workload": resource.partition(":")[0],
        "kind": str(last.get("kind") or (good or {}).get("kind") or ""),  # a 'shared' mailbox
        "status": str(last.get("status") or ""),
        "last_run_id": last["RowKey"],
        "last_finished_at": str(last.get("finished_at") or ""),
        "failed_items": int(last.get("failed_items") or 0),
        "error": str(last.get("error") or ""),
        "last_good_run_id": good["RowKey"] if good else None,
        "last_good_at": str(good.get("finished_at") or "") if good else None,
        "last_good_status": str(good.get("status") or "") if good else None,
        "items": int(good.get("items") or 0) if good else 0,
        "bytes": int(good.get("bytes") or 0) if good else 0,
        "suspicious": bool(good.get("suspicious")) if good else False,  # the ransomware signal's flag
        "suspicious_reasons": json.loads(str(good.get("suspicious_reasons") or "[]")) if good else [],
    }


# -- restores --------------------------------------------------------------------------------------------------
def _restores(services: Services, jobs_table: TableClient, limit: int) -> list[dict[str, Any]]:
    jobs = services.restore_jobs.list(limit=limit) if limit > 0 else []
    if not jobs:
        return []
    counts: dict[str, dict[str, int]] = {job["id"]: dict.fromkeys(("parts_done", *RESTORE_COUNTS), 0) for job in jobs}
    oldest = min(counts)
    parts = jobs_table.query_entities(
        "PartitionKey ge @oldest and RowKey ne @job",
        parameters={"oldest": oldest, "job": JOB},
        select=["PartitionKey", *RESTORE_COUNTS],
    )
    for part in parts:
        tally = counts.get(part["PartitionKey"])
        if tally is None:  # a job created after the list was read
            continue
        tally["parts_done"] += 1
        for name in RESTORE_COUNTS:
            tally[name] += int(part.get(name) or 0)
    return [
        {
            "id": job["id"],
            "resource": job["resource"],
            "status": job["status"],
            "requester": job["requester"]["name"] or job["requester"]["oid"],
            "created_at": job["created_at"],
            "finished_at": job["finished_at"],
            "duration_seconds": seconds_between(job["created_at"], job["finished_at"]),
            "parts": job["parts"],
            **counts[job["id"]],
            "error": job["error"],
        }
        for job in jobs
    ]
