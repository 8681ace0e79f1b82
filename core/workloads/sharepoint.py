"""The SharePoint workload: one resource per site, holding every document library (drive) of the site."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError
from core.selectors import Selectors
from core.workloads.drive_restore import restore_files
from core.workloads.drives import backup_drives

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.restore_request import RestoreReport, RestoreRequest


class SharePointHandler:
    name = "sharepoint"

    def discover(self, services: Services) -> list[str]:
        """Every selected site: /sites/getAllSites (app-only), or /sites?search=* where that is unavailable."""
        selectors = Selectors.from_settings(services.settings)
        params = {"$select": "id,webUrl,displayName", "$top": "999"}
        try:
            sites = [s for page in services.graph.iter_pages("sites/getAllSites", params=params) for s in page]
        except GraphError:
            sites = [s for page in services.graph.iter_pages("sites", params={"search": "*"}) for s in page]
        return [s["id"] for s in sites if isinstance(s, dict) and s.get("id") and selectors.site(s.get("webUrl", ""))]

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        selectors = Selectors.from_settings(services.settings)
        url = f"sites/{quote(owner, safe=',')}/drives"
        drives = [
            (d["id"], d.get("name") or d["id"])
            for page in services.graph.iter_pages(url, params={"$select": "id,name,driveType"})
            for d in page
            if isinstance(d, dict) and d.get("id") and selectors.library(d.get("name") or "")
        ]
        backup_drives(services, run_id, f"{self.name}:{owner}", drives, report)

    def restore(self, services: Services, request: RestoreRequest) -> RestoreReport:
        return restore_files(services, request)
