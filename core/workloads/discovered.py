"""What discovery finds, named: the directory entries (core/storage/directory.py) of users, sites and groups, built
from the listings discovery reads anyway (their `$select` names the fields), so naming costs no extra request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.selectors import Selectors
from core.storage.directory import DirectoryEntry

if TYPE_CHECKING:
    from core.bootstrap import Services

USER_FIELDS = "id,displayName,mail,userPrincipalName"


def _text(record: dict, name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


def user_entries(services: Services, workload: str) -> list[DirectoryEntry]:
    """Every user of the tenant as a resource of `workload`, `included` as the user selectors say (one paged
    listing)."""
    selectors = Selectors.from_settings(services.settings)
    params = {"$select": USER_FIELDS, "$top": "999"}
    return [
        DirectoryEntry(
            resource=f"{workload}:{u['id']}",
            display_name=_text(u, "displayName"),
            upn=_text(u, "userPrincipalName"),
            mail=_text(u, "mail"),
            included=selectors.user(u),
        )
        for page in services.graph.iter_pages("users", params=params)
        for u in page
        if isinstance(u, dict) and _text(u, "id")
    ]


def site_entries(workload: str, sites: list, selectors: Selectors) -> list[DirectoryEntry]:
    """Sites as listed (id, webUrl, displayName), `included` as the site selectors say."""
    return [
        DirectoryEntry(
            resource=f"{workload}:{s['id']}",
            display_name=_text(s, "displayName"),
            url=_text(s, "webUrl"),
            included=selectors.site(_text(s, "webUrl")),
        )
        for s in sites
        if isinstance(s, dict) and _text(s, "id")
    ]


def group_entries(workload: str, groups: list) -> list[DirectoryEntry]:
    """Groups or teams as listed (id, displayName, mail); every one is included (no selector applies to them)."""
    return [
        DirectoryEntry(resource=f"{workload}:{g['id']}", display_name=_text(g, "displayName"), mail=_text(g, "mail"))
        for g in groups
        if isinstance(g, dict) and _text(g, "id")
    ]
