"""Restore use case: what a request selects, restored by its category (core/workloads/registry.py).

restore(services, request)              check and select once (restore_plan.check_restore), then restore the
                                        request's part of the selection (the CLI; one-off use)
restore_picks(services, request, picks) restore items a job kept with its selection (a part of it): each read
                                        by id, as of the run the request is pinned to; nothing checked again
Both announce the items they restore to whoever watches (core/work_progress.py: the CLI's progress line)."""

from __future__ import annotations

import dataclasses
from typing import Any

from core import work_progress
from core.bootstrap import Services
from core.errors import InvalidRequestError
from core.restore_plan import check_restore, target_owner
from core.restore_request import RestoreReport, RestoreRequest
from core.signals.clean_point import clean_default_note
from core.workloads.base import Pick


def restore(services: Services, request: RestoreRequest, prepared: Any = None) -> RestoreReport:
    """Restore what `request` selects (its part of it). `prepared`: what the category prepared once for the whole
    job (see Category.prepare), if any. Raises InvalidRequestError / NotFoundError, before writing anything, when
    the request cannot be carried out as asked."""
    run_id, selection = check_restore(services, request, point_refused=InvalidRequestError)
    pinned = dataclasses.replace(request, run_id=run_id, at=None, target_owner=target_owner(request))
    items = pinned.select_part(selection.items, key=lambda selected: selected[0].item_id)
    work_progress.plan(len(items), lambda: {version.item_id: version.size for version, _path in items})
    report = request.kind.restore(services, pinned, prepared, items)
    report.point_note = clean_default_note(services, request, run_id)  # the last clean point, when it was used
    return report


def restore_picks(
    services: Services, request: RestoreRequest, picks: list[Pick], prepared: Any = None
) -> RestoreReport:
    """Restore `picks` (a part of the selection a job kept) as of `request.run_id`: one catalog read per item, no
    selection, no check (the job's validation made them once). An item the run no longer holds is reported failed."""
    kind, run_id = request.kind, str(request.run_id)
    found = services.catalog.versions_as_of(request.resource, kind.name, (p.item_id for p in picks), run_id)
    items = [(found[p.item_id], p.path) for p in picks if p.item_id in found]
    work_progress.plan(
        len(picks), lambda: {p.item_id: found[p.item_id].size if p.item_id in found else 0 for p in picks}
    )
    report = kind.restore(services, request, prepared, items)
    for pick in picks:
        if pick.item_id not in found:
            report.fail(pick.item_id, f"no longer in the backup as of run {run_id}")
    return report
