"""The purge: retention applied. Mark, then sweep after PURGE_GRACE_HOURS, every step re-checked against the state
at the time it acts, in an order where a process killed at any moment (SIGKILL) leaves every retained restore point
restorable and a run of the purge again finishes the job:

    per resource (purge_resource):
      1. protection of its retained content renewed (core/lifecycle/protection.py; under a legal hold every point
         is retained); a held resource stops here, its marks dropped
      2. mark what its plan expires (core/lifecycle/purge_plan.py): points, versions, and the blobs those versions
         reference; a mark keeps its first time, so a purge run again never restarts a grace period
      3. sweep points: a mark older than the grace whose point the policy still expires NOW is removed (journaled
         first); a point that became kept, or is gone, is unmarked. A removed point was already unretained: it held
         nothing a kept point needs (its versions stay until step 4)
      4. sweep versions: a mark older than the grace whose version no REMAINING point reaches (kept points and
         expired ones still in their grace alike) is removed, after its blobs are marked (so a stop between the
         two leaves the blobs marked, never forgotten); one a kept point reaches again is unmarked
    then once (sweep_blobs): blob marks older than the grace go through core/lifecycle/removal.remove_blobs (not
    referenced by any version of any resource, held ones included; immutability ended; under the sweep lock, never
    while a backup runs); a blob still protected keeps its mark and is tried at the next purge.

Each step is idempotent; a mark outlives the row it names only until the next purge unmarks it. The purge's
summary is recorded (core/storage/purge_log.py) and audited; `dry_run` changes nothing and says what would go."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.lifecycle import protection, removal
from core.lifecycle.purge_plan import Policies, plan_resource, reached, version_key
from core.storage.audit_log import AuditEntry
from core.storage.purge_log import COUNTS
from core.storage.purge_marks import Mark

if TYPE_CHECKING:
    from core.bootstrap import Services

log = logging.getLogger(__name__)

BLOB_SWEEP_LIMIT = 20_000  # blob marks one sweep looks at; the rest wait for the next call ('more')


def _counts(**values: int) -> dict[str, Any]:
    return {**dict.fromkeys(COUNTS, 0), "resources": 1, **values}


def add_up(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of several resources' (or batches') results summed, held resources listed: what a batch returns and
    what a purge records, so neither grows with the tenant beyond the held list. Pure: an orchestrator may call it."""
    parts = list(parts)
    totals: dict[str, Any] = {k: sum(int(p.get(k, 0) or 0) for p in parts) for k in COUNTS}
    totals["held_resources"] = sorted({r for p in parts for r in p.get("held_resources") or []})
    totals["error"] = "; ".join(str(p["error"]) for p in parts if p.get("error"))[:1000]
    return totals


def failed_resource(resource: str, error: str) -> dict[str, Any]:
    """The counts of a resource whose purge failed (storage unreachable, say): it waits for the next purge."""
    return _counts(failed=1) | {"error": f"{resource}: {error}"[:300]}


def failed_batch(count: int, error: str) -> dict[str, Any]:
    """The counts of `count` resources whose batch failed before purging them (its keys could not be read, so they
    are counted, not named): they wait for the next purge. Pure: an orchestrator calls it."""
    return _counts(failed=count) | {"resources": count, "error": f"{count} resources: batch failed: {error}"[:300]}


def renew_protection(services: Services, resource: str, now: datetime) -> None:
    """Extend the immutability of what the resource's retained points need (core/lifecycle/protection.py), before
    anything is marked: what the purge keeps stays WORM-protected too."""
    protection.renew(services, resource, now)


def purge_resource(services: Services, resource: str, now: datetime, held: set[str] | None = None,
                   protect_with: Services | None = None) -> dict[str, Any]:  # fmt: skip
    """Mark and sweep one resource (steps 1-4 of the module docstring); returns its counts. `protect_with`: the
    services whose identity may set immutability policies (the backup's: the purge's identity may only delete)."""
    marks = services.runs.purge_marks
    point_marks, version_marks = marks.of("point", resource), marks.of("version", resource)
    renew_protection(protect_with or services, resource, now)  # a held resource's too: every point of it is kept
    held = services.holds.held() if held is None and services.holds is not None else (held or set())
    if resource in held:  # never marked, never swept; marks made before the hold are dropped
        unmarked = marks.unmark([*point_marks.values(), *version_marks.values()])
        return _counts(held=1, unmarked=unmarked) | {"held_resources": [resource]}
    plan = plan_resource(services, resource, now, Policies.of(services), versions=bool(version_marks))
    stamp, cutoff = now.isoformat(), now - timedelta(hours=services.settings.purge_grace_hours)
    new_points = [Mark("point", resource, run_id, stamp) for run_id in plan.expiring if run_id not in point_marks]
    new_versions = [v for v in plan.expired if version_key(v) not in version_marks]
    marked = marks.mark(new_points) + marks.mark(Mark("version", resource, version_key(v), stamp) for v in new_versions)
    marked += marks.mark(Mark("blob", "", sha, stamp) for sha in removal.content_of(resource, new_versions))
    point_marks.update({m.key: m for m in new_points})
    version_marks.update({version_key(v): Mark("version", resource, version_key(v), stamp) for v in new_versions})

    # points: remove the due ones the policy still expires; unmark those kept again or gone
    existing = set(plan.point_ids)
    gone_or_kept = [m for m in point_marks.values() if m.key not in existing or m.key in plan.kept]
    due = [m for m in point_marks.values() if m.due(cutoff) and m.key in existing and m.key not in plan.kept]
    points = removal.remove_points(services, resource, [m.key for m in due])
    unmarked = marks.unmark([*gone_or_kept, *due])
    remaining = sorted(existing - {m.key for m in due})

    # versions: remove the due ones no remaining point reaches (their blobs marked first); unmark the kept ones
    kept_runs, index = sorted(plan.kept), {version_key(v): v for v in plan.versions}
    settled = [m for m in version_marks.values() if m.key not in index or reached(index[m.key], kept_runs)]
    doomed = [index[m.key] for m in version_marks.values()
              if m.due(cutoff) and m.key in index and index[m.key].deleted_run
              and not reached(index[m.key], remaining)]  # fmt: skip
    marked += marks.mark(Mark("blob", "", sha, stamp) for sha in removal.content_of(resource, doomed))
    versions = removal.remove_versions(services, resource, doomed)
    unmarked += marks.unmark([*settled, *(version_marks[version_key(v)] for v in doomed)])
    return _counts(marked=marked, unmarked=unmarked, points=points, versions=versions)


def sweep_blobs(services: Services, now: datetime, owner: str = "purge", after: str = "",
                limit: int = BLOB_SWEEP_LIMIT) -> dict[str, Any]:  # fmt: skip
    """Remove the due blob marks' content that nothing references and nothing protects (removal.remove_blobs);
    unmark what is settled. At most `limit` marks per call, in sha256 order after `after`: when more wait, 'next'
    is the cursor to call again with ('' when done), so marks still protected never hold up the ones behind."""
    marks = services.runs.purge_marks
    cutoff = now - timedelta(hours=services.settings.purge_grace_hours)
    due = sorted(m.key for m in marks.of("blob").values() if m.due(cutoff) and m.key > after)
    batch = due[:limit]
    result = removal.remove_blobs(services, batch, now, owner=owner)
    unmarked = marks.unmark(Mark("blob", "", sha) for sha in result.done)
    counts = {"blobs": result.removed, "bytes": result.bytes, "still_protected": result.still_protected}
    counts.update(still_referenced=result.still_referenced, deferred=result.deferred, unmarked=unmarked)
    more = len(due) > len(batch) and not result.deferred
    return {**counts, "more": more, "next": batch[-1] if more else ""}


def finish_erasures(services: Services, now: datetime) -> dict[str, Any]:
    """Finish what confirmed erasures marked and could not remove then (immutable, or deferred by a backup):
    core.lifecycle.erasure.finish_pending, each person's pass recorded and audited as an erasure. Counts the
    erasures it completed, for the purge's record."""
    from core.lifecycle.erasure import finish_pending  # erasure builds on this module's neighbours: import late

    done = finish_pending(services, now=now)
    return _counts(erasures=sum(1 for report in done if report["status"] == "completed")) | {"resources": 0}


def resources_to_purge(services: Services, resources: list[str] | None = None) -> list[str]:
    """Every resource with a restore point or a mark (or the ones asked for)."""
    if resources:
        return list(resources)
    return sorted(set(services.runs.resources()) | services.runs.purge_marks.resources())


def summarize(purge_id: str, started_at: str, finished_at: str, trigger: str, totals: dict[str, Any]) -> dict[str, Any]:
    """One purge's record from its summed results. Pure: an orchestrator may call it."""
    summary: dict[str, Any] = {"purge_id": purge_id, "trigger": trigger, "started_at": started_at}
    summary.update(finished_at=finished_at, **totals)
    summary["status"] = "partial" if summary.get("failed") or summary.get("deferred") else "succeeded"
    return summary


def finish(services: Services, summary: dict[str, Any], actor: str = "purge") -> dict[str, Any]:
    """Record the purge's summary and audit it (retried by the host: the record is rewritten, the audit entry is
    one more line)."""
    services.runs.purges.record(summary)
    counts = {k: int(summary.get(k, 0) or 0) for k in COUNTS}
    entry = AuditEntry(actor=actor, actor_name=actor, roles=(), action="purge", result=summary["status"],
                       scope={"held": summary.get("held_resources", [])}, counts=counts,
                       detail=f"purge {summary['purge_id']} ({summary.get('trigger', '')})")  # fmt: skip
    services.audit.append(entry)
    services.telemetry.purge_finished(summary)
    return summary


def purge(services: Services, resources: list[str] | None = None, now: datetime | None = None,
          trigger: str = "cli", protect_with: Services | None = None) -> dict[str, Any]:  # fmt: skip
    """A whole purge here (the CLI; Azure runs the same steps as blueprints/purge.py): every resource, then the
    blobs, then the record and the audit entry. Returns the summary. `protect_with`: see purge_resource."""
    from core.planning import new_run_id

    started = now or datetime.now(UTC)
    held = services.holds.held() if services.holds is not None else set()
    parts = []
    for resource in resources_to_purge(services, resources):
        try:
            parts.append(purge_resource(services, resource, started, held, protect_with))
        except Exception as exc:  # one resource that cannot be purged now never stops the others
            log.exception("purge of %s failed", resource)
            parts.append(failed_resource(resource, str(exc)))
    cursor = ""
    while True:
        swept = sweep_blobs(services, started, after=cursor)
        parts.append({**swept, "resources": 0})
        if not swept["more"]:
            break
        cursor = swept["next"]
    parts.append(finish_erasures(services, started))
    finished = datetime.now(UTC).isoformat()
    summary = summarize(new_run_id(started), started.isoformat(), finished, trigger, add_up(parts))
    return finish(services, summary)
