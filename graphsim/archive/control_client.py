"""ArchiveControl: the tests' typed client of the in-place archive part of the simulator's /_sim control API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class ArchiveControl(ControlHttp):
    def _base(self, user: str) -> str:
        return f"/_sim/users/{quote(user, safe='')}/archive"

    def state(self, user: str) -> dict[str, Any]:
        """{"archive_id", "auxiliary_id", "folders": [{id, displayName, path, expanded}], "messages": [summary with
        folder_path, mailbox_id (the store holding it), categories]} of one user's archive."""
        return self._call("GET", self._base(user))

    def messages(self, user: str, folder: str | None = None) -> list[dict[str, Any]]:
        """The archived messages (of one folder, by id or path such as "Archive 2023/Projects")."""
        return self._call("GET", f"{self._base(user)}/messages", params={"folder": folder} if folder else None)["value"]

    def add_message(self, user: str, folder: str = "Archive 2023", subject: str | None = None,
                    attachments: int = 0, is_read: bool = False) -> dict[str, Any]:  # fmt: skip
        body: dict[str, Any] = {"folder": folder, "attachments": attachments, "isRead": is_read}
        if subject is not None:
            body["subject"] = subject
        return self._call("POST", f"{self._base(user)}/messages", body)

    def update_message(self, user: str, message_id: str, **changes: Any) -> dict[str, Any]:
        """isRead, categories, flag ("flagged"), subject."""
        return self._call("PATCH", f"{self._base(user)}/messages/{quote(message_id, safe='')}", changes)

    def delete_message(self, user: str, message_id: str) -> None:
        self._call("DELETE", f"{self._base(user)}/messages/{quote(message_id, safe='')}")

    def fail_export(self, user: str, message_id: str, fail: bool = True) -> None:
        """Make an archived message's mailbox export answer an error (graphsim/mailbox_import/), or stop it."""
        self._call("POST", f"{self._base(user)}/export-failures", {"message": message_id, "fail": fail})
