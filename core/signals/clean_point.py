"""The last clean point: a resource's newest usable restore point not flagged suspicious (core/signals/), which a
restore given no point or time uses when the newest point is flagged, saying so (`clean_default_note`). An
explicit run id, a time, or `use_suspicious` restore as asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.storage.runs import USABLE

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreRequest


def last_clean_point(points: list[dict[str, Any]]) -> str | None:
    """The run id of the newest usable point of `points` (oldest first, as RunStore.points gives them) not
    flagged suspicious; None when there is none."""
    clean = [p["run_id"] for p in points if p.get("status") in USABLE and not p.get("suspicious")]
    return clean[-1] if clean else None


def newest_suspicious(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest usable point, when it is flagged suspicious; else None."""
    usable = [p for p in points if p.get("status") in USABLE]
    return usable[-1] if usable and usable[-1].get("suspicious") else None


def clean_default_note(services: Services, request: RestoreRequest, run_id: str) -> str:
    """What to tell the operator when a restore given no point went to the last clean point `run_id` instead of
    the newest, flagged one; '' when it did not."""
    if request.run_id is not None or request.at is not None or request.use_suspicious:
        return ""
    flagged = newest_suspicious(services.runs.points(request.resource))
    if flagged is None or flagged["run_id"] == run_id:
        return ""
    reasons = "; ".join(flagged.get("suspicious_reasons") or []) or "flagged"
    return (
        f"the newest backup of {request.resource} ({flagged['run_id']}) is flagged suspicious ({reasons}): "
        f"restored as of the last clean point {run_id} (ask for the suspicious point to use it)"
    )
