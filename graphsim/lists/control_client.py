"""ListControl: a small typed client of the SharePoint lists part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphsim.control_http import ControlHttp


class ListControl(ControlHttp):
    def state(self) -> dict[str, list[dict[str, Any]]]:
        """site id -> its lists: id, displayName, template, hidden, system, columns, items [{id, fields, versions}]."""
        return self._call("GET", "/_sim/lists")

    def lists(self) -> dict[str, dict[str, Any]]:
        """title -> list, over every site (titles are unique in the seeded tenant)."""
        return {x["displayName"]: x for lists in self.state().values() for x in lists}

    def _items(self, site: str, list_ref: str) -> str:
        return f"/_sim/sites/{quote(site, safe=',')}/lists/{quote(list_ref, safe='')}/items"

    def add_item(self, site: str, list_ref: str, fields: dict[str, Any], user: str | None = None) -> dict[str, Any]:
        """A new item (list by id or title), written by `user` (a tenant user id; default: the app)."""
        return self._call("POST", self._items(site, list_ref), {"fields": fields, "user": user})

    def edit_item(self, site: str, list_ref: str, item: str, fields: dict[str, Any], user: str | None = None
                  ) -> dict[str, Any]:  # fmt: skip
        return self._call("PATCH", f"{self._items(site, list_ref)}/{item}", {"fields": fields, "user": user})

    def delete_item(self, site: str, list_ref: str, item: str) -> None:
        self._call("DELETE", f"{self._items(site, list_ref)}/{item}")

    def expire_delta_tokens(self) -> int:
        return int(self._call("POST", "/_sim/lists-expire-delta-tokens")["expired_lists"])
