"""GroupsControl: a small typed client of the groups part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class GroupsControl(ControlHttp):
    def state(self) -> dict[str, Any]:
        """Every group with its members, owners, threads and posts; and every copy delivered to a member's inbox."""
        return self._call("GET", "/_sim/groups")

    def post(self, group: str, author: str, text: str, thread: str | None = None, topic: str | None = None) -> dict:
        body = {"from": author, "text": text, "thread": thread, "topic": topic}
        return self._call("POST", f"/_sim/groups/{quote(group, safe='')}/posts", body)

    def delete_thread(self, group: str, thread: str) -> None:
        self._call("DELETE", f"/_sim/groups/{quote(group, safe='')}/threads/{quote(thread, safe='')}")

    def membership(self, group: str, add: list[str] = (), remove: list[str] = (), owners: bool = False) -> dict:  # type: ignore[assignment]
        body = {"add": list(add), "remove": list(remove), "owners": owners}
        return self._call("POST", f"/_sim/groups/{quote(group, safe='')}/membership", body)
