"""TeamsControl: a small typed client of the Teams part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class TeamsControl(ControlHttp):
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
