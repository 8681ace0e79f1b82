"""Group posts as a category: selected from the catalog as of a run, restored by posts_restore.py (by default as
received messages into a mailbox folder, notifying nobody; into the group itself only with `notify_attendees`),
downloaded as their JSON (with their attachments named), exported per thread as a readable text file (the zip's
manifest names each thread's posts)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any, BinaryIO

from core import work_progress
from core.errors import NotFoundError
from core.workloads.base import Category, Rendered, Selected, Selection
from core.workloads.groups.posts_backup import POST, THREAD
from core.workloads.groups.posts_restore import CONFLICTS, restore_posts

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.catalog_view import Scope
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion

JSON = "application/json"


def _extra(version: ItemVersion) -> dict[str, Any]:
    return json.loads(version.extra) if version.extra else {}


def content_refs(version: ItemVersion) -> tuple[str, ...]:
    """The post's JSON and each file attachment's bytes."""
    return (version.content_hash, *(a["sha256"] for a in _extra(version).get("attachments") or []))


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    versions = list(services.catalog.as_of(request.resource, POST, run_id))
    if request.item_ids:
        wanted = set(request.item_ids)
        versions = [v for v in versions if v.item_id in wanted]
        missing = wanted - {v.item_id for v in versions}
        if missing:
            raise NotFoundError(f"run {run_id} holds no post {sorted(missing)[0]!r} of {request.resource}")
    elif request.folder is not None:
        versions = [v for v in versions if v.folder_path == request.folder]
    items: list[Selected] = [(v, v.folder_path) for v in versions]
    return Selection(items)


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_posts(services, request, items)


def post_document(services: Services, version: ItemVersion) -> dict[str, Any]:
    post = json.loads(services.content.read(version.content_hash))
    post["attachments"] = _extra(version).get("attachments") or []
    return post


def _download(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    data = json.dumps(post_document(services, version), indent=2, ensure_ascii=False).encode()
    return Rendered(iter([data]), len(data))


def _text(post: dict[str, Any]) -> str:
    who = (post.get("from") or {}).get("emailAddress") or {}
    lines = [f"From: {who.get('name', '')} <{who.get('address', '')}>", f"Date: {post.get('receivedDateTime', '')}"]
    lines += [f"Attachment: {a.get('name')} ({a.get('size')} bytes)" for a in post.get("attachments") or []]
    return "\n".join([*lines, "", str((post.get("body") or {}).get("content") or ""), ""])


def _export(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    """One file per thread (`<topic>.txt`: its posts in order) plus the posts' JSON, and a manifest."""
    threads: dict[str, list[ItemVersion]] = {}
    for version in services.catalog.as_of(scope.resource, POST, scope.run_id):
        if folder is None or version.folder_path == folder:
            threads.setdefault(version.folder_id, []).append(version)
    manifest: list[dict[str, Any]] = []
    failed = 0
    work_progress.plan(sum(len(versions) for versions in threads.values()))  # to whoever watches: the CLI
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, (thread_id, versions) in enumerate(sorted(threads.items())):
            versions.sort(key=lambda v: (v.received, v.item_id))
            posts, read = [], []
            for version in versions:
                try:
                    posts.append(post_document(services, version))
                    read.append(version.item_id)
                except Exception:
                    failed += 1
                    work_progress.finished(version.item_id, "failed")
            name = f"{n + 1:03d} {''.join(c for c in versions[0].folder_path if c.isalnum() or c in ' -_')[:80]}"
            archive.writestr(f"{name}.txt", "\n---\n".join(_text(p) for p in posts))
            manifest.append({"thread": thread_id, "topic": versions[0].folder_path, "file": f"{name}.txt",
                             "posts": [v.item_id for v in versions]})  # fmt: skip
            for item_id in read:
                work_progress.finished(item_id)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return {"items": len(manifest), "posts": sum(len(m["posts"]) for m in manifest), "failed": failed}


def export_bytes(services: Services, scope: Scope, folder: str | None = None) -> bytes:
    out = io.BytesIO()
    _export(services, scope, folder, out)
    return out.getvalue()


POST_CATEGORY = Category(
    name=POST,
    folder_category=THREAD,
    noun="group posts",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    download=_download,
    export_zip=_export,
    splits=False,
    fallback_name="post",
    suffix=".json",
    media_type=JSON,
    content_refs=content_refs,
    options=("notify_attendees",),  # posted back into the group: members following it receive each post
)
