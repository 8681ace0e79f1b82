"""SharePoint list items as standard files, as of a run: one item as its JSON (every field value, who and when,
its version history), and a list (a folder scope: its title), or every list, as a zip holding per list
`<title>/<title>.csv` (a header row of column names, then a row per item: ID, every writable field, Created,
Modified, Created By, Modified By) and `<title>/<title>.json` (the list's schema and every item as stored), then
manifest.json. The counts say how many files were written (`items`, as for every export: entries besides the
manifest), and how many lists and list items they hold (`lists`, `rows`).

Memory: one list's items are held while its two files are written (lists are read one after another)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any, BinaryIO

from core import work_progress
from core.catalog_view import Scope
from core.errors import NotFoundError, StorageError
from core.exports.files_export import check_folder, directory, selected, split_name
from core.exports.zip_entries import MANIFEST, UniqueNames
from core.exports.zip_stream import ZipStreamWriter
from core.storage.catalog import ItemVersion
from core.workloads.base import Rendered
from core.workloads.lists.list_schema import writable_fields

if TYPE_CHECKING:
    from core.bootstrap import Services

JSON = "application/json"


def list_item_file(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    """One list item: its stored JSON."""
    return Rendered(services.content.iter_chunks(version.content_hash), version.size)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _who(identity: Any) -> str:
    user = identity.get("user") if isinstance(identity, dict) else None
    return str(user.get("email") or user.get("displayName") or "") if isinstance(user, dict) else ""


def list_csv(schema: dict[str, Any], documents: list[dict[str, Any]]) -> bytes:
    """The list as CSV (RFC 4180, UTF-8 with a BOM so spreadsheet programs read it as UTF-8)."""
    names = writable_fields(schema)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ID", *names, "Created", "Modified", "Created By", "Modified By"])
    for doc in documents:
        fields = doc.get("fields") if isinstance(doc.get("fields"), dict) else {}
        writer.writerow([doc.get("id"), *(_cell(fields.get(n)) for n in names), doc.get("createdDateTime") or "",
                         doc.get("lastModifiedDateTime") or "", _who(doc.get("createdBy")),
                         _who(doc.get("lastModifiedBy"))])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def list_json(schema: dict[str, Any], documents: list[dict[str, Any]]) -> bytes:
    return json.dumps({"list": schema, "items": documents}, ensure_ascii=False, indent=1).encode("utf-8")


def write_lists_zip(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """The zip of a list (folder: its title) or of every list (None)."""
    check_folder(scope, folder)
    by_list: dict[str, list[ItemVersion]] = defaultdict(list)
    for version, _path in selected(services, scope, folder):
        by_list[version.folder_id].append(version)
    lists = [f for f, p in scope.paths.items() if folder is None or p == folder or by_list.get(f)]
    names, entries, failures = UniqueNames(), [], []
    total = rows = 0
    work_progress.plan(sum(len(versions) for versions in by_list.values()))  # to whoever watches: the CLI
    with ZipStreamWriter(out) as zw:
        for list_id in sorted(lists, key=lambda f: scope.paths.get(f, "")):
            title = scope.paths.get(list_id, list_id)
            try:
                schema = json.loads(services.content.read(scope.folders[list_id].content_hash))
                documents = [json.loads(services.content.read(v.content_hash)) for v in by_list.get(list_id, [])]
            except (NotFoundError, StorageError, ValueError, KeyError) as exc:  # listed, never dropped silently
                failures.append({"id": list_id, "folder": title, "error": str(exc)[:500]})
                for version in by_list.get(list_id, []):
                    work_progress.finished(version.item_id, "failed")
                continue
            documents.sort(key=lambda d: int(d["id"]) if str(d.get("id", "")).isdigit() else 0)
            for suffix, data in ((".csv", list_csv(schema, documents)), (".json", list_json(schema, documents))):
                name = names.claim(directory(title, "list"), *split_name(title, "list", suffix))
                total += zw.write_stream(name, iter([data]), size=len(data))
                entries.append({"list": list_id, "path": name, "size": len(data), "items": len(documents)})
            rows += len(documents)
            for version in by_list.get(list_id, []):
                work_progress.finished(version.item_id)
        head = {"resource": scope.resource, "run_id": scope.run_id, "category": scope.category, "folder": folder}
        manifest = {**head, "files": entries, "failures": failures}
        zw.write_stream(MANIFEST, iter([json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")]))
    return {"run_id": scope.run_id, "items": len(entries), "lists": len(entries) // 2, "rows": rows, "bytes": total,
            "zip_bytes": zw.bytes_written, "failed": len(failures)}  # fmt: skip
