"""Every category of every workload, as the registry declares them, driven through the same life: a backup and an
incremental, browse and search as of each point, a restore of one item under each conflict policy the category
allows and into a new folder, a download and an export. The cases come from the registry, so a new category is
covered here without editing this file (its simulated surface must seed a few items of it)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from core.browse import ItemQuery, find_items, list_tree, search_page
from core.exports.downloads import open_download, open_zip
from core.restore import restore
from core.restore_plan import validate_restore
from core.restore_request import RestoreRequest
from core.storage.runs import USABLE
from core.workloads import registry
from core.workloads.base import Category
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

CASES = [(w.name, c.name) for w in registry.WORKLOADS.values() for c in w.categories]
# what a one-item restore into the item's own folder reports, by conflict policy, while the item is still there
EXPECTED = {"skip": "skipped", "keep-both": "restored", "replace": "restored", "fail": "failed"}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": ",".join(registry.workload_names()), "GRAPH_PAGE_SIZE": "5"}
    t = open_tenant(tmp_path_factory.mktemp("contract") / "sim", isolated_storage(azurite), settings, users=1,
                    messages=6, seed=71, contacts=3, events=2, drive_files=4, sites=1)  # fmt: skip
    first = t.backup()
    second = t.backup()  # the incremental
    assert first["status"] == "succeeded" and second["status"] == "succeeded", (first, second)
    t.runs = (first["run_id"], second["run_id"])  # type: ignore[attr-defined]
    yield t
    t.close()


def _resource(tenant: Tenant, workload: str, category: Category, run_id: str) -> str:
    """The first resource of the workload backed up in the run with items of the category."""
    points = tenant.services.runs.points_by_resource()
    for key in sorted(k for k in points if k.startswith(f"{workload}:")):
        backed_up = any(p["run_id"] == run_id and p["status"] in USABLE for p in points[key])
        if backed_up and _items(tenant, key, category, run_id):
            return key
    raise AssertionError(f"the tenant holds no {workload} resource with {category.noun}")


def _items(tenant: Tenant, resource: str, category: Category, run_id: str) -> list[dict]:
    _run, found = find_items(tenant.services, ItemQuery(resource, run_id, category=category.name))
    return list(found)


@pytest.mark.parametrize(("workload", "name"), CASES, ids=[f"{w}-{c}" for w, c in CASES])
def test_every_category_backs_up_browses_restores_downloads_and_exports(tenant: Tenant, workload: str, name: str):
    services = tenant.services
    category = registry.workload(workload).category(name)
    first, second = tenant.runs  # type: ignore[attr-defined]
    resource = _resource(tenant, workload, category, second)

    # backup and incremental: the same items as of both points (nothing changed between them)
    at_first, at_second = _items(tenant, resource, category, first), _items(tenant, resource, category, second)
    assert at_first, f"no {name} items backed up for {resource}"
    assert sorted(i["id"] for i in at_first) == sorted(i["id"] for i in at_second)
    item = sorted(at_second, key=lambda i: i["id"])[0]

    # browse (the top of the tree) and search (by a part of the item's name)
    top = list_tree(services, resource, second, category=name)
    assert top.folders or top.items
    probe = (item["name"] or "")[:4]
    page = search_page(services, ItemQuery(resource, second, category=name, name=probe or None), 1000, None)
    assert item["id"] in {i["id"] for i in page.items}

    # restore one item under each conflict policy the category allows, then into a new folder
    for conflict in category.conflicts:
        request = RestoreRequest(resource=resource, run_id=second, item_ids=(item["id"],), conflict=conflict,
                                 category=name)  # fmt: skip
        assert validate_restore(services, request).items >= 1  # an event exception brings its series
        report = restore(services, request)
        counts = {"restored": report.restored, "skipped": report.skipped, "failed": report.failed}
        assert counts[EXPECTED[conflict]] == 1 and sum(counts.values()) == 1, (conflict, counts, report.failures)
    elsewhere = RestoreRequest(resource=resource, run_id=second, item_ids=(item["id"],), destination="new-folder",
                               destination_name=f"Contract {name}", category=name)  # fmt: skip
    report = restore(services, elsewhere)
    assert report.restored == 1 and report.failed == 0, report.to_dict()

    # download one item, export the whole category
    download = open_download(services, resource, item["id"], run_id=second, category=name)
    data = b"".join(download.chunks)
    assert data and (category.media_type is None or download.media_type == category.media_type)
    assert download.filename.endswith(category.suffix)
    export = open_zip(services, resource, run_id=second, category=name)
    out = io.BytesIO()
    counts = export.write_to(out)
    names = zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
    written = counts.get("items", counts.get("messages"))  # a mail export counts its messages
    assert "manifest.json" in names and len(names) - 1 == written > 0 and not counts["failed"], counts
