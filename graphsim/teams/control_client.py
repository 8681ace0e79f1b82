"""TeamsControl: a small typed client of the Teams part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class TeamsControl:
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
        """Every group; for teams, channels with their messages (replies, hosted bytes as base64) as users see them;
        and every startMigration / completeMigration made."""
        return self._call("GET", "/_sim/teams")

    def _messages(self, team: str, channel: str) -> str:
        return f"/_sim/teams/{quote(team, safe='')}/channels/{quote(channel, safe='')}/messages"

    def post(
        self, team: str, channel: str, author: str, text: str, reply_to: str | None = None, image: bool = False
    ) -> dict[str, Any]:
        body = {"from": author, "text": text, "reply_to": reply_to, "image": image}
        return self._call("POST", self._messages(team, channel), body)

    def edit(self, team: str, channel: str, message: str, text: str) -> dict[str, Any]:
        return self._call("PATCH", f"{self._messages(team, channel)}/{message}", {"text": text})

    def react(self, team: str, channel: str, message: str, author: str, reaction: str = "heart") -> dict[str, Any]:
        return self._call(
            "PATCH", f"{self._messages(team, channel)}/{message}", {"reaction_from": author, "reaction": reaction}
        )

    def delete(self, team: str, channel: str, message: str) -> dict[str, Any]:
        return self._call("DELETE", f"{self._messages(team, channel)}/{message}")
