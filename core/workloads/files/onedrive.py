"""The OneDrive workload: one resource per user with a OneDrive (users without one are skipped, not failed)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphNotFound
from core.storage.directory import DirectoryEntry
from core.workloads.discovered import user_entries
from core.workloads.files.drives import backup_drives

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport


class OneDriveHandler:
    name = "onedrive"

    def discover(self, services: Services) -> list[str]:
        """Every selected user; whether each has a OneDrive is found out by its backup (skipped if not), so
        discovery stays one paged listing however many users the tenant has."""
        return [e.owner for e in self.discover_named(services) if e.included]

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        return user_entries(services, self.name)

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        try:
            drive = services.graph.get_json(f"users/{quote(owner, safe='')}/drive", params={"$select": "id,name"})
        except GraphNotFound as exc:
            report.skipped_reason = f"no OneDrive ({exc.code or exc.status})"
            return
        backup_drives(
            services, run_id, f"{self.name}:{owner}", [(drive["id"], drive.get("name") or "OneDrive")], report
        )
