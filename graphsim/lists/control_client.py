"""ListControl: a small typed client of the SharePoint lists part of the simulator's /_sim control API, for tests."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class ListControl:
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
