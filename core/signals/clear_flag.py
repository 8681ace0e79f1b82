"""Clearing a false positive: an administrator who has checked a restore point flagged suspicious (a planned mass
rename, a migration) marks it clean. The point keeps what was flagged and records who cleared it, when and why; it
becomes a clean point again (the last clean point, restores' default), its shares join the resource's baseline so
the same kind of busy day is not flagged next time, and the clearing is audited ('signal.clear')."""

from __future__ import annotations

from typing import Any

from core.bootstrap import Services
from core.errors import InvalidRequestError, NotFoundError
from core.lifecycle.holds import Actor
from core.signals.assessment import next_window


def clear_suspicious(services: Services, resource: str, run_id: str, reason: str, actor: Actor) -> dict[str, Any]:
    """Mark `resource`'s point of `run_id` not suspicious. Returns the point as now recorded."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidRequestError("clearing a suspicious flag needs a reason (what you checked)")
    point = services.runs.point(resource, run_id)
    if point is None:
        raise NotFoundError(f"run {run_id!r} has no restore point for {resource!r}")
    if not point["suspicious"]:
        raise InvalidRequestError(f"the point {run_id} of {resource} is not flagged suspicious")
    services.runs.clear_suspicious(resource, run_id, actor.name, reason)
    shares = (point.get("signals") or {}).get("shares")
    if isinstance(shares, dict):  # what this resource's busy day looks like: the baseline learns it
        window = services.runs.baselines.window(resource)
        keep = services.settings.ransomware_baseline_points
        services.runs.baselines.save(resource, next_window(window, run_id, shares, keep))
    detail = "; ".join(point["suspicious_reasons"]) + f" | cleared: {reason}"
    services.audit.append(actor.audit("signal.clear", "succeeded", resource=resource, point=run_id, detail=detail))
    cleared = services.runs.point(resource, run_id)
    assert cleared is not None
    return cleared
