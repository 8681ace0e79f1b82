"""GroupsControl: a small typed client of the groups part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class GroupsControl:
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
