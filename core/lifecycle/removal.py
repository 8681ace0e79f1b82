"""The removal primitives: the one deletion path of the app, shared by the purge (core/lifecycle/purge.py) and the
erasure of a person's data. Each is idempotent (removing what is already gone is no error and counts nothing twice
in a report), journals every table row it removes as a delete BEFORE removing it (so rebuild-catalog never brings
it back), and checks nothing about policy: the caller decides what may go. Order them as the purge does, so a
process killed at any moment leaves every retained restore point restorable:

    remove_points    a resource's restore points (nothing is lost: its versions are still in the catalog)
    remove_versions  catalog versions no remaining point reaches
    remove_blobs     content no catalog version of ANY resource references (content is deduplicated tenant-wide),
                     once its immutability has ended, under the sweep lock (core/storage/sweep_lock.py)

`content_of` names the blobs versions reference (each category's `content_refs`, as verification reads them);
`referencing` which of a set of blobs some version of some resource still references (one catalog scan)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from core.run_owner import RunOwner, abandoned_reason
from core.storage import table_keys as keys
from core.storage.catalog import ItemVersion
from core.storage.tables import container_client
from core.workloads import registry

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from core.bootstrap import Services

log = logging.getLogger(__name__)

SWEEP_BATCH = 50  # blobs deleted between two looks for a backup run that started


@dataclass
class BlobRemoval:
    """What `remove_blobs` did with the blobs it was given (sha256 lists cut to 200 in reports, never counts)."""

    removed: int = 0  # blobs deleted now (every stored name of the content)
    bytes: int = 0  # their stored size
    still_protected: int = 0  # immutability has not ended (or the service refused with 409): try again later
    still_referenced: int = 0  # some version of some resource references it: never deleted
    deferred: int = 0  # not looked at: a backup run was in progress, or another sweep held the lock
    gone: int = 0  # already absent (a sweep that was stopped removed it)
    done: list[str] = field(default_factory=list)  # sha256s settled: removed, gone or referenced (unmark them)
    protected: list[str] = field(default_factory=list)  # sha256s still protected (keep their marks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def content_of(resource: str, versions: Iterable[ItemVersion]) -> set[str]:
    """Every blob (sha256) the versions of `resource` reference."""
    refs = registry.content_refs(resource)
    return {sha for version in versions for sha in refs(version)}


def remove_points(services: Services, resource: str, run_ids: Iterable[str]) -> int:
    """Remove restore points of `resource` (journaled first). Returns how many were asked (gone ones included)."""
    return services.runs.delete_points(resource, list(run_ids))


def remove_versions(services: Services, resource: str, versions: Iterable[ItemVersion]) -> int:
    """Remove catalog versions of `resource` (journaled first, in transactions of 100). Returns the versions sent.
    The caller makes sure no point it keeps reaches them (`ItemVersion.live_at`)."""
    return services.catalog.delete_versions(resource, versions)


def referencing(services: Services, candidates: set[str], ignoring: set[tuple[str, str]] | None = None) -> set[str]:
    """The subset of `candidates` (sha256s) some catalog version of any resource still references: one scan of
    the whole catalog (held resources, ended versions, everything). Empty candidates: no scan. `ignoring`:
    (resource, version RowKey) pairs not to count, the versions a dry run says would go."""
    if not candidates:
        return set()
    still: set[str] = set()
    by_resource: dict[str, list[ItemVersion]] = {}
    for resource, version in services.catalog.every_version():
        if ignoring and (resource, keys.join(version.category, version.item_id, version.first_seen_run)) in ignoring:
            continue
        by_resource.setdefault(resource, []).append(version)
        if len(by_resource[resource]) >= 1000:
            still |= content_of(resource, by_resource.pop(resource)) & candidates
    for resource, versions in by_resource.items():
        still |= content_of(resource, versions) & candidates
    return still


def backups_in_progress(services: Services, now: datetime | None = None) -> list[str]:
    """Run ids of backup runs still `running` (a local run whose process is gone or silent does not count)."""
    now, me = now or datetime.now(UTC), RunOwner.current()
    return [run["run_id"] for run in services.runs.running() if not abandoned_reason(run, me, now)]


def _size(container: ContainerClient, name: str) -> int | None:
    try:
        return int(container.get_blob_client(name).get_blob_properties().size)
    except ResourceNotFoundError:
        return None


def _previous_versions(container: ContainerClient, name: str) -> list[str]:
    """Version ids of the name's previous versions (the container keeps versions in Azure: version-level
    immutability needs them, and deleting a blob leaves its data as a previous version). Azurite keeps none."""
    found = container.list_blobs(name_starts_with=name, include=["versions"])
    return [b.version_id for b in found if b.name == name and b.version_id and not b.is_current_version]


def _delete(container: ContainerClient, names: tuple[str, ...]) -> tuple[str, int]:
    """('removed' | 'gone' | 'protected', bytes) for one content's stored names: each blob deleted, then its
    previous versions (so the data is gone, not kept as an old version; soft delete still keeps it for its days)."""
    sizes = {name: _size(container, name) for name in names}
    touched = False
    try:
        for name in names:
            if sizes[name] is not None:
                with contextlib.suppress(ResourceNotFoundError):
                    container.delete_blob(name)
                touched = True
            for version in _previous_versions(container, name):
                with contextlib.suppress(ResourceNotFoundError):
                    container.delete_blob(name, version_id=version)
                touched = True
    except HttpResponseError as exc:
        if exc.status_code == 409:  # BlobImmutableDueToPolicy and kin: the service still protects it
            return "protected", 0
        raise
    return ("removed" if touched else "gone"), sum(size or 0 for size in sizes.values())


def remove_blobs(services: Services, sha256s: Iterable[str], now: datetime | None = None,
                 owner: str = "purge") -> BlobRemoval:  # fmt: skip
    """Delete every stored name of each content that no version of any resource references and whose protection
    has ended (`services.immutability.protected_until`: None or before `now`). Safe against a concurrent backup:
    it holds the sweep lock, deletes nothing while a backup run is in progress (all deferred), and looks again
    between batches; references are read under the lock. Safe to call again with the same blobs."""
    wanted = sorted(set(sha256s))
    result = BlobRemoval()
    if not wanted:
        return result
    now = now or datetime.now(UTC)
    lock = services.runs.sweep_lock(owner)
    if not lock.acquire():
        result.deferred = len(wanted)
        return result
    try:
        if backups_in_progress(services):
            result.deferred = len(wanted)
            return result
        referenced = referencing(services, set(wanted))
        result.still_referenced = len(referenced)
        result.done.extend(sorted(referenced))
        free = [sha for sha in wanted if sha not in referenced]
        container = container_client(services.settings)
        for start in range(0, len(free), SWEEP_BATCH):
            batch = free[start : start + SWEEP_BATCH]
            lock.beat()
            if start and backups_in_progress(services):  # a backup started: it waits for us, we stop for it
                result.deferred += len(free) - start
                break
            _sweep_batch(services, container, batch, now, result)
    finally:
        lock.release()
    return result


def _sweep_batch(services: Services, container: ContainerClient, batch: list[str], now: datetime,
                 result: BlobRemoval) -> None:  # fmt: skip
    names = {sha: services.content.stored_names(sha) for sha in batch}
    until = services.immutability.protected_until([n for group in names.values() for n in group])
    for sha in batch:
        ends = [until.get(name) for name in names[sha]]
        if any(end is not None and end > now for end in ends):
            result.still_protected += 1
            result.protected.append(sha)
            continue
        outcome, size = _delete(container, names[sha])
        if outcome == "protected":
            result.still_protected += 1
            result.protected.append(sha)
            continue
        result.done.append(sha)
        if outcome == "gone":
            result.gone += 1
        else:
            result.removed += 1
            result.bytes += size
