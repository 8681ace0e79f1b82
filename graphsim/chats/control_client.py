"""ChatsControl: a small typed client of the chats part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class ChatsControl:
    def __init__(self, base_url: str, ca_file: str | Path, timeout: float = 30.0) -> None:
        context = ssl.create_default_context(cafile=str(ca_file))
        self._http = httpx.Client(base_url=base_url.rstrip("/"), verify=context, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=json)
        if response.status_code >= 400:
            raise RuntimeError(f"graphsim control {method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

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
