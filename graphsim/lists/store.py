"""SharePoint lists of the simulated sites: lists (list resource, https://learn.microsoft.com/graph/api/resources/list),
their columns (columnDefinition, https://learn.microsoft.com/graph/api/resources/columndefinition), items with their
field values (listItem and fieldValueSet, https://learn.microsoft.com/graph/api/resources/listitem) and versions
(listItemVersion, https://learn.microsoft.com/graph/api/resources/listitemversion), and the per-list change sequence
that list item delta reads.

Field values as Graph shows them: a personOrGroup or lookup column `X` appears in `fields` as `XLookupId` (the
id in the site's User Information List or the looked-up list, a string) and is written the same way; system columns
(ID, Created, Modified, Author, Editor, ContentType, Attachments, _UIVersionString) are read-only."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from graphsim.drives.store import Identity
from graphsim.errors import GraphError
from graphsim.ids import iso

LOOKUP_KINDS = ("personOrGroup", "lookup")
KINDS = ("text", "number", "choice", "dateTime", "boolean", *LOOKUP_KINDS)
ITEM_TYPE = "0x0100A1B2C3D4E5F60718293A4B5C6D7E8F90"  # the 'Item' content type id of the simulated lists


def system_columns() -> list[dict[str, Any]]:
    """The read-only columns every list has (as GET /lists/{id}/columns shows them)."""
    return [
        {"name": "ID", "displayName": "ID", "readOnly": True, "number": {}},
        {"name": "ContentType", "displayName": "Content Type", "readOnly": True, "text": {}},
        {"name": "Created", "displayName": "Created", "readOnly": True, "dateTime": {"format": "dateTime"}},
        {"name": "Modified", "displayName": "Modified", "readOnly": True, "dateTime": {"format": "dateTime"}},
        {"name": "Author", "displayName": "Created By", "readOnly": True, "personOrGroup": {}},
        {"name": "Editor", "displayName": "Modified By", "readOnly": True, "personOrGroup": {}},
        {"name": "Attachments", "displayName": "Attachments", "readOnly": True, "boolean": {}},
        {"name": "_UIVersionString", "displayName": "Version", "readOnly": True, "hidden": True, "text": {}},
    ]


def column_kind(column: dict[str, Any]) -> str:
    return next((k for k in KINDS if isinstance(column.get(k), dict)), "text")


def make_column(raw: dict[str, Any], list_id: str) -> dict[str, Any]:
    """A columnDefinition as stored, from a create body: name and one type facet (text when none)."""
    name = raw.get("name")
    if not isinstance(name, str) or not name or not name.replace("_", "").isalnum():
        raise GraphError(400, "invalidRequest", f"Invalid column name {name!r}.")
    kind = column_kind(raw)
    column = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"column:{list_id}:{name}")),
        "name": name,
        "displayName": str(raw.get("displayName") or name),
        "description": str(raw.get("description") or ""),
        "columnGroup": "Custom Columns",
        "enforceUniqueValues": False,
        "hidden": bool(raw.get("hidden", False)),
        "indexed": bool(raw.get("indexed", False)),
        "readOnly": False,
        "required": bool(raw.get("required", False)),
        kind: dict(raw.get(kind) or {}),
    }
    if kind == "choice" and not isinstance(column["choice"].get("choices"), list):
        raise GraphError(400, "invalidRequest", f"Column {name!r}: a choice column needs choices.")
    return column


@dataclass
class ListItem:
    id: str  # "1", "2", ...: the item's number in its list
    fields: dict[str, Any]  # the writable field values (column name, or XLookupId)
    created: dt.datetime
    modified: dt.datetime
    author: Identity
    editor: Identity
    author_lookup: str
    editor_lookup: str
    guid: str
    version: int = 1
    seq: int = 0
    deleted: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)  # oldest first: (label, modified, editor, fields)


@dataclass
class SpList:
    id: str
    site_id: str
    name: str
    display_name: str
    template: str
    created: dt.datetime
    web_url: str
    description: str = ""
    hidden: bool = False
    system: bool = False
    drive_id: str | None = None  # documentLibrary lists: the drive the drive surface serves
    columns: list[dict[str, Any]] = field(default_factory=list)  # custom and template columns (writable)
    items: dict[str, ListItem] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0  # delta token generation: bumping it expires every outstanding token of the list
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def all_columns(self) -> list[dict[str, Any]]:
        return [*self.columns, *system_columns()]

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@odata.etag": f'"{self.id},{self.seq}"',
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "description": self.description,
            "createdDateTime": iso(self.created),
            "lastModifiedDateTime": iso(self.created),
            "webUrl": self.web_url,
            "parentReference": {"siteId": self.site_id},
            "list": {"contentTypesEnabled": False, "hidden": self.hidden, "template": self.template},
        }
        if self.system:
            body["system"] = {}
        return body

    def writable(self) -> dict[str, str]:
        """field name -> column kind of every writable field (XLookupId for person and lookup columns)."""
        names: dict[str, str] = {}
        for column in self.columns:
            kind = column_kind(column)
            names[f"{column['name']}LookupId" if kind in LOOKUP_KINDS else column["name"]] = kind
        return names

    def check_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values of a create or update, checked against the columns as SharePoint checks them: unknown
        fields and read-only ones are refused with 400 (fieldValueSet, listItem: update)."""
        writable = self.writable()
        read_only = {c["name"] for c in system_columns()} | {"AuthorLookupId", "EditorLookupId", "id"}
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name.startswith("@") or name.endswith("@odata.type"):
                continue
            if name in read_only:
                raise GraphError(400, "invalidRequest", f"Field '{name}' is read-only")
            kind = writable.get(name)
            if kind is None:
                raise GraphError(400, "invalidRequest", f"Field '{name}' is not recognized")
            checked[name] = _checked_value(self, name, kind, value)
        return checked

    def item_fields(self, item: ListItem) -> dict[str, Any]:
        """The item's fieldValueSet as GET .../items/{id}/fields shows it: system fields and its values."""
        return {
            "@odata.etag": f'"{item.guid},{item.version}"',
            "id": item.id,
            "ContentType": "Item",
            **item.fields,
            "Modified": iso(item.modified),
            "Created": iso(item.created),
            "AuthorLookupId": item.author_lookup,
            "EditorLookupId": item.editor_lookup,
            "_UIVersionString": f"{item.version}.0",
            "Attachments": False,
        }

    def item_json(self, item: ListItem, expand_fields: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@odata.etag": f'"{item.guid},{item.version}"',
            "eTag": f'"{item.guid},{item.version}"',
            "id": item.id,
            "createdDateTime": iso(item.created),
            "lastModifiedDateTime": iso(item.modified),
            "webUrl": f"{self.web_url}/DispForm.aspx?ID={item.id}",
            "createdBy": item.author.to_json(),
            "lastModifiedBy": item.editor.to_json(),
            "parentReference": {"id": self.id, "siteId": self.site_id},
            "contentType": {"id": ITEM_TYPE, "name": "Item"},
        }
        if expand_fields:
            body["fields"] = self.item_fields(item)
        return body

    def tombstone(self, item: ListItem) -> dict[str, Any]:
        """A deleted item in list item delta: its id and a `deleted` facet (listItem: delta, example 2)."""
        return {"id": item.id, "parentReference": {"siteId": self.site_id},
                "contentType": {"id": ITEM_TYPE, "name": "Item"}, "deleted": {"state": "deleted"}}  # fmt: skip

    def add(self, values: dict[str, Any], who: Identity, lookup: str, when: dt.datetime) -> ListItem:
        item_no = str(next(self.counter))
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"item:{self.id}:{item_no}")).upper()
        self.seq += 1
        checked = {k: v for k, v in self.check_fields(values).items() if v is not None}
        item = ListItem(item_no, checked, when, when, who, who, lookup, lookup, guid, seq=self.seq)
        self.items[item_no] = item
        self._record_version(item)
        return item

    def update(self, item: ListItem, values: dict[str, Any], who: Identity, lookup: str, when: dt.datetime) -> None:
        for name, value in self.check_fields(values).items():  # null clears a field
            if value is None:
                item.fields.pop(name, None)
            else:
                item.fields[name] = value
        item.version += 1
        item.modified, item.editor, item.editor_lookup = when, who, lookup
        self.seq += 1
        item.seq = self.seq
        self._record_version(item)

    def delete(self, item: ListItem) -> None:
        item.deleted = True
        self.seq += 1
        item.seq = self.seq

    def live(self) -> list[ListItem]:
        return [i for i in self.items.values() if not i.deleted]

    def _record_version(self, item: ListItem) -> None:
        item.versions.append({"id": f"{item.version}.0", "lastModifiedDateTime": iso(item.modified),
                              "lastModifiedBy": item.editor.to_json(), "fields": self.item_fields(item)})  # fmt: skip


def _checked_value(sp_list: SpList, name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    bad = GraphError(400, "invalidRequest", f"Invalid value for field '{name}' ({kind}): {value!r:.60}")
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind in LOOKUP_KINDS:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise bad
        return str(value)
    if not isinstance(value, str):
        raise bad
    if kind == "choice":
        column = next(c for c in sp_list.columns if c["name"] == name)
        if value not in column["choice"]["choices"] and not column["choice"].get("allowTextEntry"):
            raise bad
    if kind == "dateTime":
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise bad from None
    return value
