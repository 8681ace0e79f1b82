"""The simulator's Teams state: Microsoft 365 groups (some provisioned as teams), each team's settings, members,
channels (standard, private, shared), tabs, and channel messages (root messages and their replies, edits, soft
deletes, reactions, mentions, hosted contents, reference attachments), with a change sequence per root message for
channel message delta and each channel's migration state.

Shapes follow the resource pages: group (https://learn.microsoft.com/graph/api/resources/group), team
(https://learn.microsoft.com/graph/api/resources/team), channel (https://learn.microsoft.com/graph/api/resources/
channel), chatMessage (https://learn.microsoft.com/graph/api/resources/chatmessage), chatMessageHostedContent
(https://learn.microsoft.com/graph/api/resources/chatmessagehostedcontent), teamsTab
(https://learn.microsoft.com/graph/api/resources/teamstab)."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from graphsim.tenant import User


def iso_ms(value: dt.datetime) -> str:
    """Teams timestamps carry milliseconds: 2026-01-05T10:00:00.123Z."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_ms(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def identity(user: User, tenant_id: str) -> dict[str, Any]:
    """A message's `from`: a chatMessageFromIdentitySet with a teamworkUserIdentity."""
    return {
        "application": None,
        "device": None,
        "user": {
            "@odata.type": "#microsoft.graph.teamworkUserIdentity",
            "id": user.id,
            "displayName": user.display_name,
            "userIdentityType": "aadUser",
            "tenantId": tenant_id,
        },
    }


@dataclass
class HostedContent:
    id: str
    content_type: str
    data: bytes


@dataclass
class Message:
    data: dict[str, Any]  # the chatMessage as Graph returns it (hosted content URLs filled in by the routes)
    hosted: dict[str, HostedContent] = field(default_factory=dict)
    replies: dict[str, Message] = field(default_factory=dict)  # a root's replies by id, in creation order
    seq: int = 0  # the root's last change (delta lists roots changed after a token's watermark)

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class Channel:
    id: str
    team_id: str
    display_name: str
    description: str
    membership_type: str  # standard | private | shared
    created: str
    migration: str = ""  # '' (never), 'inProgress', 'completed': channel migrationMode
    members: list[str] = field(default_factory=list)  # user ids (private and shared channels)
    tabs: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)  # roots by id, in creation order
    email: str = ""

    def to_json(self, base_url: str, tenant_id: str) -> dict[str, Any]:
        data = {
            "id": self.id,
            "createdDateTime": self.created,
            "displayName": self.display_name,
            "description": self.description,
            "isFavoriteByDefault": None,
            "email": self.email,
            "tenantId": tenant_id,
            "membershipType": self.membership_type,
            "webUrl": f"https://teams.microsoft.com/l/channel/{self.id}/{self.display_name}?groupId={self.team_id}",
        }
        if self.migration:
            data["migrationMode"] = self.migration
        return data

    def find(self, message_id: str) -> tuple[Message, Message | None] | None:
        """(message, its root or None) for a root or reply id of this channel."""
        if message_id in self.messages:
            return self.messages[message_id], None
        for root in self.messages.values():
            if message_id in root.replies:
                return root.replies[message_id], root
        return None

    def all_messages(self) -> list[Message]:
        return [m for root in self.messages.values() for m in (root, *root.replies.values())]


@dataclass
class Group:
    id: str
    display_name: str
    mail_nickname: str
    is_team: bool
    created: str
    members: list[str] = field(default_factory=list)  # user ids
    owners: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # the team's member/guest/messaging/fun settings
    channels: dict[str, Channel] = field(default_factory=dict)

    def to_json(self, domain: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdDateTime": self.created,
            "description": f"{self.display_name} group",
            "displayName": self.display_name,
            "groupTypes": ["Unified"],
            "mail": f"{self.mail_nickname}@{domain}",
            "mailEnabled": True,
            "mailNickname": self.mail_nickname,
            "resourceBehaviorOptions": [],
            "resourceProvisioningOptions": ["Team"] if self.is_team else [],
            "securityEnabled": False,
            "visibility": "Private",
        }

    def team_json(self, tenant_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdDateTime": self.created,
            "displayName": self.display_name,
            "description": f"{self.display_name} group",
            "internalId": f"19:{self.id.replace('-', '')}@thread.tacv2",
            "classification": None,
            "specialization": "none",
            "visibility": "private",
            "isArchived": False,
            "tenantId": tenant_id,
            "webUrl": f"https://teams.microsoft.com/l/team/19%3a{self.id}?groupId={self.id}",
            **copy.deepcopy(self.settings),
        }


DEFAULT_SETTINGS: dict[str, Any] = {
    "memberSettings": {
        "allowCreateUpdateChannels": True,
        "allowCreatePrivateChannels": True,
        "allowDeleteChannels": True,
        "allowAddRemoveApps": True,
        "allowCreateUpdateRemoveTabs": True,
        "allowCreateUpdateRemoveConnectors": True,
    },
    "guestSettings": {"allowCreateUpdateChannels": False, "allowDeleteChannels": False},
    "messagingSettings": {
        "allowUserEditMessages": True,
        "allowUserDeleteMessages": True,
        "allowOwnerDeleteMessages": True,
        "allowTeamMentions": True,
        "allowChannelMentions": True,
    },
    "funSettings": {
        "allowGiphy": True,
        "giphyContentRating": "moderate",
        "allowStickersAndMemes": True,
        "allowCustomMemes": False,
    },
}


class TeamsStore:
    """Every group of the tenant and, for teams, their channels and messages."""

    def __init__(self, tenant_id: str, domain: str) -> None:
        self.tenant_id = tenant_id
        self.domain = domain
        self.groups: dict[str, Group] = {}
        self._seq = itertools.count(1)
        self._last_ms = 0

    def next_seq(self) -> int:
        return next(self._seq)

    def unique_id(self, when: dt.datetime) -> str:
        """A message id: its creation time in epoch milliseconds (Teams' own scheme), kept unique."""
        ms = max(int(when.timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return str(ms)

    def team(self, team_id: str) -> Group | None:
        group = self.groups.get(team_id) or self.groups.get(team_id.lower())
        return group if group is not None and group.is_team else None

    def add_group(self, name: str, is_team: bool, created: dt.datetime, members: list[str]) -> Group:
        group_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"graphsim-group:{name}"))
        nickname = "".join(c for c in name if c.isalnum())
        group = Group(
            group_id,
            name,
            nickname,
            is_team,
            iso_ms(created),
            list(members),
            list(members[:1]),
            copy.deepcopy(DEFAULT_SETTINGS) if is_team else {},
        )
        self.groups[group_id] = group
        return group

    def add_channel(
        self, group: Group, name: str, membership: str, created: dt.datetime, migration: str = "", description: str = ""
    ) -> Channel:
        channel_id = f"19:{uuid.uuid4().hex}@thread.tacv2"
        members = list(group.members) if membership != "standard" else []
        channel = Channel(
            channel_id,
            group.id,
            name,
            description,
            membership,
            iso_ms(created),
            migration,
            members,
            email=f"{uuid.uuid4().hex[:8]}.{group.mail_nickname}@{self.domain}",
        )
        group.channels[channel_id] = channel
        return channel

    def new_message(
        self,
        channel: Channel,
        author: User,
        created: dt.datetime,
        html: str,
        root: Message | None,
        subject: str | None = None,
    ) -> Message:
        """A message as a user posting it makes it (id from its time, etag = its version)."""
        message_id = self.unique_id(created)
        stamp = iso_ms(created)
        data: dict[str, Any] = {
            "id": message_id,
            "replyToId": root.id if root else None,
            "etag": message_id,
            "messageType": "message",
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "lastEditedDateTime": None,
            "deletedDateTime": None,
            "subject": subject,
            "summary": None,
            "chatId": None,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": f"https://teams.microsoft.com/l/message/{channel.id}/{message_id}",
            "policyViolation": None,
            "eventDetail": None,
            "channelIdentity": {"teamId": channel.team_id, "channelId": channel.id},
            "from": identity(author, self.tenant_id),
            "body": {"contentType": "html", "content": html},
            "attachments": [],
            "mentions": [],
            "reactions": [],
            "messageHistory": [],
        }
        message = Message(data, seq=self.next_seq())
        if root is None:
            channel.messages[message_id] = message
        else:
            root.replies[message_id] = message
        return message

    def touch(self, message: Message, root: Message | None, when: dt.datetime, edited: bool) -> None:
        """A change to a message: its lastModifiedDateTime (and lastEditedDateTime for a user's edit) and etag move;
        a root's delta sequence moves (a reply's change moves nothing the delta of roots shows)."""
        stamp = iso_ms(when)
        message.data["lastModifiedDateTime"] = stamp
        message.data["etag"] = str(int(when.timestamp() * 1000))
        if edited:
            message.data["lastEditedDateTime"] = stamp
        if root is None:
            message.seq = self.next_seq()

    def soft_delete(self, message: Message, root: Message | None, when: dt.datetime) -> None:
        """chatMessage softDelete (https://learn.microsoft.com/graph/api/chatmessage-softdelete): the message stays,
        with deletedDateTime set and its body emptied."""
        message.data["deletedDateTime"] = iso_ms(when)
        message.data["body"] = {"contentType": "text", "content": ""}
        message.data["attachments"], message.data["mentions"], message.data["reactions"] = [], [], []
        message.hosted.clear()
        self.touch(message, root, when, edited=False)
