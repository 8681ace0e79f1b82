"""Planning a restore: every check that can be made before anything is written, and how it splits into parts.

    check_restore(services, request)     the point, the conflict policy, the selection, the target, each once: the
                                         run and what the request selects as of it (a Selection)
    validate_restore(services, request)  check_restore, and an empty selection refused; how many items and in how
                                         many parts (a category that splits: ceil(items / PART_SIZE), at most
                                         MAX_PARTS; else one), with the selection
    part_request(request, ...)           the request one part runs: the run pinned, the destination folder named
    part_batches(parts), job_status(...) pure helpers for the orchestrator (replay-safe: no I/O, no clock)

One selection per restore: the HTTP API calls validate_restore before it records a job (so a request that cannot
be carried out is refused, and nothing is written) and keeps the selection with the job (item ids, folder ids and
paths: RestoreJobStore.save_selection); the job's planning then splits that stored selection into parts and selects
nothing (a job recorded without one is selected once, at planning), and each part reads its own items by id.
Parts split the selection by item id (see RestoreRequest.part_bounds), so the same selection always splits the same
way and no item is in two parts."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import GraphNotFound, InvalidRequestError, NotFoundError
from core.models import ResourceKey
from core.restore_request import RestoreRequest
from core.workloads.registry import workload

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.workloads.base import Selection

PART_SIZE = 100  # items per part, for the categories that split
MAX_PARTS = 500  # however large the selection: parts grow instead (history and table rows stay bounded)
PART_BATCH_SIZE = 50  # parts per restore_batch sub-orchestration


@dataclass(frozen=True)
class ValidatedRestore:
    run_id: str  # the backup run the request resolves to
    items: int  # how many items the selection holds
    parts: int  # how many parts to run it in
    selection: Selection | None = dataclasses.field(default=None, repr=False, compare=False)  # what it selects

    def to_dict(self) -> dict[str, object]:
        return {"run_id": self.run_id, "items": self.items, "parts": self.parts}


def check_restore(
    services: Services, request: RestoreRequest, empty_ok: bool = True, point_refused: type[Exception] = NotFoundError
) -> tuple[str, Selection]:
    """(run id, what the request selects as of it), after checking the conflict policy, the point, the selection
    and the target, each once and before anything is written. Raises NotFoundError (unknown run, a time before the
    first backup, unknown items or folder, a target not in the tenant) or InvalidRequestError (a conflict policy the
    category does not have, a target of another workload; an empty selection, unless `empty_ok`). A time before the
    first backup raises `point_refused` (the API's 404; a direct restore's InvalidRequestError)."""
    whole = dataclasses.replace(request, part=0, parts=1)
    _check_conflict(whole)
    try:
        run_id = services.runs.resolve_point(whole.resource, whole.run_id, whole.at, clean=not whole.use_suspicious)
    except InvalidRequestError as exc:  # the time asked for is before the first backup: no such point
        raise point_refused(str(exc)) from None
    selection = whole.kind.select(services, whole, run_id)
    if not empty_ok and len(selection) == 0:
        raise InvalidRequestError(f"nothing to restore: the selection is empty in the backup as of run {run_id}")
    _check_target(services, whole)
    return run_id, selection


def validate_restore(services: Services, request: RestoreRequest, part_size: int = PART_SIZE) -> ValidatedRestore:
    """Check `request` against the backup and the tenant without writing anything (check_restore), refusing an
    empty selection (InvalidRequestError). `part_size` (items per part) is for tests and tuning; the request's own
    part/parts are ignored. The result carries the selection, for the job to keep."""
    if part_size < 1:
        raise ValueError("part_size must be >= 1")
    run_id, selection = check_restore(services, request, empty_ok=False)
    items = len(selection)
    return ValidatedRestore(run_id, items, parts_of(request, items, part_size), selection)


def parts_of(request: RestoreRequest, items: int, part_size: int = PART_SIZE) -> int:
    """How many parts a selection of `items` of the request's category runs in (one if the category does not
    split)."""
    return parts_for(items, part_size) if request.kind.splits else 1


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
    """The target as an owner id: a target given as a resource key of the same workload ('onedrive:<user>', a
    chats resource's user) is reduced to its owner; one of another workload is refused (InvalidRequestError). A
    direct restore (core.restore.restore) and every part of a job (part_request) restore into what this gives."""
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


def _check_conflict(request: RestoreRequest) -> None:
    kind = request.kind
    if request.conflict not in kind.conflicts:
        raise InvalidRequestError(f"conflict must be one of {kind.conflicts} for {kind.noun}, got {request.conflict!r}")


def _check_target(services: Services, request: RestoreRequest) -> None:
    """The resource restored into (the target, else the source's owner) must exist in the tenant now, and pass its
    workload's own check (a user restored into must have a mailbox)."""
    owner = target_owner(request) or request.key.owner
    declared = workload(request.key.workload)
    try:
        services.graph.get_json(declared.graph_path(declared.target_path, owner), params={"$select": "id"})
    except GraphNotFound:
        raise NotFoundError(f"no {declared.target_noun} {owner!r} in the tenant to restore into") from None
    if declared.check_target is not None:
        declared.check_target(services, owner)
