"""OneDrive and SharePoint backups at full speed against a simulated tenant that enforces its resource-unit budget
(graphsim/drives/service.py ResourceUnits: RU per window for the whole tenant, 429 + Retry-After beyond it,
RateLimit-* headers past 80%): the client's RU budget (core/graph/ru_budget.py) keeps the 429s rare and every file is
stored. The minute is compressed to three seconds; the figures asserted are counts, not times."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.browse import ItemQuery, find_items
from core.graph.ru_budget import shared_budget
from tests.integration.tenant import Tenant, open_tenant

WORKLOADS = {"BACKUP_WORKLOADS": "onedrive,sharepoint", "GRAPH_PAGE_SIZE": "5", "BACKUP_ITEM_CONCURRENCY": "16"}
BUDGET = 90  # RU per window: a small tenant's 1,200 per minute, its minute compressed to WINDOW seconds
WINDOW = 3.0
SIM = {"users": 2, "messages": 1, "contacts": 0, "events": 0, "seed": 37, "drive_files": 40, "sites": 2}


def stored_everything(tenant: Tenant, at_least: int = 80) -> None:
    """Every file of every simulated drive is in the catalog, with its content's hash."""
    expected: dict[str, dict[str, str]] = {}
    for drive in tenant.sim.control.drives_state()["drives"]:
        resource = f"{'onedrive' if drive['owner_kind'] == 'user' else 'sharepoint'}:{drive['owner_id']}"
        files = {f"{drive['id']}/{i['id']}": i["sha256"] for i in drive["items"] if not i["folder"]}
        expected.setdefault(resource, {}).update(files)
    assert sum(len(v) for v in expected.values()) >= at_least
    for resource, files in expected.items():
        _, items = find_items(tenant.services, ItemQuery(resource, None))
        stored = {i["id"]: i["sha256"] for i in items if i["id"] in files}
        assert stored == files, resource


def throttled_share(stats: dict[str, Any]) -> float:
    answered = stats["ru_requests"] + stats["ru_throttled"]
    return stats["ru_throttled"] / answered


@pytest.fixture
def tight(tmp_path, storage_env) -> Iterator[Tenant]:
    tenant = open_tenant(tmp_path / "sim", storage_env, WORKLOADS, ru_budget=BUDGET, ru_window=WINDOW, **SIM)
    yield tenant
    tenant.close()


def test_full_speed_backup_within_the_tenants_budget_is_rarely_throttled_and_complete(tight: Tenant) -> None:
    assert tight.env["GRAPH_SHAREPOINT_RU_PER_MINUTE"] == str(BUDGET)  # the simulated tier reaches the client
    result = tight.backup()
    assert result["status"] == "succeeded", result
    stored_everything(tight)
    stats = tight.sim.control.drive_stats()
    assert stats["ru_charged"] > 3 * BUDGET  # the budget bound: the run spanned several of its windows
    assert throttled_share(stats) <= 0.01, stats
    graph = tight.services.graph.stats()
    assert graph["ru_units"] >= stats["ru_used"]  # the client priced at least what the simulator charged


def test_a_tier_set_too_high_is_corrected_by_the_services_answers(tmp_path, storage_env) -> None:
    """The client believes in four times the tenant's budget (a wrong tier, or other apps of the vendor spending
    the same quota). The budget is so small that even a slow machine reaches 80% of it at once: the RateLimit-Limit
    that comes with the answers from then on shrinks the client's budget to the tenant's (429s, if any, pause it by
    their Retry-After), few requests are throttled and every file is still stored."""
    budget, window = 20, 5.0
    settings = WORKLOADS | {"GRAPH_SHAREPOINT_RU_PER_MINUTE": str(4 * budget)}
    sim = SIM | {"users": 1, "drive_files": 20, "sites": 0}
    tenant = open_tenant(tmp_path / "sim", storage_env, settings, ru_budget=budget, ru_window=window, **sim)
    try:
        result = tenant.backup()
        assert result["status"] == "succeeded", result
        stored_everything(tenant, at_least=20)
        stats = tenant.sim.control.drive_stats()
        # it was told (RateLimit-Limit comes with every answer past 80% of the budget, 429s included), and listened
        learned = shared_budget(tenant.env["GRAPH_TENANT_ID"], 4 * budget, float(window))
        assert learned.per_window == budget
        # a client pacing at its wrong tier would see about 3 in 4 answered 429
        assert throttled_share(stats) <= 0.25, (throttled_share(stats), stats["ru_throttled"], stats["ru_requests"])
    finally:
        tenant.close()
