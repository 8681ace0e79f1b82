"""A group's membership and owners, and its site, as one versioned snapshot per group (catalog category
'groupmembership', item id = the group id; a new version each time it changes).

Members come from group delta (https://learn.microsoft.com/graph/api/group-delta), one round per backup through the
one delta-round follower (core.delta.rounds.follow_round), tracking only this group (`$filter=id eq '{id}'`, as the
delta-query-groups page documents) and only its `members`:
- the first round (no saved link, or one Graph no longer takes) lists every member; a later round lists only the
  members added and, with `@removed`, those removed, so the snapshot is the previous one with the round applied;
- one group's members may come over several pages (the group's entry repeats with the next members): entries are
  merged by group id across the whole round, applied only once every page is in;
- the round's link is saved only after the snapshot it leads to is stored and committed.
Owners are listed whole each run (https://learn.microsoft.com/graph/api/group-list-owners; group delta documents
members changes only). The group's site (https://learn.microsoft.com/graph/api/site-get, GET /groups/{id}/sites/root)
is recorded by id and URL: the sharepoint workload backs its content up; nothing of it is copied here."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.delta.content import store_content
from core.delta.rounds import follow_round
from core.errors import DeltaExpired, GraphError, MalformedResponse
from core.storage.catalog import ItemVersion
from core.storage.delta_state import DeltaState

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport

MEMBERSHIP = "groupmembership"  # catalog category of the snapshot, and delta-state category of its link


def _group_path(group: str) -> str:
    return f"groups/{quote(group, safe='')}"


def members_round(services: Services, group: str, link: str | None) -> tuple[dict[str, bool], str, bool]:
    """(member id -> present, the round's delta link, whether it was a full round) for one group."""
    changes: dict[str, bool] = {}

    def on_page(entries: list) -> None:
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("id") != group:
                continue  # another group's entry (never, with the filter), or noise
            for member in entry.get("members@delta") or []:
                if not isinstance(member, dict) or not isinstance(member.get("id"), str):
                    raise MalformedResponse(f"members@delta entry without an id: {member!r:.120}")
                changes[member["id"]] = "@removed" not in member  # the last occurrence in the round wins

    params = {"$filter": f"id eq '{group}'", "$select": "displayName,members"}
    if link:
        try:
            return changes, follow_round(services.graph, link, params=None, headers={}, on_page=on_page), False
        except DeltaExpired:
            changes.clear()
    delta = follow_round(services.graph, "groups/delta", params=params, headers={}, on_page=on_page)
    return changes, delta, True


def _listed(services: Services, url: str) -> list[dict[str, Any]]:
    return [i for page in services.graph.iter_pages(url) for i in page if isinstance(i, dict)]


def read_snapshot(services: Services, version: ItemVersion | None) -> dict[str, Any]:
    if version is None or not version.content_hash:
        return {"members": [], "owners": [], "site": None}
    return json.loads(services.content.read(version.content_hash))


def backup_membership(services: Services, resource: str, run_id: str, group: str, report: BackupReport) -> None:
    states = services.delta_state.load(resource)
    state = states.get((MEMBERSHIP, group))
    changes, link, full = members_round(services, group, state.delta_link if state else None)
    index = services.catalog.open_index(resource, MEMBERSHIP)
    known = index.get(group)
    previous = read_snapshot(services, services.catalog.version_as_of(resource, MEMBERSHIP, group, known.first_seen_run)
                             if known else None)  # fmt: skip
    members = set() if full else set(previous.get("members") or [])
    members |= {m for m, present in changes.items() if present}
    members -= {m for m, present in changes.items() if not present}
    owners = sorted(str(o["id"]) for o in _listed(services, f"{_group_path(group)}/owners") if o.get("id"))
    try:
        site = services.graph.get_json(f"{_group_path(group)}/sites/root", params={"$select": "id,webUrl"})
        linked = {"id": site.get("id"), "webUrl": site.get("webUrl")}
    except GraphError as exc:  # a group without a site (yet): the rest is backed up all the same
        report.note(f"group site of {group}: {exc}")
        linked = previous.get("site")
    snapshot = {"members": sorted(members), "owners": owners, "site": linked}
    data = json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()
    stored = store_content(services.content, report, data, "application/json")
    if known is None or known.content_hash != stored.sha256:
        writer = services.catalog.writer(resource)
        writer.supersede(known, ItemVersion(category=MEMBERSHIP, item_id=group, first_seen_run=run_id,
                                            content_hash=stored.sha256, size=stored.size, name="membership",
                                            change_key=stored.sha256[:32],
                                            extra=json.dumps({"site": linked}, sort_keys=True)))  # fmt: skip
        writer.flush()
        report.add(items=1)
    services.delta_state.save(resource, DeltaState(MEMBERSHIP, group, link, "membership", run_id, ""))
