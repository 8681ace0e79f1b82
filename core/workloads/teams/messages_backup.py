"""The channel message item kind, on the Outlook kinds' delta machinery (core/workloads/container_delta.py): a
channel is a container, each message (root or reply) one catalog item whose content is its canonical Graph JSON,
and whose inline images (hosted contents) are stored beside it, named in the version's `extra`.

What Graph lists, and how this reads it:
- channel message delta (https://learn.microsoft.com/graph/api/chatmessage-delta) lists root messages only,
  added or changed since the round's token, from the last eight months; a deletion is a non-null deletedDateTime
  on the message (never `@removed`): a soft-deleted message is a new version of its item, not its end;
- replies: nothing in the docs says that a new, edited or deleted reply surfaces its root in delta, so the replies
  of every thread of the channel are read at every run, on the channel's first page, through "list channel
  messages" with `$expand=replies` (https://learn.microsoft.com/graph/api/channel-list-messages: 50 roots a page,
  each with up to 1,000 replies, more through the next link of its replies): one request per 50 threads per run,
  the price of missing nothing. A root that listing did not hold (posted since, or the listing failed) has its
  replies read through "list replies" (https://learn.microsoft.com/graph/api/chatmessage-list-replies);
- hosted contents (https://learn.microsoft.com/graph/api/chatmessage-list-hostedcontents) are listed only for a
  message whose body references one, and each is read from its `$value`;
- reference attachments (files shared in the channel) are resolved to the SharePoint item at their link, never
  downloaded (core/workloads/teams/file_refs.py: one /shares read per distinct link per run).

Catalog ids name the channel and the thread, since a message is addressed by them in Graph and ids are only
unique within a channel: `<channel id>/<root id>` for a root, `<channel id>/<root id>/<reply id>` for a reply. A
message has no changeKey: the SHA-256 of its canonical JSON stands for one (any change Graph shows is a change).
A full round's unseen messages are read by id before they are ended (delta lists eight months only)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.errors import GraphError, MalformedResponse
from core.graph.client import expanded_next_link
from core.storage.content_store import Spool
from core.workloads.container_delta import Failed, Fetched, ItemKind, MailboxJob
from core.workloads.teams.file_refs import references, resolve_files

CHANNEL_MESSAGE = "channelmessage"
CHANNEL = "channel"
TEAM_SETTINGS = "teamsettings"  # catalog category of the team's own metadata version (settings, members, tabs)
PAGE = {"$top": "50"}  # delta and replies take at most 50 a page
_TAG = re.compile(r"<[^>]+>")
_SWEPT = "swept:"
_LISTED = "listed:"


def message_key(channel_id: str, message_id: str, root_id: str | None = None) -> str:
    """The catalog id of a root (`root_id` None) or a reply."""
    return f"{channel_id}/{root_id}/{message_id}" if root_id else f"{channel_id}/{message_id}"


def split_key(key: str) -> tuple[str, str, str | None]:
    """(channel id, root id, reply id or None) of a catalog id."""
    parts = key.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise MalformedResponse(f"not a channel message id: {key!r:.120}")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def message_path(team: str, key: str) -> str:
    channel, root, reply = split_key(key)
    base = f"teams/{quote(team, safe='')}/channels/{quote(channel, safe='')}/messages/{quote(root, safe='')}"
    return f"{base}/replies/{quote(reply, safe='')}" if reply else base


def canonical_json(entry: dict) -> bytes:
    """The message as stored: Graph's JSON without annotations, keys sorted, UTF-8."""
    clean = {k: v for k, v in entry.items() if not k.startswith("@")}
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def as_entry(raw: dict, channel_id: str, root_id: str | None) -> dict:
    """A Graph message as the delta machinery keeps it: its catalog id, a change key, its Graph id aside."""
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise MalformedResponse(f"channel message without an id: {raw!r:.200}")
    entry = {k: v for k, v in raw.items() if not k.startswith("@")}
    entry["@graphId"] = raw["id"]
    entry["@rootId"] = root_id or ""
    entry["@channelId"] = channel_id
    entry["changeKey"] = hashlib.sha256(canonical_json(entry)).hexdigest()[:32]
    entry["id"] = message_key(channel_id, raw["id"], root_id)
    return entry


def original(entry: dict) -> dict:
    """The Graph message an entry stands for (its own id, no change key of ours)."""
    message = {k: v for k, v in entry.items() if not k.startswith("@") and k != "changeKey"}
    message["id"] = entry.get("@graphId") or split_key(str(entry["id"]))[2] or split_key(str(entry["id"]))[1]
    return message


def _replies(job: MailboxJob, channel_id: str, root_id: str) -> list[dict]:
    url = message_path(job.user, message_key(channel_id, root_id)) + "/replies"
    return [as_entry(r, channel_id, root_id) for page in job.graph.iter_pages(url, params=PAGE) for r in page]


def _threads(job: MailboxJob, container: Container) -> dict[str, list[dict]]:
    """Root id -> its replies (as entries), for every root the channel lists now, through one listing with
    `$expand=replies`; {} when the listing fails (each thread is then read on its own)."""
    url = f"teams/{quote(job.user, safe='')}/channels/{quote(container.id, safe='')}/messages"
    threads: dict[str, list[dict]] = {}
    try:
        for page in job.graph.iter_pages(url, params={**PAGE, "$expand": "replies"}):
            for root in page:
                if not isinstance(root, dict) or not isinstance(root.get("id"), str) or "replies" not in root:
                    continue  # a root not expanded: its thread is read on its own, never taken as empty
                replies = [r for r in root.get("replies") or [] if isinstance(r, dict)]
                more = expanded_next_link(root, "replies")
                if more:  # over 1,000 replies: the rest through the link
                    replies += [r for p in job.graph.iter_pages(more) for r in p if isinstance(r, dict)]
                threads[root["id"]] = [as_entry(r, container.id, root["id"]) for r in replies]
    except (GraphError, MalformedResponse):
        return {}
    return threads


def _prepare(job: MailboxJob, container: Container, entries: list) -> list:
    """A delta page's roots, each followed by its replies; on the channel's first page of the run, also the
    replies of every other live thread the backup holds (reply changes do not surface in delta)."""
    kept: list[Any] = []
    roots: list[str] = []
    for raw in entries:
        if not isinstance(raw, dict) or "@removed" in raw:
            kept.append(raw)  # the machinery reports what it cannot name
            continue
        try:
            entry = as_entry(raw, container.id, None)
        except MalformedResponse:
            kept.append(raw)
            continue
        kept.append(entry)
        roots.append(raw["id"])
    listed: set[str] = job.scratch.setdefault(f"{_LISTED}{container.id}", set())  # threads listed this run
    threads: dict[str, list[dict]] = job.scratch.get(f"{_SWEPT}{container.id}", {})
    if f"{_SWEPT}{container.id}" not in job.scratch:
        threads = job.scratch[f"{_SWEPT}{container.id}"] = _threads(job, container)
        live = sorted(split_key(k)[1] for k, _ in job.index.in_folder(container.id) if k.count("/") == 1)
        roots += [r for r in live if r not in roots]
    for root_id in roots:
        if root_id in listed:  # a full round lists the roots swept on its first page again: listed once a run
            continue
        listed.add(root_id)
        if root_id in threads:
            kept.extend(threads[root_id])
            continue
        try:
            kept.extend(_replies(job, container.id, root_id))
        except GraphError as exc:  # the thread's replies are listed again next run; the root is held
            kept.append(Failed(message_key(container.id, root_id), f"{container.path}: replies of {root_id}", exc))
    return kept


def hosted_ids(body: str) -> list[str]:
    """Hosted content ids a message body references (its inline images)."""
    return list(dict.fromkeys(re.findall(r"/hostedContents/([^/\"'?]+)/\$value", body or "")))


def fetch_message(job: MailboxJob, entry: dict) -> Fetched:
    """Store a message's JSON and its inline images (a channel's or a chat's: the kind's item path names it)."""
    message = original(entry)
    stored = store_content(job.content, job.report, canonical_json(message), "application/json")
    hosted = []
    body = str((message.get("body") or {}).get("content") or "")
    if hosted_ids(body):
        base = job.kind.item_path(job.user, str(entry["id"]))
        listed = [h for page in job.graph.iter_pages(f"{base}/hostedContents") for h in page]
        for item in listed:
            hosted_id = str(item.get("id") or "")
            if not hosted_id:
                continue
            with Spool() as spool:
                job.graph.download(f"{base}/hostedContents/{quote(hosted_id, safe='')}/$value", spool)
                sha = store_content(job.content, job.report, spool, "application/octet-stream").sha256
            hosted.append({"id": hosted_id, "sha256": sha})
    channel, root, reply = split_key(str(entry["id"]))
    files = references(message)
    if files and job.kind.category == CHANNEL_MESSAGE:  # linked to the SharePoint item, never copied
        files = resolve_files(job, files)
    extra = {
        "channelId": channel,
        "messageId": reply or root,
        "rootId": root if reply else "",
        "hosted": hosted,
        "files": files,
        "deleted": bool(message.get("deletedDateTime")),
    }
    return stored.sha256, stored.size, json.dumps(extra, sort_keys=True)


def summary(message: dict) -> str:
    """A message's name in the catalog: its subject, else the start of its text."""
    if message.get("deletedDateTime"):
        return "(deleted message)"
    text = html.unescape(_TAG.sub(" ", str((message.get("body") or {}).get("content") or "")))
    text = " ".join(text.split())
    return (str(message.get("subject") or "") or text or "(no text)")[:120]


def author(message: dict) -> str:
    sender = message.get("from") or {}
    for kind in ("user", "application", "device"):
        who = sender.get(kind) if isinstance(sender, dict) else None
        if isinstance(who, dict):
            return str(who.get("displayName") or who.get("id") or "")[:320]
    return ""


def describe_message(entry: dict) -> dict[str, Any]:
    return {
        "name": summary(entry),
        "sender": author(entry),
        "received": str(entry.get("createdDateTime") or ""),
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "has_attachments": bool(entry.get("attachments"))
        or bool(hosted_ids(str((entry.get("body") or {}).get("content") or ""))),
    }


def _delta_path(team: str, channel: Container) -> str:
    return f"teams/{quote(team, safe='')}/channels/{quote(channel.id, safe='')}/messages/delta"


CHANNEL_MESSAGE_KIND = ItemKind(
    category=CHANNEL_MESSAGE,
    folder_category=CHANNEL,
    delta_path=_delta_path,
    fetch=fetch_message,
    describe=describe_message,
    item_path=message_path,
    params=lambda job: dict(PAGE),
    prefer_page_size=False,  # chatMessage delta documents $top, not Prefer: odata.maxpagesize
    prepare=_prepare,
    confirm_unseen=True,
)
