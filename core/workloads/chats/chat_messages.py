"""The chat message item kind, on the Teams channel message machinery (core/workloads/teams/messages_backup.py):
a chat is a container, each message one catalog item whose content is its canonical Graph JSON, its inline images
(hosted contents, https://learn.microsoft.com/graph/api/chatmessage-list-hostedcontents) stored beside it and named
in the version's `extra`. A chat message has no replies (chatMessage resource), so there is no reply sweep.

Catalog ids are `<chat id>/<message id>` (message ids are unique within a chat only), the same shape as a channel's
root messages, so the channel kind's entry, id and summary functions serve unchanged. A message has no changeKey:
the SHA-256 of its canonical JSON stands for one. A soft delete (deletedDateTime set, body emptied) is a change
like any other: a new version, the earlier one still readable as of its runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.errors import MalformedResponse
from core.workloads.container_delta import ItemKind, MailboxJob
from core.workloads.teams.messages_backup import PAGE, as_entry, describe_message, fetch_message, split_key

CHAT_MESSAGE = "chatmessage"  # catalog category of chat messages
CHAT = "chat"  # catalog category of chats (the containers)


def chat_path(chat_id: str) -> str:
    return f"chats/{quote(chat_id, safe='')}"


def messages_path(user: str, chat: Container) -> str:
    """https://learn.microsoft.com/graph/api/chat-list-messages (the chat's own path: the user is not needed)."""
    return f"{chat_path(chat.id)}/messages"


def chat_message_path(user: str, key: str) -> str:
    """https://learn.microsoft.com/graph/api/chatmessage-get of a catalog id."""
    chat, message, reply = split_key(key)
    if reply is not None:
        raise MalformedResponse(f"not a chat message id: {key!r:.120}")
    return f"{chat_path(chat)}/messages/{quote(message, safe='')}"


def _prepare(job: MailboxJob, container: Container, entries: list) -> list:
    """A listing page's messages as the delta machinery keeps them (catalog id, change key)."""
    kept: list[Any] = []
    for raw in entries:
        try:
            kept.append(as_entry(raw, container.id, None) if isinstance(raw, dict) else raw)
        except MalformedResponse:
            kept.append(raw)  # the machinery reports what it cannot name
    return kept


CHAT_MESSAGE_KIND = ItemKind(
    category=CHAT_MESSAGE,
    folder_category=CHAT,
    delta_path=messages_path,
    fetch=fetch_message,
    describe=describe_message,
    item_path=chat_message_path,
    params=lambda job: dict(PAGE),
    prefer_page_size=False,  # list messages documents $top (at most 50), not Prefer: odata.maxpagesize
    prepare=_prepare,
    confirm_unseen=True,  # a message a full listing misses is read by id before it is ended
)
