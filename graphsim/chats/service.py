"""The simulator's chats surface state: the store (graphsim/chats/store.py), seeded (seed.py), beside the Teams
service whose message clock it shares."""

from __future__ import annotations

from graphsim.chats.seed import seed_chats
from graphsim.chats.store import Chat, ChatsStore
from graphsim.teams.service import TeamsService


class ChatsService:
    def __init__(
        self, teams: TeamsService, base_url: str, seed: int, chat_users: int, chat_messages: int | None = None
    ) -> None:
        self.store = ChatsStore(teams.tenant, teams.store)
        self.migrations: list[dict[str, str]] = []  # every startMigration/completeMigration, for tests
        seed_chats(self.store, base_url, seed, chat_users, chat_messages)

    def chat(self, chat_id: str) -> Chat | None:
        return self.store.chats.get(chat_id)
