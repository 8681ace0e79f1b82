"""A group's conversations through the one delta engine (core.delta.lifecycle.run_category): each thread is a
container (catalog category 'groupthread'), each post one item (category 'grouppost': its canonical JSON, its file
attachments stored beside it as content blobs named in `extra`).

Graph has no delta for conversations. What the docs give (conversationThread resource,
https://learn.microsoft.com/graph/api/resources/conversationthread) is each thread's `lastDeliveredDateTime`, the
time its newest post was delivered, listed with every thread ("List threads",
https://learn.microsoft.com/graph/api/group-list-threads). So a thread's "delta link" here is that time: a round of a
thread whose time is the one saved asks Graph nothing; a thread with a new time (or none saved) has its posts listed
whole ("List posts", https://learn.microsoft.com/graph/api/conversationthread-list-posts), which is a full round of
the thread: posts it no longer lists are ended. What this can miss: a post deleted from a thread that receives no
new post (the thread's time does not move) stays live in the backup until the thread changes or goes; v1.0 has no
update of a post, so an edit is not a case. A thread that is gone from the listing is ended with its posts."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.delta.lifecycle import Failure, RoundDone, Settlement, States
from core.errors import GraphError, GraphNotFound, MalformedResponse, StorageError
from core.storage.catalog import ItemVersion, OpenVersion
from core.storage.delta_state import DeltaState
from core.storage.live_index import LiveIndex
from core.storage.quarantine import HeldItem

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport

POST = "grouppost"
THREAD = "groupthread"


def post_key(thread_id: str, post_id: str) -> str:
    return f"{thread_id}/{post_id}"


def split_key(key: str) -> tuple[str, str]:
    thread, _, post = key.partition("/")
    if not thread or not post or "/" in post:
        raise MalformedResponse(f"not a group post id: {key!r:.120}")
    return thread, post


def thread_path(group: str, thread_id: str) -> str:
    return f"groups/{quote(group, safe='')}/threads/{quote(thread_id, safe='')}"


def canonical_json(post: dict[str, Any]) -> bytes:
    clean = {k: v for k, v in post.items() if not k.startswith("@") and k != "attachments"}
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sender_name(post: dict[str, Any]) -> str:
    who = ((post.get("from") or {}).get("emailAddress") or {}) if isinstance(post.get("from"), dict) else {}
    return str(who.get("address") or who.get("name") or "")[:320]


class ThreadKind:
    """The engine's adapter for one group's threads and posts."""

    category = POST
    label = "group thread"
    retry_outside = False

    def __init__(self, services: Services, resource: str, run_id: str, group: str, report: BackupReport,
                 threads: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        self.services, self.resource, self.run_id, self.group, self.report = services, resource, run_id, group, report
        self.threads = threads  # thread id -> as listed now
        self.writer = services.catalog.writer(resource)
        self.index = LiveIndex(services.catalog, resource, POST)  # what the run touches, not all it holds
        self.folders: dict[str, OpenVersion] = services.catalog.open_index(resource, THREAD)
        self.held: dict[str, HeldItem] = {
            h.item_id: h for h in services.quarantine.held(resource) if h.category == POST
        }

    def record(self, containers: list[Container]) -> None:
        for container in containers:
            previous = self.folders.get(container.id)
            meta = {k: self.threads.get(container.id, {}).get(k) for k in ("topic", "isLocked")}
            signature = hashlib.sha256(json.dumps([container.path, meta], sort_keys=True).encode()).hexdigest()[:32]
            if previous is not None and previous.change_key == signature:
                continue
            self.writer.supersede(previous, ItemVersion(category=THREAD, item_id=container.id,
                                                        first_seen_run=self.run_id, folder_path=container.path,
                                                        name=container.name, change_key=signature,
                                                        extra=json.dumps(meta, sort_keys=True)))  # fmt: skip
        current = {c.id for c in containers}
        for thread_id, previous in self.folders.items():
            if thread_id not in current:
                self.writer.close(THREAD, thread_id, previous.first_seen_run, self.run_id)
        self.writer.flush()

    def known(self, states: States) -> dict[str, str]:
        return {cid: s.container_path for (category, cid), s in states.items() if category == POST}

    def run_round(self, container: Container, state: DeltaState | None) -> RoundDone:
        watermark = str(self.threads.get(container.id, {}).get("lastDeliveredDateTime") or "")
        if state is not None and watermark and state.delta_link == watermark:
            return RoundDone(watermark, False, set(), set(), Settlement())  # nothing delivered since: no request
        posts = [p for page in self.services.graph.iter_pages(f"{thread_path(self.group, container.id)}/posts",
                                                                params={"$expand": "inReplyTo"})
                 for p in page]  # fmt: skip
        seen: set[str] = set()
        settlement = Settlement()
        for raw in posts:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                self.report.fail(f"{container.path}: post", MalformedResponse(f"post without an id: {raw!r:.200}"))
                continue
            key = post_key(container.id, raw["id"])
            seen.add(key)
            try:
                if self.apply(container, raw):
                    settlement.released.append((key, "captured"))
            except (GraphError, StorageError) as exc:
                self.report.fail(f"{container.path}: post {raw['id']}", exc)
                settlement.failures.append(Failure(key, POST, container.id, exc))
        # a thread without a time (never, as documented) is listed every run: its link is the empty watermark
        return RoundDone(watermark or "-", True, seen, set(seen), settlement)

    def apply(self, container: Container, raw: dict[str, Any]) -> bool:
        """Store a post (and its attachments) unless its live version has the same change key; True if stored."""
        key = post_key(container.id, raw["id"])
        known = self.index.get(key)
        change_key = str(raw.get("changeKey") or hashlib.sha256(canonical_json(raw)).hexdigest()[:32])
        if known is not None and known.change_key == change_key and key not in self.held:
            return False
        content = store_content(self.services.content, self.report, canonical_json(raw), "application/json")
        files = self._attachments(container.id, raw) if raw.get("hasAttachments") else []
        extra = {"threadId": container.id, "postId": raw["id"], "conversationId": raw.get("conversationId"),
                 "inReplyTo": (raw.get("inReplyTo") or {}).get("id") if isinstance(raw.get("inReplyTo"), dict)
                 else None, "attachments": files}  # fmt: skip
        version = ItemVersion(category=POST, item_id=key, first_seen_run=self.run_id, folder_id=container.id,
                              folder_path=container.path, content_hash=content.sha256, size=content.size,
                              name=container.name[:200], sender=sender_name(raw),
                              received=str(raw.get("receivedDateTime") or ""),
                              modified=str(raw.get("lastModifiedDateTime") or ""), change_key=change_key,
                              has_attachments=bool(files), extra=json.dumps(extra, sort_keys=True))  # fmt: skip
        if known is not None and known.content_hash == content.sha256 and known.change_key == change_key:
            return True
        self.writer.supersede(known, version)
        self.index[key] = OpenVersion(self.run_id, container.id, content.sha256, change_key, content.size)
        if known is None or known.first_seen_run != self.run_id:
            self.report.add(items=1)
        return True

    def _attachments(self, thread_id: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
        url = f"{thread_path(self.group, thread_id)}/posts/{quote(raw['id'], safe='')}/attachments"
        files = []
        for page in self.services.graph.iter_pages(url):
            for item in page:
                if not isinstance(item, dict) or item.get("@odata.type") != "#microsoft.graph.fileAttachment":
                    continue  # item and reference attachments: named only
                data = base64.b64decode(str(item.get("contentBytes") or ""))
                kind = str(item.get("contentType") or "application/octet-stream")
                stored = store_content(self.services.content, self.report, data, kind)
                files.append({"name": item.get("name"), "contentType": kind, "size": stored.size,
                              "sha256": stored.sha256, "isInline": bool(item.get("isInline"))})  # fmt: skip
        return files

    def end_unseen(self, container: Container, seen: set[str]) -> None:
        for key, version in self.index.in_folder(container.id):
            if key not in seen:
                self._end(key, version)

    def _end(self, key: str, version: OpenVersion) -> None:
        self.writer.close(POST, key, version.first_seen_run, self.run_id)
        del self.index[key]
        self.report.add(removed=1)

    def read_held(self, item: HeldItem) -> dict | None:
        thread_id, post_id = split_key(item.item_id)
        try:
            return self.services.graph.get_json(f"{thread_path(self.group, thread_id)}/posts/{quote(post_id, safe='')}",
                                                params={"$expand": "inReplyTo"})  # fmt: skip
        except GraphNotFound:
            return None

    def apply_held(self, read: dict[str, dict | None], unread: dict[str, Exception]) -> Settlement:
        settlement = Settlement()
        for key, raw in read.items():
            thread_id, _post = split_key(key)
            container = Container(thread_id, str(self.threads.get(thread_id, {}).get("topic") or thread_id), "",
                                  str(self.threads.get(thread_id, {}).get("topic") or thread_id))  # fmt: skip
            if raw is None:
                if key in self.index:
                    self._end(key, self.index[key])
                settlement.released.append((key, "deleted"))
                continue
            try:
                self.apply(container, raw)
                settlement.released.append((key, "captured"))
            except (GraphError, StorageError) as exc:
                settlement.failures.append(Failure(key, POST, thread_id, exc))
        for key, exc in unread.items():
            settlement.failures.append(Failure(key, POST, split_key(key)[0], exc))
        return settlement

    def end_container(self, container: Container) -> Settlement:
        for key, version in self.index.in_folder(container.id):
            self._end(key, version)
        self.writer.flush()
        self.services.delta_state.forget(self.resource, POST, container.id, self.run_id)
        return Settlement()

    def flush(self) -> None:
        self.writer.flush()

    def dropped(self) -> int:
        return self.writer.dropped
