"""The throttling scope of the chats workload: chat message requests are limited per app per tenant, whatever the
chat or the user ("GET 1:1/group chat message": 20 requests a second per app per tenant, 200 across tenants, and 1
per chat; "POST 1:1/group chat message" the same: Microsoft Teams service limits,
https://learn.microsoft.com/graph/throttling-limits#microsoft-teams-service-limits). So every request under any
chat's messages (a listing, a message by id, its hosted contents, a migration import) shares one budget of the
Graph client's limiter (its in-flight cap), as channel messages do (core/workloads/teams/throttling.py); 429
answers with Retry-After are honoured beyond it, the per-chat rate included. A user's getAllMessages is another
limit (200 requests a second) and is not in this scope."""

from __future__ import annotations

import re

_CHAT_MESSAGES = re.compile(r"(?:^|/)chats/[^/?]+/messages\b", re.IGNORECASE)
SCOPE = "teams chat messages"


def chat_messages_of(url: str) -> str | None:
    """One scope for every chat message request of the tenant; None for any other URL."""
    return SCOPE if _CHAT_MESSAGES.search(url) else None
