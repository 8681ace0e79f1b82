"""Restore of SharePoint list items as of a run: items, a whole list (a folder scope: the list's title) or every
list, into their own lists (in place) or into a new list with the same schema (`destination="new-folder"`, named
by `destination_name`; one new list per source list, the source title appended when the selection spans several),
in the same site or another.

In place, an item whose id is still in its list is a conflict: "skip" leaves it, "replace" writes every writable
field back (`PATCH .../items/{id}/fields`, "Update listItem", https://learn.microsoft.com/graph/api/listitem-update;
a field empty in the backup is cleared), "keep-both" adds a copy. Otherwise the item is created (`POST .../items`
with its `fields`, "Create listItem", https://learn.microsoft.com/graph/api/listitem-create), unless an item with
the same writable field values is already there: a copy an earlier attempt made (a list item has no property a
restore could mark it with), which is how a rerun never creates anything twice. A create whose answer was lost
(GraphAmbiguousWrite) is looked up the same way before it is sent again.

What Graph does not let a restore set: Created, Modified, Author and Editor are read-only (a restored item is
created now, by the app), and an item's version history cannot be written (the restored item starts at version
1.0); both stay in the backup (the stored item and its versions) and in exports."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import BackupError, GraphAmbiguousWrite, NotFoundError
from core.restore_request import RestoreReport, RestoreRequest
from core.workloads.base import Selected
from core.workloads.folder_paths import is_within
from core.workloads.lists.list_backup import LIST_FOLDER, LIST_ITEM, list_path
from core.workloads.lists.list_schema import (
    ensure_columns,
    ensure_list,
    fingerprint,
    item_document,
    list_exists,
    restorable,
    schema_of,
)
from core.workloads.selection_reads import selected_by_id

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.storage.catalog import ItemVersion

CONFLICTS = ("skip", "replace", "keep-both")
CREATE_ATTEMPTS = 3


def select_list_items(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    """(version, list title as of the run) of every item the request selects; NotFoundError for a scope the run
    lacks. Item ids are read by id; a list (folder) or everything by a scan of the lists and their items."""
    if request.item_ids:
        return selected_by_id(services, request, LIST_ITEM, LIST_FOLDER, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(request.resource, LIST_FOLDER, run_id)}
    if request.folder is not None and not any(is_within(p, request.folder) for p in paths.values()):
        raise NotFoundError(f"no list {request.folder!r} in the backup as of run {run_id}")
    selected = []
    for version in services.catalog.as_of(request.resource, LIST_ITEM, run_id):
        path = paths.get(version.folder_id, version.folder_path)
        if request.whole or (request.folder is not None and is_within(path, request.folder)):
            selected.append((version, path))
    return selected


class _Target:
    """One target list: its id, and its items read once (id -> fingerprint, fingerprint -> ids)."""

    def __init__(self, graph: GraphClient, site: str, list_id: str, schema: dict[str, Any], in_place: bool) -> None:
        self.graph, self.site, self.id, self.schema, self.in_place = graph, site, list_id, schema, in_place
        self.items: dict[str, str] = {}
        self.prints: dict[str, str] = {}
        self.refresh()

    @property
    def url(self) -> str:
        return f"{list_path(self.site, self.id)}/items"

    def refresh(self) -> None:
        self.items.clear()
        self.prints.clear()
        for page in self.graph.iter_pages(self.url, params={"$expand": "fields", "$top": "999"}):
            for item in page:
                values = restorable(self.schema, item)
                self.items[str(item["id"])] = fingerprint(values)
                self.prints.setdefault(fingerprint(values), str(item["id"]))

    def create(self, values: dict[str, Any]) -> str:
        body = {"fields": {k: v for k, v in values.items() if v is not None}}
        wanted = fingerprint(values)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = self.graph.post_json(self.url, body)
            except GraphAmbiguousWrite:
                self.refresh()  # did it happen? look before sending it again
                if wanted in self.prints:
                    return self.prints[wanted]
                if attempt == CREATE_ATTEMPTS:
                    raise
                continue
            new_id = str(created["id"])
            self.items[new_id] = wanted
            self.prints.setdefault(wanted, new_id)
            return new_id
        raise AssertionError("unreachable")

    def replace(self, item_id: str, values: dict[str, Any]) -> None:
        self.graph.request("PATCH", f"{self.url}/{quote(item_id, safe='')}/fields", json=values)
        self.items[item_id] = fingerprint(values)
        self.prints.setdefault(fingerprint(values), item_id)


def restore_list_items(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    """Restore `items` as of the run the request is pinned to (validate_restore checked the point, the conflict
    policy and the target once)."""
    graph, source_site = services.graph, request.key.owner
    site = request.target_owner or source_site
    report = RestoreReport(request.resource, str(request.run_id), site, "")
    by_list: dict[str, list[Selected]] = defaultdict(list)
    for version, path in items:
        by_list[version.folder_id].append((version, path))
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
    for list_id, selected in sorted(by_list.items(), key=lambda kv: kv[1][0][1]):
        title = selected[0][1]
        try:
            schema = schema_of(services, request.resource, list_id, str(request.run_id))
            target = _target(graph, request, site, list_id, title, schema, report.destination, len(by_list) > 1)
        except (BackupError, ValueError) as exc:
            for version, _path in selected:
                report.fail(version.item_id, exc)
            continue
        for version, path in sorted(selected, key=lambda vp: vp[0].item_id):
            _restore_one(services, request, target, version, path, report)
    return report


def _target(graph: GraphClient, request: RestoreRequest, site: str, list_id: str, title: str, schema: dict[str, Any],
            new_name: str, several: bool) -> _Target:  # fmt: skip
    if request.destination == "new-folder":
        name = f"{new_name} {title}" if several else new_name
        return _Target(graph, site, ensure_list(graph, site, name, schema), schema, in_place=False)
    if site == request.key.owner and list_exists(graph, site, list_id):
        ensure_columns(graph, site, list_id, schema)  # a column deleted since the backup comes back
        return _Target(graph, site, list_id, schema, in_place=True)
    return _Target(graph, site, ensure_list(graph, site, title, schema), schema, in_place=False)


def _restore_one(services: Services, request: RestoreRequest, target: _Target, version: ItemVersion, path: str,
                 report: RestoreReport) -> None:  # fmt: skip
    entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash, "new_id": ""}
    try:
        document = item_document(services, version)
        values = restorable(target.schema, document)
        original = str(document.get("id") or "")
        here = target.in_place and original in target.items
        if here and request.conflict == "replace":
            target.replace(original, values)
            report.done(entry, original)
            return
        if here and request.conflict == "keep-both":
            copies = [i for i, p in target.items.items() if p == fingerprint(values) and i != original]
            if copies:  # a copy an earlier attempt made
                report.skip(entry)
                return
            report.done(entry, target.create(values))
            return
        if here or fingerprint(values) in target.prints:
            report.skip(entry)
            return
        report.done(entry, target.create(values))
    except (BackupError, ValueError, KeyError) as exc:
        report.fail(version.item_id, exc)
