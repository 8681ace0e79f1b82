"""A read-only view of one item category of a resource as of a run, shared by browsing, searching and downloads:
which categories a resource has, the paths of its folders, an item as the CLI and the API show it, and bounded
pages of catalog versions with opaque continuation tokens.

Which categories a workload holds, and how each one's folder paths are known, is the registry's business
(core/workloads/registry.py): a scope is opened for one Category. Drive paths, for instance, are rebuilt from the
folder versions of the run and start below the drive's root; a site with several libraries shows their trees
merged, as the CLI and restores do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core import continuation as tokens
from core.errors import InvalidRequestError
from core.storage.catalog import ItemVersion
from core.workloads.folder_paths import join_path, split_path

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.workloads.base import Category

MAX_PAGE_SIZE = 1000
SCAN_BUDGET = 20_000  # catalog entries one page may read before it answers (then with a continuation)
SERVER_FILTER_MAX = 20  # up to this many folder ids are filtered by the table service itself


@dataclass
class Scope:
    """One category of one resource as of one run, with the paths of its folders."""

    resource: str
    run_id: str
    category: str
    folders: dict[str, ItemVersion] = field(default_factory=dict)  # folder id -> version
    paths: dict[str, str] = field(default_factory=dict)  # folder id -> path ('' for a drive root)
    own_paths: bool = False  # an item's path is its own (a file's), not its folder's
    time_field: str = "received"  # the ItemVersion field a browse's --after / --before compare

    def path_of(self, version: ItemVersion) -> str:
        """The path of the folder holding `version` as of the run."""
        return self.paths.get(version.folder_id, version.folder_path)

    def server_filter(self, folder_ids: list[str]) -> list[str] | None:
        """`folder_ids` when few enough for the table service to filter by, else None (filter client-side)."""
        return folder_ids if len(folder_ids) <= SERVER_FILTER_MAX else None


def open_scope(services: Services, resource: str, run_id: str, category: Category) -> Scope:
    """Load the category's folders as of the run (folders are few beside items: they are held in memory)."""
    folders = {v.item_id: v for v in services.catalog.as_of(resource, category.folder_category, run_id)}
    if category.folder_paths is not None:
        paths = category.folder_paths(folders)
    else:
        paths = {key: v.folder_path for key, v in folders.items()}
    return Scope(resource, run_id, category.name, folders, paths, category.own_paths, category.time_field)


def parse_time(value: str) -> datetime | None:
    """A catalog time as an aware datetime (Graph times without an offset are UTC); None if absent or bad."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return aware(parsed)


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def describe(scope: Scope, version: ItemVersion) -> dict[str, Any]:
    """An item as the CLI and the API show it. `path` is a file's own path; for other items, their folder's."""
    path = scope.path_of(version)
    return {
        "id": version.item_id,
        "category": version.category,
        "folder": path,
        "path": join_path([*split_path(path), version.name]) if scope.own_paths else path,
        "name": version.name,
        "subject": version.name,
        "modified": version.modified,
        "sender": version.sender,
        "recipients": version.recipients.split(";") if version.recipients else [],
        "received": version.received,
        "size": version.size,
        "sha256": version.content_hash,
        "has_attachments": version.has_attachments,
        "first_seen_run": version.first_seen_run,
    }


def check_page_size(page_size: int) -> None:
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size!r}")


def start_point(
    services: Services, resource: str, run_id: str | None, at: datetime | None, digest: str, token: str | None
) -> tuple[str, str | None]:
    """(run, first item id or None) of a page: from the continuation token, else from the point asked for."""
    if token is None:
        return services.runs.resolve_point(resource, run_id, at), None
    position = tokens.decode(token, digest)
    return services.runs.resolve_point(resource, position.run_id), position.start


def page_of(
    versions: Iterator[ItemVersion], keep: Callable[[ItemVersion], bool], page_size: int, digest: str, run_id: str
) -> tuple[list[ItemVersion], str | None]:
    """Up to `page_size` versions for which `keep(v)` holds, and the token of the rest (None when there is none).
    One more match is looked for, so a full last page answers no token; the scan stops after SCAN_BUDGET entries
    (a short page with a token)."""
    kept: list[ItemVersion] = []
    for scanned, version in enumerate(versions, start=1):
        if scanned > SCAN_BUDGET or (len(kept) == page_size and keep(version)):
            return kept, tokens.encode(digest, tokens.Position(run_id, version.item_id))
        if len(kept) < page_size and keep(version):
            kept.append(version)
    return kept, None
