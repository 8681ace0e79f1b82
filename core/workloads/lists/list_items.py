"""SharePoint list items, the second category of a site (core/workloads/files/workloads.py): kept as their JSON with
every field value and their version history, each list's schema in its container version (list_backup.py),
restored in place or into a new list with the same schema (list_restore.py), downloaded as JSON and exported as a
zip of a CSV and a JSON file per list (core/exports/lists_export.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.exports.lists_export import JSON, list_item_file, write_lists_zip
from core.workloads.base import Category, Selected, Selection
from core.workloads.lists.list_backup import LIST_FOLDER, LIST_ITEM
from core.workloads.lists.list_restore import CONFLICTS, restore_list_items, select_list_items

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreReport, RestoreRequest


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_list_items(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_list_items(services, request, items)


LIST_ITEM_CATEGORY = Category(
    name=LIST_ITEM,
    folder_category=LIST_FOLDER,
    noun="list items",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=list_item_file,
    export_zip=write_lists_zip,
    splits=False,  # a part reads its target lists' items once: one part sees every item it compares against
    time_field="modified",
    fallback_name="list item",
    suffix=".json",
    media_type=JSON,
)
