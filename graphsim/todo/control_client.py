"""TodoControl: a small typed client of the To Do part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class TodoControl(ControlHttp):
    def state(self, user: str) -> dict[str, Any]:
        """{"lists": [todoTaskList JSON], "tasks": [{id, list_id, task (todoTask JSON), checklistItems,
        linkedResources, attachments (with sha256), extensions}]} of one mailbox user."""
        return self._call("GET", f"/_sim/users/{quote(user, safe='')}/todo")

    def add_task(
        self,
        user: str,
        properties: dict[str, Any],
        task_list: str | None = None,
        checklist: list[str] | None = None,
        attachment: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": properties, "list": task_list, "checklist": checklist or []}
        if attachment is not None:
            body["attachment"] = attachment
        return self._call("POST", f"/_sim/users/{quote(user, safe='')}/todo/tasks", body)

    def update_task(self, user: str, task_id: str, properties: dict[str, Any],
                    check: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        body = {"properties": properties, "check": check or []}
        return self._call("PATCH", f"/_sim/users/{quote(user, safe='')}/todo/tasks/{quote(task_id, safe='')}", body)

    def delete_task(self, user: str, task_id: str) -> None:
        self._call("DELETE", f"/_sim/users/{quote(user, safe='')}/todo/tasks/{quote(task_id, safe='')}")
