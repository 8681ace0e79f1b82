"""The SharePoint list item kind on the delta engine: containers are a site's lists, items come through list item
delta ("listItem: delta", https://learn.microsoft.com/graph/api/listitem-delta) with `$expand=fields`, applied by
the Outlook-style container round (core/workloads/container_delta.py) so there is one delta loop.

Which lists: `GET /sites/{id}/lists` ("List lists", https://learn.microsoft.com/graph/api/list-list) without
`system` in `$select`, so system-managed lists are left out by Graph itself; of the rest, hidden lists
(`list.hidden`: SharePoint's own plumbing such as the User Information List, TaxonomyHiddenList, appdata; not what
users keep) and libraries (a template ending in 'Library': documentLibrary, webPageLibrary, ...: their items are
files, which the drive category keeps) are skipped.

A list item's catalog id is '<list id>:<item id>' (item ids are numbers, unique only within their list). Its
content is its canonical JSON (every field value, content type, created/modified and who), with its version
history (`GET .../items/{id}/versions?$expand=fields`, "List versions of a listItem",
https://learn.microsoft.com/graph/api/listitem-list-versions) read whenever its eTag changed. A list's schema (its
columns, template, description: "List columns", https://learn.microsoft.com/graph/api/list-list-columns) is the
content of the list's container version, so a restore into a new list can recreate it.

Delta entries are normalized before the round applies them: a `deleted` facet becomes `@removed` (how this delta
shows a deletion), the eTag is the change key, and the id the catalog id."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.graph.client import GraphClient
from core.storage.catalog import ItemVersion, OpenVersion
from core.workloads.container_delta import Fetched, ItemKind, MailboxJob
from core.workloads.exchange.contacts_backup import canonical_json

LIST_ITEM = "listitem"
LIST_FOLDER = "splist"
SEP = ":"  # between a list id and an item id in a catalog id
LIST_SELECT = "id,name,displayName,description,list,webUrl"


def site_path(site: str) -> str:
    return f"sites/{quote(site, safe=',')}"


def list_path(site: str, list_id: str) -> str:
    return f"{site_path(site)}/lists/{quote(list_id, safe='')}"


def split_id(catalog_id: str) -> tuple[str, str]:
    """(list id, item id) of a catalog id."""
    list_id, _, item_id = catalog_id.rpartition(SEP)
    return list_id, item_id


def is_backed_up(raw: dict[str, Any]) -> bool:
    """A list whose items are list items users keep: not hidden, not a library (see the module docstring)."""
    info = raw.get("list") if isinstance(raw.get("list"), dict) else {}
    template = str(info.get("template") or "")
    return not info.get("hidden") and not template.lower().endswith("library") and "system" not in raw


def list_lists(graph: GraphClient, site: str) -> tuple[list[Container], dict[str, dict[str, Any]]]:
    """The site's lists to back up as containers (path: the list's display name), and each one's listing entry."""
    containers: list[Container] = []
    raws: dict[str, dict[str, Any]] = {}
    for page in graph.iter_pages(f"{site_path(site)}/lists", params={"$select": LIST_SELECT, "$top": "100"}):
        for raw in page:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str) and is_backed_up(raw):
                name = str(raw.get("displayName") or raw.get("name") or raw["id"])
                containers.append(Container(raw["id"], name, "", name.replace("/", "_")))
                raws[raw["id"]] = raw
    return containers, raws


def list_schema(graph: GraphClient, site: str, raw: dict[str, Any]) -> bytes:
    """A list's schema as stored: display name, description, template and every column definition."""
    columns = [c for page in graph.iter_pages(f"{list_path(site, raw['id'])}/columns") for c in page]
    info = raw.get("list") if isinstance(raw.get("list"), dict) else {}
    schema = {"id": raw["id"], "displayName": raw.get("displayName"), "name": raw.get("name"),
              "description": raw.get("description") or "", "list": {"template": info.get("template")},
              "columns": [{k: v for k, v in c.items() if not k.startswith("@")} for c in columns]}  # fmt: skip
    return canonical_json(schema)


def record_lists(job: MailboxJob, lists: list[Container], raws: dict[str, dict[str, Any]],
                 index: dict[str, OpenVersion]) -> None:  # fmt: skip
    """List versions: a new version when a list appears, is renamed or its schema changes; ended when it is gone
    from the listing. The schema is the version's content."""
    current = {c.id for c in lists}
    for container in lists:
        stored = store_content(job.content, job.report, list_schema(job.graph, job.user, raws[container.id]),
                               "application/json")  # fmt: skip
        signature = f"{container.signature}\n{stored.sha256}"
        previous = index.get(container.id)
        if previous is not None and previous.change_key == signature:
            continue
        info = raws[container.id].get("list") or {}
        job.writer.supersede(previous, ItemVersion(
            category=LIST_FOLDER, item_id=container.id, first_seen_run=job.run_id, folder_path=container.path,
            name=container.name, content_hash=stored.sha256, size=stored.size, change_key=signature,
            extra=json.dumps({"template": info.get("template"), "webUrl": raws[container.id].get("webUrl")}),
        ))  # fmt: skip
    for list_id, previous in index.items():
        if list_id not in current:
            job.writer.close(LIST_FOLDER, list_id, previous.first_seen_run, job.run_id)
    job.writer.flush()


def normalized(list_id: str, entry: Any) -> Any:
    """A list item delta entry (or an item read by id) in the shape the container round applies."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return entry
    if isinstance(entry.get("deleted"), dict):
        return {"id": f"{list_id}{SEP}{entry['id']}", "@removed": {"reason": "deleted"}}
    return {**entry, "id": f"{list_id}{SEP}{entry['id']}", "itemId": entry["id"], "changeKey": entry.get("eTag")}


def _prepare(job: MailboxJob, container: Container, entries: list) -> list:
    return [normalized(container.id, e) for e in entries]


def _delta_path(site: str, container: Container) -> str:
    return f"{list_path(site, container.id)}/items/delta"


def item_path(site: str, catalog_id: str) -> str:
    list_id, item_id = split_id(catalog_id)
    return f"{list_path(site, list_id)}/items/{quote(item_id, safe='')}"


def _params(job: MailboxJob) -> dict[str, str]:
    # list item delta takes $expand and $top (not Prefer: odata.maxpagesize); the links keep them
    return {"$expand": "fields", "$top": str(job.page_size)}


def item_document(entry: dict[str, Any], versions: list[dict[str, Any]]) -> dict[str, Any]:
    """What is stored of an item: Graph's listItem as listed (its own id, no annotations), and its versions."""
    list_id, _ = split_id(entry["id"])
    document = {k: v for k, v in entry.items() if k not in ("changeKey", "itemId") and not k.startswith("@")}
    document.update(id=entry.get("itemId") or split_id(entry["id"])[1], listId=list_id)
    document["versions"] = [{k: v for k, v in x.items() if not k.startswith("@")} for x in versions]
    return document


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    url = f"{item_path(job.user, entry['id'])}/versions"
    versions = [v for page in job.graph.iter_pages(url, params={"$expand": "fields"}) for v in page]
    stored = store_content(job.content, job.report, canonical_json(item_document(entry, versions)), "application/json")
    return stored.sha256, stored.size, json.dumps({"versions": len(versions)})


def _person(value: Any) -> str:
    user = value.get("user") if isinstance(value, dict) else None
    return str((user or {}).get("email") or (user or {}).get("displayName") or "") if isinstance(user, dict) else ""


def _describe(entry: dict) -> dict[str, Any]:
    fields = entry.get("fields") if isinstance(entry.get("fields"), dict) else {}
    title = fields.get("Title") or f"Item {entry.get('itemId') or split_id(entry['id'])[1]}"
    return {
        "name": str(title)[:1000],
        "sender": _person(entry.get("createdBy"))[:320],
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "received": str(entry.get("createdDateTime") or ""),
    }


LIST_ITEM_KIND = ItemKind(
    category=LIST_ITEM,
    folder_category=LIST_FOLDER,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    item_path=item_path,
    params=_params,
    prefer_page_size=False,
    prepare=_prepare,
)
