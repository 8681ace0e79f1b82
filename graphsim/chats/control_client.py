"""ChatsControl: a small typed client of the chats part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class ChatsControl(ControlHttp):
    def state(self) -> dict[str, Any]:
        """Every chat (members as user ids, messages with hosted bytes as base64) and every migration call made."""
        return self._call("GET", "/_sim/chats")

    def _messages(self, chat: str) -> str:
        return f"/_sim/chats/{quote(chat, safe='')}/messages"

    def post(self, chat: str, author: str, text: str, image: bool = False) -> dict[str, Any]:
        return self._call("POST", self._messages(chat), {"from": author, "text": text, "image": image})

    def edit(self, chat: str, message: str, text: str) -> dict[str, Any]:
        return self._call("PATCH", f"{self._messages(chat)}/{message}", {"text": text})

    def react(self, chat: str, message: str, author: str, reaction: str = "heart") -> dict[str, Any]:
        return self._call("PATCH", f"{self._messages(chat)}/{message}", {"reaction_from": author, "reaction": reaction})

    def delete(self, chat: str, message: str) -> dict[str, Any]:
        return self._call("DELETE", f"{self._messages(chat)}/{message}")

    def purge(self, chat: str, message: str) -> dict[str, Any]:
        """The message removed outright (a retention policy's purge), not soft-deleted."""
        return self._call("DELETE", f"{self._messages(chat)}/{message}?purge=true")
