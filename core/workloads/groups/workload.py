"""The Microsoft 365 Groups workload: one resource per Microsoft 365 group ('groups:<group id>'; a team's group too:
its conversations are the group's), holding the group's conversations (threads and posts, posts_backup.py) and a
versioned snapshot of its members, owners and linked site (membership.py). Not self-service (a group has no single
owner who signs in) and not on by default.

Discovery lists the Unified groups with the documented filter ("List groups", https://learn.microsoft.com/graph/api/
group-list: `$filter=groupTypes/any(c:c eq 'Unified')`); security and distribution groups hold no conversations.
Group calendar events are not backed up: "List events" of a group (https://learn.microsoft.com/graph/api/
group-list-events) does not support application permissions, and this app has no delegated sign-in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.delta.containers import Container
from core.delta.lifecycle import Resource, run_category
from core.errors import GraphError
from core.storage.directory import DirectoryEntry
from core.workloads.base import Workload
from core.workloads.discovered import group_entries
from core.workloads.folder_paths import join_path
from core.workloads.groups.membership import backup_membership
from core.workloads.groups.posts_backup import ThreadKind

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport

UNIFIED_FILTER = "groupTypes/any(c:c eq 'Unified')"


class GroupsHandler:
    name = "groups"

    def discover(self, services: Services) -> list[str]:
        return [e.owner for e in self.discover_named(services)]

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        """Every Microsoft 365 group, named by its display name and mail address."""
        params = {"$filter": UNIFIED_FILTER, "$select": "id,displayName,mail,groupTypes", "$top": "999"}
        listed = [g for page in services.graph.iter_pages("groups", params=params) for g in page if isinstance(g, dict)]
        return group_entries(self.name, [g for g in listed if "Unified" in (g.get("groupTypes") or [])])

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        resource = f"{self.name}:{owner}"
        try:
            backup_membership(services, resource, run_id, owner, report)
        except GraphError as exc:  # the conversations are backed up all the same; the link stays where it was
            report.fail("group membership and owners", exc)
        listed = [t for page in services.graph.iter_pages(f"groups/{owner}/threads") for t in page
                  if isinstance(t, dict) and isinstance(t.get("id"), str)]  # fmt: skip
        threads = {t["id"]: t for t in listed}
        adapter = ThreadKind(services, resource, run_id, owner, report, threads)
        containers = [Container(t["id"], _name(t), "", join_path([_name(t)])) for t in listed]
        run_category(Resource(resource, run_id, report, services.delta_state, services.quarantine), adapter, containers)


def _name(thread: dict) -> str:
    return str(thread.get("topic") or thread["id"])[:200]


def _workload() -> Workload:
    from core.workloads.groups.posts import POST_CATEGORY

    return Workload(name=GroupsHandler.name, handler=GroupsHandler(), categories=(POST_CATEGORY,),
                    owner_path="groups/{}", owner_noun="group", target_path="groups/{}", target_noun="group",
                    self_service=False, default_on=False)  # fmt: skip


GROUPS = _workload()
