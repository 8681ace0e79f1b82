"""Restoring group posts, notifying nobody unless the operator asks.

Graph creates a post in a group only by "Create thread" (https://learn.microsoft.com/graph/api/group-post-threads) or
"Reply to thread" (https://learn.microsoft.com/graph/api/conversationthread-reply), and a new post is delivered to
the inbox of every member who follows the group (group resource, isSubscribedByMail and autoSubscribeNewMembers:
https://learn.microsoft.com/graph/api/resources/group). Its dates and sender are set by delivery: a post restored
into the group carries the time of the restore, and neither create takes a `from` (its original sender cannot be
set). So:

- by default (nobody notified) each post is restored as a received message (not a draft: its flags, delivery and
  submit times set at creation as extended properties, "Create message", https://learn.microsoft.com/graph/api/
  user-post-messages) with the original sender, date, body and attachments, into a folder '<group> conversations'
  (or the new folder of a 'new-folder' restore) of the mailbox of the target group's first owner: creating a
  message in a folder sends nothing. "skip" leaves a post alone when the group still holds it (destination
  'original') or the folder holds a copy restored before (its RestoredFrom marker, restore_marker.py);
- with `notify_attendees` (the operator's explicit choice: members following the group receive it) each post is
  posted back into the group: a reply to its thread when the thread still exists, else a new thread of its topic.
  The body ends with a line naming its original sender and date and its backup identity, which is how a rerun finds
  what an earlier attempt posted ("skip" then leaves it alone) and how readers tell it from the original."""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import BackupError, GraphNotFound, InvalidRequestError, NotFoundError
from core.restore_request import RestoreReport
from core.workloads.ensure_container import child_named, ensure_child
from core.workloads.exchange.outlook_attachments import add_file
from core.workloads.exchange.restore_marker import create_once, existing_keys, source_key
from core.workloads.groups.posts_backup import POST, split_key, thread_path

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreRequest
    from core.storage.catalog import ItemVersion
    from core.workloads.base import Selected

CONFLICTS = ("skip", "keep-both")
MESSAGE_FLAGS, DELIVERY_TIME, SUBMIT_TIME = "Integer 0x0E07", "SystemTime 0x0E06", "SystemTime 0x0039"
MARK = "Restored from backup"


def _group_name(services: Services, group: str) -> str:
    found = services.graph.get_json(f"groups/{quote(group, safe='')}", params={"$select": "id,displayName"})
    return str(found.get("displayName") or group)


def _first_owner(services: Services, group: str) -> str:
    for page in services.graph.iter_pages(f"groups/{quote(group, safe='')}/owners", params={"$select": "id"}):
        for owner in page:
            if isinstance(owner, dict) and isinstance(owner.get("id"), str):
                return owner["id"]
    raise NotFoundError(f"group {group} has no owner whose mailbox could hold the restored posts")


def _folder(services: Services, user: str, name: str) -> str:
    base = f"users/{quote(user, safe='')}/mailFolders"

    def find() -> str | None:
        listed = [f for page in services.graph.iter_pages(base, params={"$top": "100"}) for f in page]
        return child_named(listed, name)

    return ensure_child(find, lambda: services.graph.post_json(base, {"displayName": name}, replay_safe=True),
                        what="mail folder")[0]  # fmt: skip


def _stored(services: Services, version: ItemVersion) -> dict[str, Any]:
    return json.loads(services.content.read(version.content_hash))


def _files(version: ItemVersion) -> list[dict[str, Any]]:
    return (json.loads(version.extra) if version.extra else {}).get("attachments") or []


def _still_there(services: Services, group: str, key: str) -> bool:
    thread, post = split_key(key)
    try:
        services.graph.get_json(f"{thread_path(group, thread)}/posts/{quote(post, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        return False
    return True


def restore_posts(services: Services, request: RestoreRequest, items: list[Selected]) -> RestoreReport:
    group = request.target_owner or request.key.owner
    report = RestoreReport(request.resource, str(request.run_id), group, "")
    if request.destination == "new-folder":
        report.destination = request.new_folder_name()
    if request.notify_attendees:
        _into_group(services, request, report, group, items)
    else:
        _into_mailbox(services, request, report, group, items)
    return report


def _into_mailbox(services: Services, request: RestoreRequest, report: RestoreReport, group: str,
                  items: list[Selected]) -> None:  # fmt: skip
    try:
        user = _first_owner(services, group)
        name = report.destination or f"{_group_name(services, group)} conversations"
        folder = _folder(services, user, name[:200])
        collection = f"users/{quote(user, safe='')}/mailFolders/{quote(folder, safe='')}/messages"
        keys = existing_keys(services.graph, collection, messages=True)
    except BackupError as exc:
        for version, _path in items:
            report.fail(version.item_id, exc)
        return
    report.destination = f"{user}: {name}"
    for version, path in sorted(items, key=lambda s: (s[0].received, s[0].item_id)):
        source = source_key(request.resource, POST, version.item_id)
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash}
        try:
            if request.conflict == "skip" and (
                keys.holds(source, "")
                or (request.destination == "original" and _still_there(services, request.key.owner, version.item_id))
            ):
                report.skip(entry)
                continue
            post = _stored(services, version)
            created = create_once(services.graph, collection, _message(post, path), source)
            attachments = f"users/{quote(user, safe='')}/messages/{quote(created['id'], safe='')}/attachments"
            for n, meta in enumerate(_files(version)):
                add_file(services.graph, attachments,
                         {"name": meta["name"], "contentType": meta["contentType"], "isInline": False}, meta["size"],
                         services.content.iter_chunks(meta["sha256"]), n)  # fmt: skip
            keys.add(source, created["id"])
            report.done(entry, created["id"])
        except (BackupError, ValueError, KeyError) as exc:
            report.fail(version.item_id, exc)


def _message(post: dict[str, Any], topic: str) -> dict[str, Any]:
    """A received message with the post's sender, body and times (not a draft: MSGFLAG_READ only)."""
    when = str(post.get("receivedDateTime") or post.get("createdDateTime") or "")
    body: dict[str, Any] = {
        "subject": topic,
        "body": post.get("body") or {"contentType": "text", "content": ""},
        "from": post.get("from"),
        "sender": post.get("sender") or post.get("from"),
        "singleValueExtendedProperties": [{"id": MESSAGE_FLAGS, "value": "1"}],
    }
    if when:
        body["singleValueExtendedProperties"] += [{"id": DELIVERY_TIME, "value": when},
                                                  {"id": SUBMIT_TIME, "value": when}]  # fmt: skip
    return body


def _footer(post: dict[str, Any], source: str) -> str:
    who = (post.get("from") or {}).get("emailAddress") or {}
    text = f"{MARK}: posted by {who.get('name', '')} on {post.get('receivedDateTime', '')} [{source}]"
    return f"<p><small>{html.escape(text)}</small></p>"


def _into_group(services: Services, request: RestoreRequest, report: RestoreReport, group: str,
                items: list[Selected]) -> None:  # fmt: skip
    """Posts back into the group (members following it receive them): the operator asked for this."""
    if request.destination != "original":
        refused = InvalidRequestError("posts restored into the group go back to their threads (destination original)")
        for version, _path in items:
            report.fail(version.item_id, refused)
        return
    base = f"groups/{quote(group, safe='')}/threads"
    threads = {t["id"]: t for page in services.graph.iter_pages(base) for t in page if isinstance(t, dict)}
    made: dict[str, str] = {}  # original thread id -> the thread this restore made for it
    for version, path in sorted(items, key=lambda s: (s[0].received, s[0].item_id)):
        source = source_key(request.resource, POST, version.item_id)
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash}
        thread_id, post_id = split_key(version.item_id)
        try:
            target = thread_id if thread_id in threads else made.get(thread_id)
            if target is None:  # a thread an earlier attempt made for it, found by the footer of what it posted
                target = _restored_thread(services, group, threads, path, source)
                if target is not None:
                    made[thread_id] = target
            if target is not None and request.conflict == "skip" and _posted(services, group, target, post_id, source):
                report.skip(entry)
                continue
            post = _stored(services, version)
            content = str((post.get("body") or {}).get("content") or "") + _footer(post, source)
            new = {"body": {"contentType": "html", "content": content}, "attachments": [
                {"@odata.type": "#microsoft.graph.fileAttachment", "name": a["name"], "contentType": a["contentType"],
                 "contentBytes": base64.b64encode(services.content.read(a["sha256"])).decode()}
                for a in _files(version)]}  # fmt: skip
            if target is not None:
                services.graph.post_json(f"{base}/{quote(target, safe='')}/reply", {"post": new})
                report.done(entry, target)
            else:
                created = services.graph.post_json(base, {"topic": path, "posts": [new]})
                made[thread_id] = str(created["id"])
                report.done(entry, made[thread_id])
        except (BackupError, ValueError, KeyError) as exc:
            report.fail(version.item_id, exc)


def _posted(services: Services, group: str, thread: str, post_id: str, source: str) -> bool:
    """The original post is still in the thread, or a post restored from it is (its footer names it)."""
    for page in services.graph.iter_pages(f"{thread_path(group, thread)}/posts"):
        for post in page:
            if not isinstance(post, dict):
                continue
            if post.get("id") == post_id or f"[{source}]" in html.unescape(
                str((post.get("body") or {}).get("content"))
            ):
                return True
    return False


def _restored_thread(services: Services, group: str, threads: dict[str, dict], topic: str, source: str) -> str | None:
    for thread_id, thread in threads.items():
        if thread.get("topic") == topic and _posted(services, group, thread_id, "", source):
            return thread_id
    return None
