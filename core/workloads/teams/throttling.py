"""The throttling scope of the Teams workload: channel message reads are limited per app per tenant (about 5
requests a second for GET channel message(s), https://learn.microsoft.com/graph/throttling-limits#microsoft-teams-
service-limits), whatever the team, so every request under any team's channel messages shares one budget of the
Graph client's limiter (its in-flight cap; 429 answers with Retry-After are honoured beyond it)."""

from __future__ import annotations

import re

_CHANNEL_MESSAGES = re.compile(r"(?:^|/)teams/[^/?]+/channels/[^/?]+/messages\b", re.IGNORECASE)
SCOPE = "teams channel messages"


def channel_messages_of(url: str) -> str | None:
    """One scope for every channel message request of the tenant; None for any other URL."""
    return SCOPE if _CHANNEL_MESSAGES.search(url) else None
