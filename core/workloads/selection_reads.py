"""Reads a restore selection of item ids makes: each item and each of its folders by id (one catalog query each,
returning one row), never a scan of the category. The help desk's most common restore, one message, so reads the
same few rows in a mailbox of twenty messages or of a million.

    items_by_id(services, request, category, run_id)         the versions asked for (NotFoundError: one is missing)
    own_paths_by_id(services, resource, category, run, ids)  folder id -> its path, as recorded on the folder
    selected_by_id(services, request, category, folders, run_id)  (version, folder path) of each item asked for"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.errors import NotFoundError

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreRequest
    from core.storage.catalog import ItemVersion
    from core.workloads.base import Selected


def items_by_id(services: Services, request: RestoreRequest, category: str, run_id: str) -> list[ItemVersion]:
    """The version of each item id the request names, as of the run, in the order named."""
    found = services.catalog.versions_as_of(request.resource, category, request.item_ids, run_id)
    missing = sorted(set(request.item_ids) - set(found))
    if missing:
        raise NotFoundError(f"not in the backup as of run {run_id}: {', '.join(missing)}")
    return list(found.values())


def own_paths_by_id(
    services: Services, resource: str, folder_category: str, run_id: str, folder_ids: Iterable[str]
) -> dict[str, str]:
    """folder id -> the folder's path as of the run (a folder records its own path), for those the run holds."""
    ids = [f for f in dict.fromkeys(folder_ids) if f]
    found = services.catalog.versions_as_of(resource, folder_category, ids, run_id)
    return {k: v.folder_path for k, v in found.items()}


def selected_by_id(
    services: Services, request: RestoreRequest, category: str, folder_category: str, run_id: str
) -> list[Selected]:
    """(version, folder path as of the run) of each item the request names: one read per item and one per folder
    they are in (an item whose folder the run lacks keeps the path it was captured under)."""
    versions = items_by_id(services, request, category, run_id)
    paths = own_paths_by_id(services, request.resource, folder_category, run_id, (v.folder_id for v in versions))
    return [(v, paths.get(v.folder_id, v.folder_path)) for v in versions]
