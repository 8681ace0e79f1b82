"""What a backup reads of an item's live version (`OpenVersion`), the projection it is read with, and the query of
a category's live rows (of one item, of one folder) in one resource's partition."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from core.storage import table_keys as keys


@dataclass(frozen=True, slots=True)
class OpenVersion:
    """What the backup engine needs to know about an item's live version to decide what changed."""

    first_seen_run: str
    folder_id: str
    content_hash: str
    change_key: str
    size: int = 0


OPEN_FIELDS = ["RowKey", "folder_id", "content_hash", "change_key", "size"]


def open_version(entity: dict[str, Any]) -> tuple[str, OpenVersion]:
    """(item id, live version) of a row read with the `OPEN_FIELDS` projection. The strings many rows repeat (the
    run a version was first seen in, its folder) are interned: one copy each, however many items."""
    _, item_id, first_seen = keys.split(entity["RowKey"])
    folder_id = sys.intern(entity.get("folder_id", "") or "")
    size = int(entity.get("size", 0) or 0)
    return item_id, OpenVersion(
        sys.intern(first_seen), folder_id, entity.get("content_hash", ""), entity.get("change_key", ""), size
    )


def open_query(resource: str, category: str, item_id: str | None, folder_id: str | None) -> tuple[str, dict[str, str]]:
    low, high = keys.prefix_range(category) if item_id is None else keys.prefix_range(category, item_id)
    query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and deleted_run eq ''"
    params = {"pk": keys.escape(resource), "low": low, "high": high}
    if folder_id is not None:
        query += " and folder_id eq @folder"
        params["folder"] = folder_id
    return query, params
