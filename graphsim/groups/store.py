"""The simulator's group conversations and membership changes, over the one group store of the Teams surface
(graphsim/teams/store.py: every Microsoft 365 group, teams or not, lives there once).

Shapes follow the resource pages: conversation (https://learn.microsoft.com/graph/api/resources/conversation),
conversationThread (https://learn.microsoft.com/graph/api/resources/conversationthread), post
(https://learn.microsoft.com/graph/api/resources/post) and fileAttachment
(https://learn.microsoft.com/graph/api/resources/fileattachment). A thread's lastDeliveredDateTime is the time its
newest post was delivered; posts are read-only once delivered (v1.0 has no update of a post)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from graphsim.tenant import User


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def email_address(user: User) -> dict[str, Any]:
    return {"emailAddress": {"name": user.display_name, "address": user.mail or user.user_principal_name}}


@dataclass
class Attachment:
    id: str
    name: str
    content_type: str
    data: bytes
    modified: str

    def to_json(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": self.id,
            "name": self.name,
            "contentType": self.content_type,
            "size": len(self.data),
            "isInline": False,
            "lastModifiedDateTime": self.modified,
            "contentBytes": base64.b64encode(self.data).decode(),
        }


@dataclass
class Post:
    data: dict[str, Any]  # the post as Graph returns it
    attachments: list[Attachment] = field(default_factory=list)
    in_reply_to: str = ""  # the post it answers ('' for a thread's first post)

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class Thread:
    id: str
    conversation_id: str
    topic: str
    posts: dict[str, Post] = field(default_factory=dict)  # in delivery order
    locked: bool = False

    def to_json(self) -> dict[str, Any]:
        posts = list(self.posts.values())
        last = posts[-1].data if posts else {}
        senders = list(dict.fromkeys(str(p.data["from"]["emailAddress"]["name"]) for p in posts))
        return {
            "id": self.id,
            "topic": self.topic,
            "hasAttachments": any(p.attachments for p in posts),
            "lastDeliveredDateTime": last.get("receivedDateTime"),
            "uniqueSenders": senders,
            "preview": str((last.get("body") or {}).get("content") or "")[:255],
            "isLocked": self.locked,
            "toRecipients": [],
            "ccRecipients": [],
        }


@dataclass
class MemberChange:
    seq: int
    group_id: str
    relation: str  # 'members' (group delta tracks members: https://learn.microsoft.com/graph/api/group-delta)
    user_id: str
    added: bool


class ConversationStore:
    """Every group's threads (by group id), and the membership change log that group delta reads."""

    def __init__(self) -> None:
        self.threads: dict[str, dict[str, Thread]] = {}
        self.changes: list[MemberChange] = []
        self._seq = itertools.count(1)
        self.delivered: list[dict[str, Any]] = []  # every copy delivered to a member's mailbox, for tests

    def next_seq(self) -> int:
        return next(self._seq)

    def seq_now(self) -> int:
        return self.changes[-1].seq if self.changes else 0

    def record(self, group_id: str, relation: str, user_id: str, added: bool) -> None:
        self.changes.append(MemberChange(self.next_seq(), group_id, relation, user_id, added))

    def of(self, group_id: str) -> dict[str, Thread]:
        return self.threads.setdefault(group_id, {})

    def new_thread(self, group_id: str, topic: str) -> Thread:
        conversation = str(uuid.uuid4())
        thread = Thread(f"AAQk{hashlib.sha256(conversation.encode()).hexdigest()[:32]}", conversation, topic)
        self.of(group_id)[thread.id] = thread
        return thread

    def new_post(
        self,
        thread: Thread,
        author: User,
        when: dt.datetime,
        body: dict[str, Any],
        in_reply_to: str = "",
        attachments: list[tuple[str, str, bytes]] | None = None,
    ) -> Post:
        """A post as delivery makes it: its dates are the delivery time (Graph sets them; none can be given)."""
        stamp = iso(when)
        post_id = f"AAMk{uuid.uuid4().hex}"
        data: dict[str, Any] = {
            "id": post_id,
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "receivedDateTime": stamp,
            "changeKey": hashlib.sha256(f"{post_id}:{stamp}".encode()).hexdigest()[:24],
            "categories": [],
            "hasAttachments": bool(attachments),
            "body": {"contentType": str(body.get("contentType") or "html"), "content": str(body.get("content") or "")},
            "from": email_address(author),
            "sender": email_address(author),
            "conversationId": thread.conversation_id,
            "conversationThreadId": thread.id,
            "newParticipants": [],
        }
        post = Post(data, in_reply_to=in_reply_to)
        for i, (name, content_type, raw) in enumerate(attachments or []):
            post.attachments.append(Attachment(f"{post_id}-att{i}", name, content_type, raw, stamp))
        thread.posts[post_id] = post
        return post
