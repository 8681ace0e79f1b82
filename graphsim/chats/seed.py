"""The seeded chats: each of the first `chat_users` licensed users (by user principal name) has a one-on-one chat
with the next one, and all of them share a group chat and a meeting chat (so one chat is in several users' lists;
a tenant of one licensed user has only those two, with that user alone in them). Each chat has `chat_messages`
messages (None: three in a one-on-one chat, two in a group or meeting chat). Their first ones carry a reaction, a
mention, an inline image (hosted content) and an edit, as members make them; the rest are plain notes."""

from __future__ import annotations

import base64
import datetime as dt

from graphsim.chats.store import Chat, ChatsStore
from graphsim.teams.seed import png_bytes
from graphsim.teams.store import HostedContent, Message, identity, iso_ms
from graphsim.tenant import Tenant, User


def add_chat_image(message: Message, chat: Chat, data: bytes, base_url: str) -> None:
    """An inline image: a hosted content of the message, referenced from its body by its $value URL."""
    hosted_id = base64.urlsafe_b64encode(f"id=x_0-cus-d{len(message.hosted) + 1}-{message.id}".encode()).decode()
    hosted_id = hosted_id.rstrip("=")
    message.hosted[hosted_id] = HostedContent(hosted_id, "image/png", data)
    src = f"{base_url}/v1.0/chats/{chat.id}/messages/{message.id}/hostedContents/{hosted_id}/$value"
    message.data["body"]["content"] += f'<img src="{src}" alt="image" itemtype="http://schema.skype.com/AMSImage">'


def _users(tenant: Tenant) -> list[User]:
    """The people who chat: Teams needs a licence, which the simulator's users have with their mailbox; a user
    without one (a build account: no mailbox, no OneDrive) and a shared mailbox (no one signs in as it) are in no
    chat."""
    people = [u for u in tenant.users.values() if u.mailbox is not None and u.purpose == "user"]
    return sorted(people, key=lambda u: u.user_principal_name)


SEEDED_MESSAGES = {"oneOnOne": 3, "group": 2, "meeting": 2}  # messages per chat when chat_messages is None


def seed_chats(store: ChatsStore, base_url: str, seed: int, chat_users: int, chat_messages: int | None = None) -> None:
    def count(chat_type: str) -> int:
        return SEEDED_MESSAGES[chat_type] if chat_messages is None else max(0, chat_messages)

    users = _users(store.tenant)
    if chat_users <= 0 or not users:
        return
    start = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 50)
    first = users[: max(2, min(chat_users, len(users)))]
    when = start
    for i, user in enumerate(first[:chat_users]):
        other = users[(i + 1) % len(users)]
        if other is user or any(c.members == sorted((user.id, other.id)) for c in store.chats.values()):
            continue  # alone in the tenant, or the pair's chat is made: a one-on-one chat is one per pair
        chat = store.add_chat("oneOnOne", [user, other], start - dt.timedelta(days=20 - i), None)
        when = _messages(store, chat, [user, other], base_url, seed, count("oneOnOne"), when)
    members = users[: max(3, len(first))]
    group = store.add_chat("group", members, start - dt.timedelta(days=10), "Budget")
    when = _messages(store, group, members, base_url, seed, count("group"), when)
    meeting = store.add_chat("meeting", first, start - dt.timedelta(days=5), f"Weekly sync {seed}")
    _messages(store, meeting, first, base_url, seed, count("meeting"), when)


def _messages(
    store: ChatsStore, chat: Chat, members: list[User], base_url: str, seed: int, count: int, when: dt.datetime
) -> dt.datetime:
    for i in range(count):
        when += dt.timedelta(minutes=5, milliseconds=211 * (i + 1))
        author = members[i % len(members)]
        message = store.new_message(chat, author, when, f"<p>Chat note {i + 1} ({chat.chat_type}) seed {seed}.</p>")
        if i == 0:
            other = members[(i + 1) % len(members)]
            message.data["reactions"].append(
                {
                    "reactionType": "like",
                    "displayName": "Like",
                    "reactionContentUrl": None,
                    "createdDateTime": message.data["createdDateTime"],
                    "user": identity(other, store.tenant.tenant_id),
                }
            )
            if chat.chat_type != "meeting":
                add_chat_image(message, chat, png_bytes(seed + len(store.chats)), base_url)
        if i == 1:
            mentioned = members[0]
            message.data["body"]["content"] += f'<p>Thanks <at id="0">{mentioned.display_name}</at></p>'
            message.data["mentions"].append(
                {
                    "id": 0,
                    "mentionText": mentioned.display_name,
                    "mentioned": {"application": None, "device": None, "conversation": None, "tag": None,
                                  "user": identity(mentioned, store.tenant.tenant_id)["user"]},
                }
            )  # fmt: skip
        if i == 2:  # edited a minute later
            edited = when + dt.timedelta(minutes=1)
            message.data["body"]["content"] = f"<p>Chat note {i + 1} ({chat.chat_type}), edited.</p>"
            message.data["lastModifiedDateTime"] = message.data["lastEditedDateTime"] = iso_ms(edited)
    return when
