"""Storage used, and saved by deduplication, as the content store counts it: the dashboard's headline figures.

    stored_bytes       every content blob (under sha256/, zstd/, keyed/; not the journal or the keys), as stored
    referenced_bytes   the distinct blobs some catalog version references (each category names its blobs,
                       `Category.content_refs`: a message's MIME, an event's attachments, a contact's photo, a
                       channel message's images, an archived message's export stream, ...)
    logical_bytes      every reference of every version (live or ended), each at its blob's stored size: what the
                       same store would hold if no two versions shared a blob
    saved_bytes        logical - referenced: never negative, since each referenced blob is counted at least once
    dedup_savings      saved / logical
    unreferenced_*     blobs no version references (a backup stopped between its blob and its catalog write, or
                       what the purge's sweep has not removed yet): stored, not part of the savings

Both sides count blobs as stored, so compression and encryption change neither the ratio's sense nor its sign: it
is deduplication alone. A blob's name follows from its SHA-256 (`BlobContentStore.stored_names`, the keyed name
through the naming key), so references are matched to listed blobs without reading any. Both scans stop after
`scan_limit` entries; a stopped scan is `complete: false`, its figures lower bounds and the ratio None."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import BackupError
from core.storage import table_keys as keys
from core.storage.catalog import ItemVersion
from core.storage.content_store import CONTENT_PREFIXES
from core.workloads import registry

if TYPE_CHECKING:
    from azure.data.tables import TableClient
    from azure.storage.blob import ContainerClient

    from core.storage.content_store import BlobContentStore

# the catalog columns a category's content_refs reads (its content hash, the blobs its metadata names)
_COLUMNS = ["PartitionKey", "RowKey", "category", "item_id", "first_seen_run", "content_hash", "extra", "size"]


def _refs_of(resource: str, cache: dict[str, Callable[[ItemVersion], tuple[str, ...]]]) -> Callable:
    if resource not in cache:
        try:
            cache[resource] = registry.content_refs(resource)
        except BackupError:  # a workload this version does not know: its versions' own content only
            cache[resource] = lambda v: (v.content_hash,) if v.content_hash else ()
    return cache[resource]


def storage_usage(content: BlobContentStore, container: ContainerClient, catalog: TableClient,
                  scan_limit: int) -> dict[str, Any]:  # fmt: skip
    """The figures above, from one listing of the content blobs and one scan of the catalog, each bounded."""
    sizes: dict[str, int] = {}
    blobs_complete = True
    for blob in (b for p in CONTENT_PREFIXES for b in container.list_blobs(name_starts_with=p, results_per_page=5000)):
        if len(sizes) >= scan_limit:
            blobs_complete = False
            break
        sizes[blob.name] = int(blob.size or 0)
    located: dict[str, str | None] = {}  # sha256 -> the listed blob that holds it

    def blob_of(sha: str) -> str | None:
        if sha not in located:
            located[sha] = next((n for n in content.stored_names(sha) if n in sizes), None)
        return located[sha]

    versions = logical = unmatched = 0
    referenced: set[str] = set()
    versions_complete = True
    cache: dict[str, Callable[[ItemVersion], tuple[str, ...]]] = {}
    for entity in catalog.query_entities("RowKey ne ''", select=_COLUMNS, results_per_page=1000):
        if versions >= scan_limit:
            versions_complete = False
            break
        versions += 1
        version = ItemVersion.from_entity(entity)
        for sha in _refs_of(keys.unescape(entity["PartitionKey"]), cache)(version):
            name = blob_of(sha)
            if name is None:
                unmatched += 1  # not listed (beyond a stopped listing, or missing: `verify` names it)
                continue
            logical += sizes[name]
            referenced.add(name)
    complete = blobs_complete and versions_complete
    stored = sum(sizes.values())
    used = sum(sizes[n] for n in referenced)
    return {
        "stored_bytes": stored,
        "blobs": len(sizes),
        "referenced_bytes": used,
        "logical_bytes": logical,
        "versions": versions,
        "saved_bytes": logical - used if complete else None,
        "dedup_savings": round(1 - used / logical, 4) if complete and logical > 0 else None,
        "unreferenced_blobs": len(sizes) - len(referenced),
        "unreferenced_bytes": stored - used,
        "unmatched_refs": unmatched,
        "complete": complete,
        "scan_limit": scan_limit,
    }
