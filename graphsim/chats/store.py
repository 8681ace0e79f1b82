"""The simulator's Teams chats: one-on-one, group and meeting chats with their members and messages (edits, soft
deletes, reactions, mentions, hosted contents), each chat's migration state. Messages are the Teams store's
`Message` (graphsim/teams/store.py), their ids from the same clock, so a chat message and a channel message are
made, touched and soft-deleted one way.

Shapes follow the resource pages: chat (https://learn.microsoft.com/graph/api/resources/chat: chatType oneOnOne,
group or meeting; topic null for one-on-one chats; onlineMeetingInfo for meeting chats), aadUserConversationMember
(https://learn.microsoft.com/graph/api/resources/aadUserConversationMember) and chatMessage
(https://learn.microsoft.com/graph/api/resources/chatmessage: a chat message has chatId set, channelIdentity null
and no replies)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from graphsim.teams.store import Message, TeamsStore, identity, iso_ms
from graphsim.tenant import Tenant, User

CHAT_TYPES = ("oneOnOne", "group", "meeting")


@dataclass
class Chat:
    id: str
    chat_type: str  # oneOnOne | group | meeting
    topic: str | None
    created: str
    members: list[str]  # user ids
    messages: dict[str, Message] = field(default_factory=dict)  # by id, in creation order
    migration: str = ""  # '' (never), 'inProgress', 'completed'
    join_url: str = ""  # a meeting chat's onlineMeetingInfo.joinWebUrl

    def to_json(self, tenant_id: str) -> dict[str, Any]:
        times = [self.created, *(m.data["lastModifiedDateTime"] for m in self.messages.values())]
        data: dict[str, Any] = {
            "id": self.id,
            "topic": self.topic,
            "createdDateTime": self.created,
            "lastUpdatedDateTime": max(times),
            "chatType": self.chat_type,
            "webUrl": f"https://teams.microsoft.com/l/chat/{self.id}/0?tenantId={tenant_id}",
            "tenantId": tenant_id,
            "onlineMeetingInfo": None,
            "viewpoint": None,
        }
        if self.chat_type == "meeting":
            data["onlineMeetingInfo"] = {
                "calendarEventId": None,
                "joinWebUrl": self.join_url,
                "organizer": None,
            }
        if self.migration:
            data["migrationMode"] = self.migration
        return data

    def all_messages(self) -> list[Message]:
        return list(self.messages.values())


class ChatsStore:
    """Every chat of the tenant; a user's chats are those they are a member of."""

    def __init__(self, tenant: Tenant, messages: TeamsStore) -> None:
        self.tenant = tenant
        self.ids = messages  # message ids and timestamps come from the Teams store's clock
        self.chats: dict[str, Chat] = {}

    def of_user(self, user_id: str) -> list[Chat]:
        return [c for c in self.chats.values() if user_id in c.members]

    def add_chat(self, chat_type: str, members: list[User], created: dt.datetime, topic: str | None) -> Chat:
        ids = sorted(u.id for u in members)
        if chat_type == "oneOnOne":  # one-on-one chat ids name both members
            chat_id = f"19:{ids[0]}_{ids[1]}@unq.gbl.spaces"
        elif chat_type == "meeting":
            chat_id = f"19:meeting_{uuid.uuid5(uuid.NAMESPACE_URL, f'{topic}{ids}').hex}@thread.v2"
        else:
            chat_id = f"19:{uuid.uuid5(uuid.NAMESPACE_URL, f'{topic}{ids}').hex}@thread.v2"
        chat = Chat(chat_id, chat_type, None if chat_type == "oneOnOne" else topic, iso_ms(created), ids)
        if chat_type == "meeting":
            chat.join_url = f"https://teams.microsoft.com/l/meetup-join/{chat_id}/0"
        self.chats[chat_id] = chat
        return chat

    def new_message(self, chat: Chat, author: User, created: dt.datetime, html: str) -> Message:
        """A message as a member posting it makes it (id from its time, etag = its version)."""
        message_id = self.ids.unique_id(created)
        stamp = iso_ms(created)
        data: dict[str, Any] = {
            "id": message_id,
            "replyToId": None,
            "etag": message_id,
            "messageType": "message",
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "lastEditedDateTime": None,
            "deletedDateTime": None,
            "subject": None,
            "summary": None,
            "chatId": chat.id,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": None,
            "policyViolation": None,
            "eventDetail": None,
            "channelIdentity": None,
            "from": identity(author, self.tenant.tenant_id),
            "body": {"contentType": "html", "content": html},
            "attachments": [],
            "mentions": [],
            "reactions": [],
            "messageHistory": [],
        }
        message = Message(data)
        chat.messages[message_id] = message
        return message

    def member_json(self, user_id: str) -> dict[str, Any]:
        user = self.tenant.users[user_id]
        return {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "id": f"member-{user_id}",
            "roles": ["owner"],
            "displayName": user.display_name,
            "userId": user_id,
            "email": user.mail,
            "tenantId": self.tenant.tenant_id,
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        }
