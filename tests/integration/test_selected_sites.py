"""SharePoint discovery under Sites.Selected (core/workloads/files/selected_sites.py): getAllSites refused, the sites
BACKUP_INCLUDE_SITES names are read by their URLs and backed up, the others never touched; a URL that does not
resolve fails the discovery and names it."""

from __future__ import annotations

import pytest

from core.bootstrap import build_services
from core.config import load_settings
from core.errors import ConfigError, GraphError
from core.runner import run_backup
from core.workloads.files.selected_sites import site_path
from tests.integration.drive_tenants import drive_tenant


def test_the_included_sites_are_resolved_by_url_when_getallsites_is_refused(tmp_path, storage_env):
    for tenant in drive_tenant(tmp_path, storage_env, "sharepoint", seed=64, sites=3):
        control = tenant.sim.control
        listed = control.drives_state()["sites"]
        wanted, other = listed[:2], listed[2]
        control.configure_drives(all_sites_status=403)  # what Sites.Selected answers
        urls = ",".join(s["webUrl"].upper() if i else s["webUrl"] + "/" for i, s in enumerate(wanted))
        services = build_services(load_settings({**tenant.env, "BACKUP_INCLUDE_SITES": urls}))
        try:
            run = run_backup(services)
        finally:
            services.close()
        assert run["status"] == "succeeded", run
        assert {r["resource"] for r in run["results"]} == {f"sharepoint:{s['id']}" for s in wanted}
        assert all(r["items"] > 0 for r in run["results"])  # their libraries were backed up
        assert f"sharepoint:{other['id']}" not in {r["resource"] for r in run["results"]}

        # a URL that names no site fails SharePoint's discovery, naming it; nothing is guessed
        missing = wanted[0]["webUrl"].rsplit("/", 1)[0] + "/no-such-site"
        services = build_services(load_settings({**tenant.env, "BACKUP_INCLUDE_SITES": f"{urls},{missing}"}))
        try:
            with pytest.raises(GraphError, match="no-such-site"):
                run_backup(services)
        finally:
            services.close()


def test_a_site_url_becomes_a_graph_path():
    assert site_path("https://contoso.sharepoint.com/sites/Finance Team/") == (
        "sites/contoso.sharepoint.com:/sites/Finance%20Team"
    )
    assert site_path("https://contoso.sharepoint.com") == "sites/contoso.sharepoint.com"
    for bad in ("contoso.sharepoint.com/sites/x", "http://contoso.sharepoint.com/sites/x", "https:///x"):
        with pytest.raises(ConfigError, match="not a site URL"):
            site_path(bad)
