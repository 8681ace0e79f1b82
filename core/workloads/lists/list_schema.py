"""A restore's target lists: the backed-up list itself when it is still there (same site), or a list with the same
schema, found by its title or made: `POST /sites/{id}/lists` with the template ("Create list",
https://learn.microsoft.com/graph/api/list-create: the template brings its own columns), then each writable column
the template did not bring, `POST /sites/{id}/lists/{list}/columns` ("Create columnDefinition",
https://learn.microsoft.com/graph/api/list-post-columns). Every step looks before it writes, so a part run again
finds the list and the columns the first attempt made instead of making them twice.

Which fields a restore writes: those of the backed-up schema's writable columns (not readOnly), a personOrGroup or
lookup column `X` as `XLookupId`, as Graph reads and writes them (fieldValueSet,
https://learn.microsoft.com/graph/api/resources/fieldvalueset)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.errors import GraphConflict, GraphNotFound, NotFoundError
from core.workloads.ensure_container import child_named, ensure_child
from core.workloads.lists.list_backup import LIST_FOLDER, list_path, site_path

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.storage.catalog import ItemVersion

LOOKUP_KINDS = ("personOrGroup", "lookup")
KINDS = ("text", "number", "choice", "dateTime", "boolean", "currency", "hyperlinkOrPicture", "calculated",
         "personOrGroup", "lookup", "term", "geolocation", "thumbnail", "contentApprovalStatus")  # fmt: skip
COLUMN_KEYS = ("name", "displayName", "description", "required", "hidden", "indexed", "enforceUniqueValues")
# SharePoint's own fields, set by SharePoint whatever a column definition says of them (they are never written)
SYSTEM_FIELDS = frozenset({"ID", "ContentType", "Created", "Modified", "Author", "Editor", "Attachments", "Edit",
                           "LinkTitle", "LinkTitleNoMenu", "DocIcon", "ItemChildCount", "FolderChildCount",
                           "AppAuthor", "AppEditor", "ComplianceAssetId", "_UIVersionString"})  # fmt: skip


def schema_of(services: Services, resource: str, list_id: str, run_id: str) -> dict[str, Any]:
    """The list's schema as of the run (its container version's content)."""
    found = services.catalog.versions_as_of(resource, LIST_FOLDER, [list_id], run_id)
    if list_id not in found:
        raise NotFoundError(f"no list {list_id} in the backup of {resource} as of run {run_id}")
    return json.loads(services.content.read(found[list_id].content_hash))


def kind_of(column: dict[str, Any]) -> str | None:
    return next((k for k in KINDS if isinstance(column.get(k), dict)), None)


def writable_fields(schema: dict[str, Any]) -> list[str]:
    """The field names a restore sets: every writable column of the schema (XLookupId for person and lookup)."""
    names = []
    for column in schema.get("columns") or []:
        name = column.get("name")
        if not name or column.get("readOnly") or name in SYSTEM_FIELDS or kind_of(column) == "calculated":
            continue
        names.append(f"{name}LookupId" if kind_of(column) in LOOKUP_KINDS else name)
    return names


def restorable(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """field -> value of every writable field of a stored item (None: the field was empty)."""
    fields = document.get("fields") if isinstance(document.get("fields"), dict) else {}
    return {name: fields.get(name) for name in writable_fields(schema)}


def fingerprint(values: dict[str, Any]) -> str:
    """What makes two items the same to a restore: their non-empty writable field values."""
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True, ensure_ascii=False)


def _lists(graph: GraphClient, site: str) -> list[dict[str, Any]]:
    params = {"$select": "id,displayName,list", "$top": "100"}
    return [x for page in graph.iter_pages(f"{site_path(site)}/lists", params=params) for x in page]


def list_exists(graph: GraphClient, site: str, list_id: str) -> bool:
    try:
        graph.get_json(list_path(site, list_id), params={"$select": "id"})
    except GraphNotFound:
        return False
    return True


def ensure_list(graph: GraphClient, site: str, name: str, schema: dict[str, Any]) -> str:
    """The id of the list titled `name` in `site`, made with the schema's template and columns when missing;
    its missing writable columns are added either way."""
    template = (schema.get("list") or {}).get("template") or "genericList"
    body = {"displayName": name, "description": schema.get("description") or "", "list": {"template": template}}
    list_id, _made = ensure_child(
        lambda: child_named(_lists(graph, site), name),
        lambda: graph.post_json(f"{site_path(site)}/lists", body, replay_safe=True),  # a repeat answers 409
        what="list",
    )
    ensure_columns(graph, site, list_id, schema)
    return list_id


def ensure_columns(graph: GraphClient, site: str, list_id: str, schema: dict[str, Any]) -> None:
    """Each writable column of the schema the list lacks, added."""
    url = f"{list_path(site, list_id)}/columns"
    present = {c.get("name") for page in graph.iter_pages(url) for c in page}
    for column in schema.get("columns") or []:
        kind = kind_of(column)
        if column.get("readOnly") or column.get("name") in present | SYSTEM_FIELDS or kind is None:
            continue
        body = {k: column[k] for k in COLUMN_KEYS if k in column}
        body[kind] = column[kind]
        try:
            graph.post_json(url, body, replay_safe=True)
        except GraphConflict:  # made meanwhile, or by this very request whose first answer was lost
            continue


def item_document(services: Services, version: ItemVersion) -> dict[str, Any]:
    return json.loads(services.content.read(version.content_hash))
