"""Erasure of one person's data, confirmed: `erase(services, user, code, actor)` computes the plan again
(core/lifecycle/erasure_plan.py) and goes on only if it still hashes to the code the operator was shown and none of
the person's resources is on legal hold (LegalHoldError, naming the hold). Then, in this order, so that a process
stopped at any moment leaves a state a rerun finishes:

    1. the erasure's record ('running') and the marks of the blobs and journal blobs to delete (core/storage/
       erasures.py), durable before anything is removed
    2. per resource: its restore points, then its catalog versions (the removal primitives of core/lifecycle/
       removal.py: each row journaled as a delete first, so rebuild-catalog never brings it back), then its delta
       state and quarantine rows
    3. the marked blobs no version of any resource references any more and whose immutability has ended
       (`remove_blobs`: under the sweep lock, never while a backup runs); each one settled is unmarked
    4. the marked journal blobs whose immutability has ended; each one settled is unmarked
    5. the record again: 'completed', or 'pending' while marks remain (immutable blobs, a backup that was running)

A pending erasure is finished by running it again for the same person (its plan shows what is pending, with a new
code), or by `finish_pending` (what `erase --finish-pending` and the purge's sweep can call: it deletes only what an
erasure already confirmed marked). Audited: the plan shown ('erasure.plan'), a refusal ('erasure', rejected), the
confirmation ('erasure.confirm') and the result ('erasure', succeeded or partial)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import AlreadyRunningError, InvalidRequestError, LegalHoldError
from core.lifecycle.erasure_plan import ErasurePlan, plan_erasure
from core.lifecycle.erasure_removal import remove_journal_blobs, remove_unjournaled_rows
from core.lifecycle.holds import Actor
from core.lifecycle.purge_identity import build_purge_services
from core.lifecycle.removal import backups_in_progress, remove_blobs, remove_points, remove_versions
from core.planning import new_run_id
from core.storage.erasures import ErasureLog

if TYPE_CHECKING:
    from core.bootstrap import Services


def _log(services: Services) -> ErasureLog:
    if services.erasures is None:
        raise InvalidRequestError("erasure is not available in this deployment (no erasure log)")
    return services.erasures


def _counts(plan: ErasurePlan) -> dict[str, int]:
    shown = plan.to_dict()
    return {
        "resources": len(plan.resources),
        "points": shown["points"],
        "versions": shown["versions"],
        "blobs": len(plan.blobs) + len(plan.pending_blobs),
        "shared": plan.shared,
        "journal": len(plan.journal.rows | plan.pending_journal),
    }


def show_plan(services: Services, user: str, actor: Actor) -> dict[str, Any]:
    """The plan, as the operator is shown it (with its code); audited as 'erasure.plan'."""
    plan = plan_erasure(services, user)
    services.audit.append(
        actor.audit(
            "erasure.plan", "succeeded", resource=f"user:{plan.user}", counts=_counts(plan), detail=f"code {plan.code}"
        )
    )
    return plan.to_dict()


def _refuse(services: Services, actor: Actor, plan: ErasurePlan, error: Exception) -> None:
    services.audit.append(
        actor.audit("erasure", "rejected", resource=f"user:{plan.user}", counts=_counts(plan), detail=str(error)[:2000])
    )
    raise error


@contextmanager
def removal_services(services: Services) -> Iterator[Services]:
    """The services to remove with: built with the purge's identity when PURGE_CLIENT_ID names one (the only
    identity granted delete; core/lifecycle/purge_identity.py), else these."""
    if not services.settings.purge_client_id:
        yield services
        return
    own = build_purge_services(services.settings)
    try:
        yield own
    finally:
        own.close()


def erase(services: Services, user: str, code: str, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Carry the plan out if it still hashes to `code` (with the purge's identity, when one is configured); returns
    the report (also recorded and audited)."""
    with removal_services(services) as own:
        return _erase(own, user, code, actor, now)


def _erase(services: Services, user: str, code: str, actor: Actor, now: datetime | None) -> dict[str, Any]:
    log = _log(services)
    plan = plan_erasure(services, user, now)
    if plan.holds:
        held = "; ".join(
            f"{h['resource']} (held by {h['placed_by']} since {h['placed_at']}: {h['reason']})" for h in plan.holds
        )
        _refuse(services, actor, plan, LegalHoldError(f"erasure of user {plan.user} refused: on legal hold: {held}"))
    if str(code or "").strip().lower() != plan.code:
        _refuse(
            services,
            actor,
            plan,
            InvalidRequestError(
                f"confirmation code {code!r} does not match the plan of user {plan.user} as it is now: the backup has "
                "changed since it was shown (or the code is mistyped); show the plan again and confirm its code"
            ),
        )
    running = backups_in_progress(services)
    if running:  # its versions of the person would outlive the erasure
        _refuse(
            services,
            actor,
            plan,
            AlreadyRunningError(f"backup run {running[0]} is in progress: erase user {plan.user} once it has finished"),
        )
    now = now or datetime.now(UTC)
    erasure_id = new_run_id(now)
    report: dict[str, Any] = {
        "erasure_id": erasure_id,
        "user": plan.user,
        "code": plan.code,
        "status": "running",
        "started_at": now.isoformat(),
        "by": actor.name,
        "resource_keys": plan.resource_keys,
        "not_erased": plan.not_erased,
    }
    log.record(report)
    services.audit.append(
        actor.audit(
            "erasure.confirm",
            "accepted",
            resource=f"user:{plan.user}",
            counts=_counts(plan),
            detail=f"erasure {erasure_id}, code {plan.code}",
        )
    )
    log.mark_blobs(plan.user, erasure_id, plan.blobs)
    log.mark_journal(plan.user, erasure_id, plan.journal.rows)
    for resource in plan.resources:
        report["points"] = report.get("points", 0) + remove_points(services, resource.resource, resource.points)
        report["versions"] = report.get("versions", 0) + remove_versions(services, resource.resource, resource.versions)
        report["bytes"] = report.get("bytes", 0) + sum(v.size for v in resource.versions)
        rows = remove_unjournaled_rows(services, resource.resource)
        report["delta_rows"] = report.get("delta_rows", 0) + rows["deltastate"]
        report["quarantine_rows"] = report.get("quarantine_rows", 0) + rows["quarantine"]
        if services.directory is not None:  # their names (core/storage/directory.py), a delete journaled first
            services.directory.forget([resource.resource])
        services.runs.baselines.forget(resource.resource)  # the ransomware signal's shares of their runs
    report.update(resources=len(plan.resources), blobs_shared=plan.shared)
    report.update(
        _finish_marks(
            services,
            plan.user,
            plan.blobs | plan.pending_blobs,
            plan.journal.rows | plan.pending_journal,
            now,
            erasure_id,
        )
    )
    return _close(services, actor, report, f"erasure {erasure_id}")


def _close(services: Services, actor: Actor, report: dict[str, Any], what: str) -> dict[str, Any]:
    """Settle the report's status, record it and audit it ('succeeded' once nothing is pending, else 'partial')."""
    report["status"] = "pending" if report["blobs_pending"] or report["journal_pending"] else "completed"
    report["finished_at"] = datetime.now(UTC).isoformat()
    _log(services).record(report)
    services.audit.append(
        actor.audit(
            "erasure",
            "succeeded" if report["status"] == "completed" else "partial",
            resource=f"user:{report['user']}",
            counts=_report_counts(report),
            detail=f"{what}: {report['status']}",
        )
    )
    return report


def _finish_marks(
    services: Services, user: str, blobs: set[str], journal: set[str], now: datetime, erasure_id: str
) -> dict[str, int]:
    """Delete what the marks name and immutability allows; unmark what is settled. Counts of what was done."""
    log = _log(services)
    removal = remove_blobs(services, blobs, now, owner=f"erasure-{erasure_id}")
    log.unmark_blobs(set(removal.done))
    settled, protected = remove_journal_blobs(services, journal, now)
    log.unmark_journal(settled)
    return {
        "blobs_removed": removal.removed,
        "blob_bytes": removal.bytes,
        "blobs_pending": len(blobs) - len(removal.done),
        "journal_removed": len(settled),
        "journal_pending": len(protected),
        "blobs_referenced_again": removal.still_referenced,
    }


def _report_counts(report: dict[str, Any]) -> dict[str, int]:
    names = ("resources", "points", "versions", "blobs_removed", "blobs_pending", "journal_removed", "journal_pending")
    return {k: int(report.get(k, 0) or 0) for k in names}


def finish_pending(services: Services, actor: Actor | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Delete what earlier confirmed erasures marked and could not delete yet (immutable then, or deferred by a
    running backup), for every person with marks; each person's pass is recorded and audited as an erasure. The
    purge's sweep may call it too: it removes only what a confirmed erasure marked."""
    with removal_services(services) as own:
        return _finish_pending(own, actor, now)


def _finish_pending(services: Services, actor: Actor | None, now: datetime | None) -> list[dict[str, Any]]:
    log, actor = _log(services), actor or Actor("lifecycle", "lifecycle")
    now = now or datetime.now(UTC)
    done = []
    for user in sorted(log.pending_users() - {""}):
        erasure_id = new_run_id(datetime.now(UTC))
        report: dict[str, Any] = {
            "erasure_id": erasure_id,
            "user": user,
            "by": actor.name,
            "started_at": now.isoformat(),
            "status": "running",
        }
        report.update(
            _finish_marks(services, user, log.pending_blobs(user), log.pending_journal(user), now, erasure_id)
        )
        done.append(_close(services, actor, report, f"erasure {erasure_id} (pending marks)"))
    return done


def list_erasures(services: Services, limit: int = 20) -> list[dict[str, Any]]:
    return _log(services).latest(limit)
