"""Drive items in quarantine (core/storage/quarantine.py): held when they fail, released when captured or gone.

An item whose capture fails after the Graph client's own retries (a listing whose size or hash never matches its
content, content that keeps answering errors, permissions that cannot be read) is held with its error and counted
as a failed item of the run, so the restore point is "partial" and lists it; the round's delta link is saved
anyway, since everything else of the round is durable. At every later run each held item of the drive that its
delta round did not list is read by id (GET /drives/{d}/items/{id}) and captured exactly as a delta entry would be
(drive_round.apply_round): captured, it is catalogued and released; a 404 by id (or a `deleted` facet) releases it
as deleted and ends its live version, if any; any other failure holds it again, one more attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import GraphError
from core.workloads.drive_capture import RECHECK, read_item, slim
from core.workloads.drive_round import RoundResult, apply_round

if TYPE_CHECKING:
    from core.workloads.drive_backup import DriveJob


def settle(job: DriveJob, result: RoundResult, listed: set[str]) -> None:
    """After items were applied and their versions committed: hold what failed, release what was held and is now
    captured or gone."""
    for key, (category, label, error) in result.failed.items():
        job.quarantine.hold(job.resource, category, key, job.drive_id, str(error), job.run_id)
        job.report.fail(label, error)
    for key in sorted((listed & job.held.keys()) - result.failed.keys()):
        held = job.held[key]
        released_as = "deleted" if key in result.gone else "captured"
        job.quarantine.release(job.resource, held.category, key, job.run_id, released_as=released_as)
    if result.failed:
        job.report.note(f"{job.drive_name}: {len(result.failed)} item(s) held in quarantine, retried at every run")


def retry_held(job: DriveJob, skip: set[str]) -> None:
    """Every item of this drive held before this run, and not listed by its round, retried by id."""
    entries: dict[str, dict] = {}
    unread = RoundResult()
    for key, held in sorted(job.held.items()):
        if key in skip:
            continue
        item_id = key.split("/", 1)[1]
        try:
            item = read_item(job, item_id)
        except GraphError as exc:
            unread.failed[key] = (held.category, f"{job.drive_name}: held item {item_id}", exc)
            continue
        entries[key] = {"id": item_id, "deleted": {}} if item is None else {**slim(item), RECHECK: True}
    if not entries and not unread.failed:
        return
    result = apply_round(job, entries)
    result.failed.update(unread.failed)
    job.writer.flush()
    settle(job, result, listed=set(entries) | set(unread.failed))
