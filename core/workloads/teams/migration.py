"""The Graph calls of a channel message restore, through Teams' migration mode
(https://learn.microsoft.com/graph/teams-import-messages, application permission Teamwork.Migrate.All):

- a target channel: the original one (read by id), or one found by name, or made in migration mode
  (https://learn.microsoft.com/graph/api/channel-post with "@microsoft.graph.channelCreationMode": "migration" and a
  createdDateTime no later than the first message to import);
- what the target already holds: its root messages (https://learn.microsoft.com/graph/api/channel-list-messages)
  and the replies of the threads a restore adds to (https://learn.microsoft.com/graph/api/chatmessage-list-replies),
  keyed by (createdDateTime to the millisecond, author's user id): Graph refuses a second message with the same
  createdDateTime in a conversation (409), so that pair names a message of the target;
- startMigration (https://learn.microsoft.com/graph/api/channel-startmigration) with a conversationCreationDateTime
  older than both the channel's createdDateTime and the first message to import, unless the channel is migrating
  already; completeMigration (https://learn.microsoft.com/graph/api/channel-completemigration) once the import is
  over, whatever became of it;
- the import of a message or reply (POST .../messages, POST .../messages/{id}/replies) with its original `from` and
  createdDateTime, its body, subject, importance, mentions, reference attachments (links to the files already in the
  team's site) and its inline images as hostedContents with temporary ids, which the body references."""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import GraphConflict, GraphError, MalformedResponse
from core.exports.transcripts import sniff
from core.workloads.ensure_container import child_named, ensure_child

if TYPE_CHECKING:
    from core.graph.client import GraphClient

PAGE = {"$top": "50"}
Key = tuple[str, str]  # (createdDateTime normalized to milliseconds, author's user id)


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def key_of(message: dict[str, Any]) -> Key:
    user = ((message.get("from") or {}).get("user") or {}).get("id") or ""
    return stamp(when(str(message.get("createdDateTime")))), str(user)


@dataclass
class Target:
    team: str
    id: str
    created: str  # its createdDateTime
    migrating: bool  # in migration mode now
    roots: dict[Key, str] = field(default_factory=dict)  # what it holds: root key -> its id
    replies: dict[str, dict[Key, str]] = field(default_factory=dict)  # root id -> reply key -> id, as read

    @property
    def path(self) -> str:
        return f"teams/{quote(self.team, safe='')}/channels/{quote(self.id, safe='')}"


def _target(team: str, channel: dict[str, Any]) -> Target:
    return Target(
        team,
        str(channel["id"]),
        str(channel.get("createdDateTime") or ""),
        channel.get("migrationMode") == "inProgress",
    )


def channel_by_id(graph: GraphClient, team: str, channel_id: str) -> Target:
    """The original channel (GraphNotFound when it is gone)."""
    return _target(team, graph.get_json(f"teams/{quote(team, safe='')}/channels/{quote(channel_id, safe='')}"))


def _channels(graph: GraphClient, team: str) -> list[dict[str, Any]]:
    return [c for page in graph.iter_pages(f"teams/{quote(team, safe='')}/channels") for c in page]


def channel_named(graph: GraphClient, team: str, name: str, description: str, created: dt.datetime) -> Target:
    """The channel of that name in the team, or a new standard channel made in migration mode."""
    body = {
        "displayName": name,
        "description": description,
        "membershipType": "standard",
        "@microsoft.graph.channelCreationMode": "migration",
        "createdDateTime": stamp(created - dt.timedelta(milliseconds=1)),
    }
    url = f"teams/{quote(team, safe='')}/channels"
    channel_id, _made = ensure_child(
        lambda: child_named(_channels(graph, team), name),
        lambda: graph.post_json(url, body, replay_safe=True),
        what="channel",
    )
    return channel_by_id(graph, team, channel_id)


def read_roots(graph: GraphClient, target: Target) -> None:
    for page in graph.iter_pages(f"{target.path}/messages", params=PAGE):
        for message in page:
            if isinstance(message.get("id"), str) and message.get("createdDateTime"):
                target.roots[key_of(message)] = message["id"]


def read_replies(graph: GraphClient, target: Target, root_id: str) -> dict[Key, str]:
    if root_id not in target.replies:
        url = f"{target.path}/messages/{quote(root_id, safe='')}/replies"
        target.replies[root_id] = {
            key_of(m): m["id"]
            for page in graph.iter_pages(url, params=PAGE)
            for m in page
            if isinstance(m.get("id"), str) and m.get("createdDateTime")
        }
    return target.replies[root_id]


def start(graph: GraphClient, target: Target, earliest: dt.datetime) -> None:
    """Migration mode on, the channel's createdDateTime moved before the first message to import."""
    if target.migrating:
        return
    floor = min(when(target.created), earliest) if target.created else earliest
    body = {"conversationCreationDateTime": stamp(floor - dt.timedelta(milliseconds=1))}
    graph.post_json(f"{target.path}/startMigration", body, replay_safe=True)
    target.migrating = True


def complete(graph: GraphClient, target: Target) -> None:
    if target.migrating:
        graph.post_json(f"{target.path}/completeMigration", {}, replay_safe=True)
        target.migrating = False


_SRC = re.compile(r"""src=(["'])[^"']*/hostedContents/([^/"'?]+)/\$value\1""")


def import_body(message: dict[str, Any], images: dict[str, bytes]) -> dict[str, Any]:
    """What an import sends of a stored message: its original author and time, its content, and its inline images
    (hosted content id -> bytes) as hostedContents referenced by temporary id."""
    user = (message.get("from") or {}).get("user") or {}
    if not user.get("id"):
        raise MalformedResponse("the message has no user author: Graph imports messages from users only")
    content = dict(message.get("body") or {"contentType": "text", "content": ""})
    hosted: list[dict[str, str]] = []
    temp_of: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        hosted_id = match.group(2)
        if hosted_id not in images:
            return match.group(0)
        if hosted_id not in temp_of:
            temp_of[hosted_id] = str(len(temp_of) + 1)
            hosted.append(
                {
                    "@microsoft.graph.temporaryId": temp_of[hosted_id],
                    "contentType": sniff(images[hosted_id]),
                    "contentBytes": base64.b64encode(images[hosted_id]).decode("ascii"),
                }
            )
        return f'src="../hostedContents/{temp_of[hosted_id]}/$value"'

    content["content"] = _SRC.sub(replace, str(content.get("content") or ""))
    body: dict[str, Any] = {
        "createdDateTime": message["createdDateTime"],
        "from": {
            "user": {
                "id": user["id"],
                "displayName": user.get("displayName"),
                "userIdentityType": user.get("userIdentityType") or "aadUser",
            }
        },
        "body": content,
        "importance": message.get("importance") or "normal",
        "mentions": message.get("mentions") or [],
        "attachments": [a for a in message.get("attachments") or [] if a.get("contentType") == "reference"],
    }
    if message.get("subject"):
        body["subject"] = message["subject"]
    if hosted:
        body["hostedContents"] = hosted
    return body


def post(graph: GraphClient, target: Target, body: dict[str, Any], root_id: str | None) -> str:
    """Import one message (a reply under `root_id`); its new id. Sent replay-safe: a repeat can only be refused
    (409: a message of that createdDateTime is there), and then the message is looked up by its key."""
    url = f"{target.path}/messages" + (f"/{quote(root_id, safe='')}/replies" if root_id else "")
    try:
        made = graph.post_json(url, body, replay_safe=True)
    except GraphConflict:
        key = key_of(body)
        if root_id:
            target.replies.pop(root_id, None)
            found = read_replies(graph, target, root_id).get(key)
        else:
            read_roots(graph, target)
            found = target.roots.get(key)
        if found is None:
            raise
        return found
    if not isinstance(made.get("id"), str):
        raise GraphError("the import answered without an id")
    return made["id"]
