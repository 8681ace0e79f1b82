"""The chats workload: one resource per user ('chats:<user id>'), holding the messages of every chat the user is in
(one-on-one, group, meeting). Self-service (the owner is a user who may browse and export their own chats) and not
on by default: reading chat messages with application permissions is a protected API that needs Microsoft's
approval first (README, Permissions)."""

from __future__ import annotations

from core.workloads.base import Workload
from core.workloads.chats.chat_backup import ChatsHandler
from core.workloads.chats.chat_category import CHAT_MESSAGE_CATEGORY
from core.workloads.chats.throttling import chat_messages_of

CHATS = Workload(
    name=ChatsHandler.name,
    handler=ChatsHandler(),
    categories=(CHAT_MESSAGE_CATEGORY,),
    owner_path="users/{}",
    owner_noun="user",
    target_path="users/{}",
    target_noun="user",
    self_service=True,
    default_on=False,
    throttle_scope=chat_messages_of,  # chat message reads: one per-app-per-tenant budget (throttling.py)
)
