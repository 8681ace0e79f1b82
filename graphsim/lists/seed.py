"""Deterministic lists for every simulated site: its document libraries as `documentLibrary` lists (Graph lists
them with the others, https://learn.microsoft.com/graph/api/list-list), the hidden system User Information List,
one custom list (genericList) and one issue tracker (issueTracking), each with `list_items` items over text,
number, choice, dateTime, boolean, personOrGroup and lookup columns. The same seed gives the same ids and values."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from graphsim.drives.store import DriveStore, Identity
from graphsim.lists.store import SpList, make_column
from graphsim.tenant import Tenant

BASE = dt.datetime(2025, 11, 10, 9, 0, 0, tzinfo=dt.UTC)
TEMPLATE_COLUMNS: dict[str, list[dict[str, Any]]] = {
    # what a template brings when a list is created from it (list: create: "new lists are created with columns
    # defined in the referenced template"; genericList has a Title column)
    "genericList": [{"name": "Title", "displayName": "Title", "text": {}}],
    "issueTracking": [
        {"name": "Title", "displayName": "Title", "text": {}},
        {"name": "AssignedTo", "displayName": "Assigned To", "personOrGroup": {"chooseFromType": "peopleOnly"}},
        {"name": "Status", "choice": {"choices": ["Active", "Resolved", "Closed"], "displayAs": "dropDownMenu"}},
        {"name": "Priority", "choice": {"choices": ["(1) High", "(2) Normal", "(3) Low"]}},
        {"name": "Comment", "text": {"allowMultipleLines": True}},
        {"name": "DueDate", "displayName": "Due Date", "dateTime": {"format": "dateOnly"}},
    ],
    "documentLibrary": [{"name": "Title", "displayName": "Title", "text": {}}],
}
EQUIPMENT_COLUMNS: list[dict[str, Any]] = [
    {"name": "Quantity", "number": {"decimalPlaces": "none"}},
    {"name": "Category", "choice": {"choices": ["Laptop", "Monitor", "Phone", "Desk"]}},
    {"name": "PurchaseDate", "displayName": "Purchase date", "dateTime": {"format": "dateOnly"}},
    {"name": "InService", "displayName": "In service", "boolean": {}},
    {"name": "Owner", "personOrGroup": {"chooseFromType": "peopleOnly"}},
    {"name": "Notes", "text": {"allowMultipleLines": True}},
]
NAMES = ['Ultrabook 14"', 'Monitor 27" — 4K', "Desk phone", "Standing desk", "Dock & charger", "Ünïcode item"]
ISSUES = ["Printer jams", "VPN drops at 5 pm", "Badge reader offline", "Projector #3 flickers", "Wi-Fi in B2"]


def list_id(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "list:" + ":".join(str(p) for p in parts)))


def new_list(site_id: str, web_url: str, display_name: str, template: str, created: dt.datetime,
             columns: list[dict[str, Any]], **extra: Any) -> SpList:  # fmt: skip
    lid = extra.pop("lid", None) or list_id(site_id, display_name)
    name = "".join(c for c in display_name if c.isalnum()) or "List"
    sp_list = SpList(lid, site_id, name, display_name, template, created, f"{web_url}/Lists/{name}", **extra)
    for raw in [*TEMPLATE_COLUMNS.get(template, TEMPLATE_COLUMNS["genericList"]), *columns]:
        if any(c["name"] == raw.get("name") for c in sp_list.columns):
            raise ValueError(f"duplicate column {raw.get('name')!r}")
        sp_list.columns.append(make_column(raw, lid))
    return sp_list


def seed_lists(tenant: Tenant, drives: DriveStore, seed: int, items: int) -> dict[str, dict[str, SpList]]:
    """site id -> list id -> list, for every site of the drive store."""
    people = [Identity(u.id, u.display_name, u.mail) for u in tenant.users.values() if u.mailbox is not None]
    people = people or [Identity("00000000-0000-0000-0000-000000000000", "System Account")]
    lookups = [str(10 + i) for i in range(len(people))]
    lists: dict[str, dict[str, SpList]] = {}
    for site in drives.sites.values():
        mine: dict[str, SpList] = {}
        for drive_ref in site.drive_ids:
            drive = drives.drives[drive_ref]
            library = new_list(site.id, site.web_url, drive.name, "documentLibrary", site.created, [],
                               lid=list_id(site.id, "library", drive.id), drive_id=drive.id)  # fmt: skip
            library.web_url = drive.web_url
            mine[library.id] = library
        users = new_list(site.id, site.web_url, "User Information List", "genericList", site.created, [],
                         hidden=True, system=True)  # fmt: skip
        for k, person in enumerate(people):
            users.add({"Title": person.display_name}, people[0], lookups[0], site.created + dt.timedelta(minutes=k))
        mine[users.id] = users
        equipment = new_list(site.id, site.web_url, "Equipment", "genericList", site.created, EQUIPMENT_COLUMNS,
                             description="Equipment on loan")  # fmt: skip
        for k in range(items):
            who = k % len(people)
            values = {
                "Title": f"{NAMES[k % len(NAMES)]} {k + 1}",
                "Quantity": (k * 7 + seed) % 20 + 1,
                "Category": ["Laptop", "Monitor", "Phone", "Desk"][k % 4],
                "PurchaseDate": f"2025-0{k % 9 + 1}-1{k % 10}T00:00:00Z",
                "InService": k % 3 != 0,
                "OwnerLookupId": lookups[who],
                "Notes": f"Line one\nLine two, seed {seed}" if k % 2 else None,
            }
            equipment.add(values, people[who], lookups[who], BASE + dt.timedelta(hours=k))  # fmt: skip
        mine[equipment.id] = equipment
        issues = new_list(site.id, site.web_url, "Issues", "issueTracking", site.created,
                          [{"name": "Asset", "lookup": {"listId": equipment.id, "columnName": "Title"}}])  # fmt: skip
        for k in range(items):
            who = (k + 1) % len(people)
            values = {"Title": f"{ISSUES[k % len(ISSUES)]} ({k + 1})", "Status": ["Active", "Resolved"][k % 2],
                      "Priority": ["(1) High", "(2) Normal", "(3) Low"][k % 3], "AssignedToLookupId": lookups[who],
                      "DueDate": f"2026-0{k % 9 + 1}-0{k % 9 + 1}T00:00:00Z", "Comment": f"Reported at seed {seed}",
                      "AssetLookupId": str(k % max(items, 1) + 1)}  # fmt: skip
            issues.add(values, people[who], lookups[who], BASE + dt.timedelta(days=1, hours=k))
        mine[issues.id] = issues
        lists[site.id] = mine
    return lists


def people_of(tenant: Tenant) -> list[tuple[Identity, str]]:
    """(identity, lookup id in the User Information List) of every person a list item can name."""
    people = [Identity(u.id, u.display_name, u.mail) for u in tenant.users.values() if u.mailbox is not None]
    people = people or [Identity("00000000-0000-0000-0000-000000000000", "System Account")]
    return [(p, str(10 + i)) for i, p in enumerate(people)]
