"""The Teams workload's discovery and backup: one resource per team ('teams:<group id>').

Discovery asks for the groups provisioned as teams with the documented filter
(https://learn.microsoft.com/graph/teams-list-all-teams: `resourceProvisioningOptions/Any(x:x eq 'Team')`); a plain
Microsoft 365 group is not a team and is left to the workloads that hold its data (its site: sharepoint).

A backup stores, per team:
- the team's own metadata as one versioned JSON (catalog category 'teamsettings', a new version when it changes):
  the team with its member, guest, messaging and fun settings (https://learn.microsoft.com/graph/api/team-get),
  its members (https://learn.microsoft.com/graph/api/team-list-members), and each channel with its tabs
  (https://learn.microsoft.com/graph/api/channel-list-tabs) and, for private and shared channels, its members
  (https://learn.microsoft.com/graph/api/channel-list-members);
- its channels (https://learn.microsoft.com/graph/api/channel-list: standard, private and shared ones the team
  hosts; a channel shared into the team is backed up with the team that hosts it) as container versions whose
  `extra` keeps membershipType, description and createdDateTime;
- each channel's messages through the one delta engine (core.delta.lifecycle.run_category) with the channel kind
  adapter below over core/workloads/teams/messages_backup.py.
Files shared in channels live in the team's SharePoint site, which the sharepoint workload backs up: a message
keeps its reference attachments' links (named in the version's `extra`), never a second copy of the file."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.delta.lifecycle import Resource, run_category
from core.errors import GraphError
from core.storage.catalog import ItemVersion, OpenVersion
from core.storage.directory import DirectoryEntry
from core.storage.quarantine import HeldItem
from core.workloads import container_delta
from core.workloads.container_folders import OutlookKind
from core.workloads.discovered import group_entries
from core.workloads.folder_paths import join_path
from core.workloads.kind_job import kind_job
from core.workloads.teams.messages_backup import CHANNEL_MESSAGE_KIND, TEAM_SETTINGS, as_entry, split_key

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.models import BackupReport

TEAM_FILTER = "resourceProvisioningOptions/Any(x:x eq 'Team')"
CHANNEL_FIELDS = ("membershipType", "description", "createdDateTime", "email", "webUrl")


def _listed(graph: GraphClient, url: str, params: dict[str, str] | None = None) -> list[dict]:
    return [item for page in graph.iter_pages(url, params=params) for item in page if isinstance(item, dict)]


def list_channels(graph: GraphClient, team: str) -> list[dict]:
    return [c for c in _listed(graph, f"teams/{quote(team, safe='')}/channels") if isinstance(c.get("id"), str)]


def as_container(channel: dict) -> Container:
    name = str(channel.get("displayName") or channel["id"])
    return Container(channel["id"], name, "", join_path([name]))


class ChannelKind(OutlookKind):
    """The Outlook kinds' adapter with channels as containers: a channel's version keeps its metadata, and a held
    message read by id is named by its catalog id (channel and thread), as a delta entry is."""

    retry_outside = False  # messages never move between channels
    fields: tuple[str, ...] = CHANNEL_FIELDS  # what a channel's version keeps in its extra

    def __init__(
        self, job: container_delta.MailboxJob, folder_index: dict[str, OpenVersion], channels: dict[str, dict]
    ) -> None:
        super().__init__(job, folder_index)
        self.channels = channels

    def record(self, containers: list[Container]) -> None:
        self._containers = {c.id: c for c in containers}
        job = self.job
        current = {c.id for c in containers}
        for container in containers:
            meta = {k: self.channels.get(container.id, {}).get(k) for k in self.fields}
            extra = json.dumps(meta, sort_keys=True)
            signature = f"{container.signature}\n{hashlib.sha256(extra.encode()).hexdigest()[:16]}"
            previous = self._folder_index.get(container.id)
            if previous is not None and previous.change_key == signature:
                continue
            job.writer.supersede(
                previous,
                ItemVersion(
                    category=job.kind.folder_category,
                    item_id=container.id,
                    first_seen_run=job.run_id,
                    folder_id="",
                    folder_path=container.path,
                    name=container.name,
                    change_key=signature,
                    extra=extra,
                ),
            )
        for channel_id, previous in self._folder_index.items():
            if channel_id not in current:
                job.writer.close(job.kind.folder_category, channel_id, previous.first_seen_run, job.run_id)
        job.writer.flush()

    def read_held(self, item: HeldItem) -> dict | None:
        raw = super().read_held(item)
        if raw is None:
            return None
        channel, root, reply = split_key(item.item_id)
        return as_entry(raw, channel, root if reply else None)


def team_metadata(graph: GraphClient, team: str, channels: list[dict]) -> dict[str, Any]:
    """The team, its settings and members, and each channel with its tabs (and members when not standard)."""
    base = f"teams/{quote(team, safe='')}"
    listed = []
    for channel in channels:
        path = f"{base}/channels/{quote(channel['id'], safe='')}"
        entry = {**channel, "tabs": _listed(graph, f"{path}/tabs")}
        if channel.get("membershipType") in ("private", "shared"):
            entry["members"] = _listed(graph, f"{path}/members")
        listed.append(entry)
    return {"team": graph.get_json(base), "members": _listed(graph, f"{base}/members"), "channels": listed}


class TeamsHandler:
    name = "teams"

    def discover(self, services: Services) -> list[str]:
        return [e.owner for e in self.discover_named(services)]

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        """Every team, named by its display name and mail address."""
        params = {"$filter": TEAM_FILTER, "$select": "id,displayName,mail,resourceProvisioningOptions", "$top": "999"}
        listed = [g for page in services.graph.iter_pages("groups", params=params) for g in page if isinstance(g, dict)]
        return group_entries(self.name, [g for g in listed if "Team" in (g.get("resourceProvisioningOptions") or [])])

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        resource = f"{self.name}:{owner}"
        channels = list_channels(services.graph, owner)
        try:
            self._store_metadata(services, resource, run_id, owner, channels, report)
        except GraphError as exc:  # the messages are backed up all the same
            report.fail("team settings, members and tabs", exc)
        kind = CHANNEL_MESSAGE_KIND
        with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="team-item") as pool:
            job = kind_job(services, resource, owner, run_id, report, kind, pool)
            folders = services.catalog.open_index(resource, kind.folder_category)
            adapter = ChannelKind(job, folders, {c["id"]: c for c in channels})
            where = Resource(resource, run_id, report, services.delta_state, services.quarantine)
            run_category(where, adapter, [as_container(c) for c in channels])

    def _store_metadata(
        self, services: Services, resource: str, run_id: str, owner: str, channels: list[dict], report: BackupReport
    ) -> None:
        meta = team_metadata(services.graph, owner, channels)
        data = json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        known = services.catalog.open_index(resource, TEAM_SETTINGS).get(owner)
        stored = store_content(services.content, report, data, "application/json")
        if known is not None and known.content_hash == stored.sha256:
            return
        writer = services.catalog.writer(resource)
        writer.supersede(
            known,
            ItemVersion(
                category=TEAM_SETTINGS,
                item_id=owner,
                first_seen_run=run_id,
                content_hash=stored.sha256,
                size=stored.size,
                name=str(meta["team"].get("displayName") or owner),
                change_key=stored.sha256[:32],
            ),
        )
        writer.flush()
