"""Planning a restore: every check that can be made before anything is written, and how it splits into parts.

    validate_restore(services, request)  the point, the conflict policy, the selection, the target; how many items
                                         and in how many parts (mail and files: ceil(items / PART_SIZE), at most
                                         MAX_PARTS; contacts and events: one)
    part_request(request, ...)           the request one part runs: the run pinned, the destination folder named
    part_batches(parts), job_status(...) pure helpers for the orchestrator (replay-safe: no I/O, no clock)

The HTTP API calls validate_restore before it records a job (so a request that cannot be carried out is refused,
and nothing is written); the restore orchestration calls it again when the job starts (the tenant or the backup may
have changed meanwhile) and runs each part with part_request. Parts split the selection by item id (see
RestoreRequest.select_part), so the same selection always splits the same way and no item is in two parts."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphNotFound, InvalidRequestError, NotFoundError
from core.models import ResourceKey
from core.restore_request import RestoreRequest
from core.restore_target import check_mailbox
from core.workloads import contacts_restore, drive_restore, events_restore, handler_for, mail_restore

if TYPE_CHECKING:
    from core.bootstrap import Services

PART_SIZE = 100  # items per part for mail and files
MAX_PARTS = 500  # however large the selection: parts grow instead (history and table rows stay bounded)
PART_BATCH_SIZE = 50  # parts per restore_batch sub-orchestration
FILE_WORKLOADS = ("onedrive", "sharepoint")


@dataclass(frozen=True)
class ValidatedRestore:
    run_id: str  # the backup run the request resolves to
    items: int  # how many items the selection holds
    parts: int  # how many parts to run it in

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def validate_restore(services: Services, request: RestoreRequest, part_size: int = PART_SIZE) -> ValidatedRestore:
    """Check `request` against the backup and the tenant without writing anything. Raises NotFoundError (unknown
    run, a time before the first backup, unknown items or folder, a target not in the tenant) or
    InvalidRequestError (a conflict policy the workload does not have, an empty selection, a target of another
    workload). `part_size` (items per part) is for tests and tuning; the request's own part/parts are ignored."""
    if part_size < 1:
        raise ValueError("part_size must be >= 1")
    whole = dataclasses.replace(request, part=0, parts=1)
    workload = whole.key.workload
    handler_for(workload)  # an unknown workload is an InvalidRequestError
    _check_conflict(whole)
    try:
        run_id = services.runs.resolve_point(whole.resource, whole.run_id, whole.at)
    except InvalidRequestError as exc:  # the time asked for is before the first backup: no such point
        raise NotFoundError(str(exc)) from None
    items, splittable = _count_selection(services, whole, run_id)
    if items == 0:
        raise InvalidRequestError(f"nothing to restore: the selection is empty in the backup as of run {run_id}")
    _check_target(services, whole)
    return ValidatedRestore(run_id, items, parts_for(items, part_size) if splittable else 1)


def parts_for(items: int, part_size: int = PART_SIZE) -> int:
    """How many parts a selection of `items` runs in: ceil(items / part_size), at least 1, at most MAX_PARTS."""
    return max(1, min(MAX_PARTS, math.ceil(items / part_size)))


def part_request(
    request: RestoreRequest, run_id: str, parts: int, part: int, destination_name: str | None
) -> RestoreRequest:
    """The request part `part` of `parts` runs: the run pinned (so every part restores as of the same backup,
    however long the job waits), `at` cleared, and one destination folder name shared by every part."""
    return dataclasses.replace(
        request,
        run_id=run_id,
        at=None,
        part=part,
        parts=parts,
        destination_name=destination_name or request.destination_name,
        target_owner=target_owner(request),
    )


def part_batches(parts: int, batch_size: int = PART_BATCH_SIZE) -> list[list[int]]:
    """Part indexes 0..parts-1 in batches of at most `batch_size` (one sub-orchestration each). Pure: the
    orchestrator calls it while being replayed."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return [list(range(first, min(first + batch_size, parts))) for first in range(0, parts, batch_size)]


def job_status(counts: dict[str, int], failed_parts: int = 0, error: str = "") -> str:
    """A job's outcome: 'succeeded' when nothing failed; 'failed' when something failed (an item, a part, or the
    job could not start) and nothing was restored or skipped; else 'partial'."""
    done = int(counts.get("restored", 0)) + int(counts.get("skipped", 0))
    if not (error or failed_parts or int(counts.get("failed", 0))):
        return "succeeded"
    return "partial" if done else "failed"


def target_owner(request: RestoreRequest) -> str | None:
    """The target as an owner id: a target given as a resource key of the same workload ('onedrive:<user>') is
    reduced to its owner; one of another workload is refused (InvalidRequestError)."""
    target = request.target_owner
    if not target or ":" not in target:
        return target
    try:
        key = ResourceKey.parse(target)
    except ValueError:
        return target
    if key.workload != request.key.workload:
        raise InvalidRequestError(
            f"cannot restore {request.key.workload} data into {key.workload} resource {key.owner!r}: "
            "a restore goes into a resource of the same workload"
        )
    return key.owner


def _allowed_conflicts(request: RestoreRequest) -> tuple[str, ...]:
    if request.key.workload in FILE_WORKLOADS:
        return tuple(drive_restore.BEHAVIOUR)
    return mail_restore.CONFLICTS


def _check_conflict(request: RestoreRequest) -> None:
    allowed = _allowed_conflicts(request)
    if request.conflict not in allowed:
        what = "files" if request.key.workload in FILE_WORKLOADS else f"{request.category}s"
        raise InvalidRequestError(f"conflict must be one of {allowed} for {what}, got {request.conflict!r}")


def _count_selection(services: Services, request: RestoreRequest, run_id: str) -> tuple[int, bool]:
    """(items selected, whether the restore may run in parts). A folder restore of files that holds only empty
    folders counts the folders: they are what it recreates."""
    if request.key.workload in FILE_WORKLOADS:
        files, trees = drive_restore.select_files(services, request, run_id)
        return (len(files) or len(trees)), True
    if request.category == "contact":
        return len(contacts_restore.select_contacts(services, request, run_id)), False
    if request.category == "event":
        return len(events_restore.select_events(services, request, run_id)), False
    return len(mail_restore.select_versions(services, request, run_id)), True


_TARGETS = {  # workload -> (Graph path of the target, what it is called)
    "exchange": ("users/{}", "user"),
    "onedrive": ("users/{}/drive", "OneDrive of user"),
    "sharepoint": ("sites/{}", "site"),
}


def _check_target(services: Services, request: RestoreRequest) -> None:
    """The resource restored into (the target, else the source's owner) must exist in the tenant now, and a user
    restored into must have a mailbox."""
    owner = target_owner(request) or request.key.owner
    path, what = _TARGETS[request.key.workload]
    safe = "," if request.key.workload == "sharepoint" else ""  # a site id is 'host,site guid,web guid'
    try:
        services.graph.get_json(path.format(quote(owner, safe=safe)), params={"$select": "id"})
    except GraphNotFound:
        raise NotFoundError(f"no {what} {owner!r} in the tenant to restore into") from None
    check_mailbox(services, request)  # a user without a mailbox exists, but nothing can be restored into it
