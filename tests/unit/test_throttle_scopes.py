"""The Graph budget each request counts against, as the registry's workloads declare it (the Graph client's policy
asks registry.throttle_scope): chat message requests share one per-app-per-tenant budget, apart from channel
messages' and from each mailbox's."""

from __future__ import annotations

import pytest

from core.workloads.chats import throttling as chats
from core.workloads.chats.workload import CHATS
from core.workloads.registry import throttle_scope
from core.workloads.teams import throttling as teams

G = "https://graph.microsoft.com/v1.0"


@pytest.mark.parametrize(
    "url",
    [
        f"{G}/chats/19:abc@thread.v2/messages?$top=50",  # a chat's listing (the backup's watermark round)
        "chats/19%3Aabc%40thread.v2/messages/1700000000000",  # a message by id (a held one)
        f"{G}/chats/19:def@unq.gbl.spaces/messages/17/hostedContents/x/$value",  # an inline image
        f"{G}/users/u1/chats/19:abc@thread.v2/messages",  # the same messages under a user
    ],
)
def test_every_chat_message_request_shares_one_tenant_budget(url: str):
    assert throttle_scope(url) == chats.SCOPE
    assert CHATS.throttle_scope is chats.chat_messages_of


def test_other_requests_keep_their_own_budget_or_none():
    assert throttle_scope(f"{G}/teams/t1/channels/c1/messages/delta") == teams.SCOPE != chats.SCOPE
    assert throttle_scope(f"{G}/users/U1/mailFolders/inbox/messages/delta") == "u1"  # the mailbox's
    assert throttle_scope(f"{G}/users/u1/chats/getAllMessages") is None  # another Teams limit (200 rps)
    assert throttle_scope(f"{G}/users/u1/chats?$expand=members") is None
    assert throttle_scope(f"{G}/chats/19:abc@thread.v2/members") is None
