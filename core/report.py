"""The protection report: every resource discovery found or a backup holds, with its owner's name and address (or
the site's URL), its state, its last good restore point and that point's age against the RPO (BACKUP_RPO_HOURS),
its items and bytes, and the items held in quarantine. The CLI (`report`), the API (`GET /api/v1/report`, JSON or
CSV) and the dashboard show it.

    state            why
    excluded         discovered, left out by BACKUP_INCLUDE_* / BACKUP_EXCLUDE_* (its older points still listed)
    never_backed_up  discovered and included, no restore point yet
    failing          its latest backup failed (or none of its points is usable)
    skipped          its latest backup had nothing to back up (a user without a OneDrive or mailbox)
    past_rpo         its last good point is older than the RPO
    partial          its latest backup lacks some items (failed or held ones)
    protected        its last good point is within the RPO

`items` and `bytes` sum its restore points: the item versions its backups captured and the content bytes they newly
wrote (deduplicated content not counted again), of the points retention still keeps. Reads: the directory (one
query of one partition), every restore point (one scan, narrow columns) and the quarantine's held rows (one query):
no catalog scan, so the report costs the same whatever the resources hold."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.storage.runs import USABLE
from core.storage.tables import table_clients

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.directory import DirectoryEntry

STATES = ("failing", "past_rpo", "never_backed_up", "partial", "skipped", "excluded", "protected")  # problems first
COLUMNS = ("resource", "workload", "state", "display_name", "address", "kind", "last_status", "last_run_id",
           "last_good_run_id", "last_good_at", "age_hours", "rpo_hours", "within_rpo", "items", "bytes",
           "quarantined", "error")  # fmt: skip


def _hours_since(when: str, now: datetime) -> float | None:
    try:
        return round((now - datetime.fromisoformat(when)).total_seconds() / 3600, 2)
    except (TypeError, ValueError):
        return None


def _state(entry: DirectoryEntry | None, points: list[dict[str, Any]], good: dict | None, age: float | None,
           rpo: int) -> str:  # fmt: skip
    if entry is not None and not entry.included:
        return "excluded"
    if not points:
        return "never_backed_up"
    last = points[-1]["status"]
    if last == "skipped":
        return "skipped"
    if last == "failed" or good is None:
        return "failing"
    if age is None or age > rpo:
        return "past_rpo"
    return "partial" if last == "partial" else "protected"


def _row(resource: str, entry: DirectoryEntry | None, points: list[dict[str, Any]], held: int, rpo: int,
         now: datetime) -> dict[str, Any]:  # fmt: skip
    good = next((p for p in reversed(points) if p["status"] in USABLE), None)
    age = _hours_since(good["finished_at"], now) if good else None
    last = points[-1] if points else {}
    return {
        "resource": resource,
        "workload": resource.partition(":")[0],
        "state": _state(entry, points, good, age, rpo),
        "display_name": entry.display_name if entry else "",
        "address": entry.address() if entry else "",
        **({"upn": entry.upn, "mail": entry.mail, "url": entry.url} if entry else {"upn": "", "mail": "", "url": ""}),
        "included": entry.included if entry else None,  # None: not discovered (backed up before, or gone)
        "kind": next((p["kind"] for p in reversed(points) if p.get("kind")), ""),
        "last_status": last.get("status", ""),
        "last_run_id": last.get("run_id", ""),
        "last_good_run_id": good["run_id"] if good else "",
        "last_good_at": good["finished_at"] if good else "",
        "age_hours": age,
        "rpo_hours": rpo,
        "within_rpo": age is not None and age <= rpo,
        "items": sum(int(p.get("items") or 0) for p in points),
        "bytes": sum(int(p.get("bytes") or 0) for p in points),
        "quarantined": held,
        "error": last.get("error", "") if last.get("status") in ("failed", "skipped", "partial") else "",
    }


def protection_report(services: Services, now: datetime | None = None) -> dict[str, Any]:
    """The report as JSON: `resources` (problems first, then by resource), `counts` per state, the RPO, when."""
    from core.dashboard import DEFAULT_SCAN_LIMIT, quarantine_summary  # here: the dashboard shows this report

    now = now or datetime.now(UTC)
    rpo = services.settings.rpo_hours
    names = services.directory.all() if services.directory is not None else {}
    points = services.runs.points_by_resource()
    table = table_clients(services.settings, create=False)["quarantine"]
    held = quarantine_summary(table, DEFAULT_SCAN_LIMIT, 0)["by_resource"]
    rows = [_row(r, names.get(r), points.get(r, []), held.get(r, 0), rpo, now) for r in sorted({*names, *points})]
    rows.sort(key=lambda row: (STATES.index(row["state"]), row["resource"]))
    counts = {state: sum(1 for row in rows if row["state"] == state) for state in STATES}
    return {"generated_at": now.isoformat(), "rpo_hours": rpo, "counts": counts, "resources": rows}


def report_csv(report: dict[str, Any]) -> str:
    """The report's resources as CSV (one header row, COLUMNS), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in report["resources"]:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in COLUMNS})
    return out.getvalue()


def report_text(report: dict[str, Any]) -> str:
    """One line per resource, problems first, then the counts."""
    lines = [
        f"{r['state']:<15} {r['resource']}  {r['display_name'] or '-'} <{r['address'] or '-'}>  "
        f"last good {r['last_good_at'] or 'never'}"
        + (f" ({r['age_hours']:.1f} h)" if r["age_hours"] is not None else "")
        + f"  items={r['items']} bytes={r['bytes']} quarantined={r['quarantined']}"
        + (f"  error={r['error']}" if r["error"] else "")
        for r in report["resources"]
    ]
    counts = ", ".join(f"{n} {state}" for state, n in report["counts"].items() if n)
    lines.append(f"{len(report['resources'])} resources (RPO {report['rpo_hours']} h): {counts or 'none'}")
    return "\n".join(lines)
