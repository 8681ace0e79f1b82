"""Drive items in quarantine (core/storage/quarantine.py): held when they fail, released when captured or gone.

An item whose capture fails after the Graph client's own retries (a listing whose size or hash never matches its
content, content that keeps answering errors, permissions that cannot be read) is held with its error and counted
as a failed item of the run, so the restore point is "partial" and lists it; the round's delta link is saved
anyway, since everything else of the round is durable. At every later run each held item of a drive backed up
that its delta round did not list is read by id (GET /drives/{d}/items/{id}) by the engine's one retry mechanism
(core.delta.lifecycle) and captured exactly as a delta entry would be (drive_round.apply_round): captured, it is
catalogued and released; a 404 by id (or a `deleted` facet) releases it as deleted and ends its live version, if
any; any other failure holds it again, one more attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.delta.lifecycle import Failure, Settlement
from core.workloads.files.drive_capture import RECHECK, read_item, slim
from core.workloads.files.drive_round import RoundResult, apply_round

if TYPE_CHECKING:
    from core.workloads.files.drive_backup import DriveJob


def settlement(job: DriveJob, result: RoundResult, listed: set[str]) -> Settlement:
    """What an applied round (or retry) does to the quarantine: what failed is reported and to be held; what was
    held and is now captured or gone is to be released (the engine does both once the versions are committed)."""
    done = Settlement()
    for key, (category, label, error) in result.failed.items():
        done.failures.append(Failure(key, category, job.drive_id, error))
        job.report.fail(label, error)
    for key in sorted((listed & job.held.keys()) - result.failed.keys()):
        done.released.append((key, "deleted" if key in result.gone else "captured"))
    if result.failed:
        job.report.note(f"{job.drive_name}: {len(result.failed)} item(s) held in quarantine, retried at every run")
    return done


def read_held(job: DriveJob, key: str) -> dict | None:
    """A held item (composite id) as Graph has it now; None when it is gone (404 by id, or a `deleted` facet)."""
    return read_item(job, key.split("/", 1)[1])


def apply_held(job: DriveJob, read: dict[str, dict | None], unread: dict[str, Exception]) -> Settlement:
    """This drive's held items read by id (None: gone), applied as a round would apply them."""
    entries = {
        key: {"id": key.split("/", 1)[1], "deleted": {}} if item is None else {**slim(item), RECHECK: True}
        for key, item in read.items()
    }
    result = apply_round(job, entries)
    for key, error in unread.items():
        result.failed[key] = (job.held[key].category, f"{job.drive_name}: held item {key.split('/', 1)[1]}", error)
    return settlement(job, result, listed=set(entries) | set(unread))
