"""What the quarantine (core/storage/quarantine.py) holds, as the CLI, the API and the dashboard show it.

A restore point lacks the items its run held in quarantine: content the backup could not capture yet (an item that
keeps failing, retried by id on every later run). So every point listed with `python -m core points --json` and by
`GET /api/v1/resources/{resource}/points` carries them: `quarantined`, the items held as of that point (CLI: each
item; API: their number, the items themselves at `GET /api/v1/resources/{resource}/quarantine?run_id=...`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.storage.quarantine import HeldItem

if TYPE_CHECKING:
    from core.bootstrap import Services


def held_at(items: Iterable[HeldItem], run_id: str) -> list[HeldItem]:
    """Of a resource's quarantine rows, those held as of run `run_id` (HeldItem.held_in), oldest first."""
    held = [i for i in items if i.held_in(run_id)]
    return sorted(held, key=lambda i: (i.first_run, i.category, i.item_id))


def points_with_quarantine(services: Services, resource: str, count_only: bool = False) -> list[dict[str, Any]]:
    """The resource's restore points (oldest first), each with `quarantined`: the items held as of it (their
    dicts), or with `count_only` their number. One read of the quarantine, however many points."""
    history = services.quarantine.history(resource)
    points = services.runs.points(resource)
    for point in points:
        held = held_at(history, point["run_id"])
        point["quarantined"] = len(held) if count_only else [i.to_dict() for i in held]
    return points


def quarantine_listing(services: Services, resource: str, run_id: str | None, history: bool) -> dict[str, Any]:
    """What `GET .../quarantine` answers: the items held now (run_id None), as of a run, or every row ever held
    (`history`, released ones with their release run)."""
    rows = services.quarantine.history(resource)
    if history:
        items = sorted(rows, key=lambda i: (i.first_run, i.category, i.item_id))
    elif run_id is not None:
        items = held_at(rows, run_id)
    else:
        items = sorted((i for i in rows if not i.released_run), key=lambda i: (i.first_run, i.category, i.item_id))
    return {"resource": resource, "run_id": run_id, "items": [i.to_dict() for i in items]}
