"""The SharePoint workload: one resource per site, holding every document library (drive) of the site."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError
from core.selectors import Selectors
from core.storage.directory import DirectoryEntry
from core.workloads.discovered import site_entries
from core.workloads.files.drives import backup_drives
from core.workloads.files.selected_sites import resolve_included_sites
from core.workloads.lists.site_lists import backup_lists

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.storage.quarantine import HeldItem


class SharePointHandler:
    name = "sharepoint"

    def discover(self, services: Services) -> list[str]:
        """Every selected site, from /sites/getAllSites (application permissions,
        https://learn.microsoft.com/graph/api/site-getallsites). When it fails, discovery fails, visibly: the only
        other listing, /sites?search=*, reads the search index, which misses new sites and sites kept out of search
        (https://learn.microsoft.com/graph/api/site-search), so backing up what it finds would silently drop the
        others from the run."""
        return [e.owner for e in self.discover_named(services) if e.included]

    def _all_sites(self, services: Services) -> list[dict]:
        params = {"$select": "id,webUrl,displayName", "$top": "999"}
        try:
            sites = [s for page in services.graph.iter_pages("sites/getAllSites", params=params) for s in page]
        except GraphError as exc:
            if exc.status == 403 and services.settings.include_sites:  # Sites.Selected: the included sites by URL
                return resolve_included_sites(services, services.settings.include_sites)
            raise GraphError(
                f"SharePoint site discovery failed: getAllSites answered {exc.status or exc}; no other listing is "
                f"complete (site search misses sites), so no site list is guessed: {exc}",
                status=exc.status,
                code=exc.code,
                url=exc.url,
            ) from exc
        return sites

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        """Every site, named by its title and URL, the selected ones `included`."""
        return site_entries(self.name, self._all_sites(services), Selectors.from_settings(services.settings))

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        """The site's document libraries, then its lists (core/workloads/lists/): a failure of either is recorded
        and never stops the other."""
        held = services.quarantine.held(f"{self.name}:{owner}")  # one read for the libraries and the lists
        try:
            self._backup_libraries(services, run_id, owner, report, held)
        finally:
            try:
                backup_lists(services, run_id, f"{self.name}:{owner}", owner, report, held)
            except Exception as exc:  # the lists' own failure: the libraries' outcome stands
                report.fail("lists", exc)

    def _backup_libraries(
        self, services: Services, run_id: str, owner: str, report: BackupReport, held: list[HeldItem]
    ) -> None:
        selectors = Selectors.from_settings(services.settings)
        url = f"sites/{quote(owner, safe=',')}/drives"
        listed = [
            (d["id"], d.get("name") or d["id"])
            for page in services.graph.iter_pages(url, params={"$select": "id,name,driveType"})
            for d in page
            if isinstance(d, dict) and d.get("id")
        ]
        drives = [(d, name) for d, name in listed if selectors.library(name)]
        # every library the site has now, excluded ones too: only a library gone from the site is ended
        present = {d for d, _ in listed}
        backup_drives(services, run_id, f"{self.name}:{owner}", drives, report, present=present, held=held)
