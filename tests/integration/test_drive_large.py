"""A OneDrive of 10,000 items enumerated through many delta pages: mostly folders and zero-byte files (which need no
download) with 100 real files, backed up, then a folder with many descendants deleted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.browse import ItemQuery, find_items
from core.workloads.files.drive_backup import DRIVE_FOLDER
from tests.integration.tenant import Tenant, open_tenant, sha256

FOLDERS, EMPTY_FILES, FILES = 2_000, 7_900, 100
PAGE = 250  # 10,000 items and the root: 41 delta pages
SETTINGS = {"BACKUP_WORKLOADS": "onedrive", "GRAPH_PAGE_SIZE": str(PAGE)}


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, SETTINGS, users=1, messages=1, seed=41, drive_files=0, sites=0)
    yield t
    t.close()


def sim_drive(tenant: Tenant, user_id: str) -> dict:
    return tenant.sim.control.drive(user_id)


def sim_files(drive: dict) -> dict[str, tuple[str, str]]:
    """composite id -> (path below the root, sha256) of every file in the simulated drive."""
    return {f"{drive['id']}/{i['id']}": (i["path"].lstrip("/"), i["sha256"]) for i in drive["items"] if not i["folder"]}


def catalog_files(tenant: Tenant, resource: str, run_id: str) -> dict[str, tuple[str, str]]:
    _, items = find_items(tenant.services, ItemQuery(resource, run_id))
    return {i["id"]: (i["path"], i["sha256"]) for i in items}


def catalog_folders(tenant: Tenant, resource: str, run_id: str) -> set[str]:
    return {v.item_id for v in tenant.services.catalog.as_of(resource, DRIVE_FOLDER, run_id)}


def test_ten_thousand_items_through_many_delta_pages_then_a_big_folder_deleted(tenant: Tenant):
    control = tenant.sim.control
    user = tenant.user(0)["id"]
    resource = f"onedrive:{user}"
    drive = sim_drive(tenant, user)
    for seeded in [i for i in drive["items"] if i["parent_id"] == drive["root_id"]]:
        control.delete_drive_item(drive["id"], seeded["id"])  # only the bulk tree below: exactly 10,000 items
    bulk = control.bulk_add_drive_items(drive["id"], folders=FOLDERS, empty_files=EMPTY_FILES, files=FILES)
    assert bulk["added"] == 10_000
    drive = sim_drive(tenant, user)
    items = [i for i in drive["items"] if i["parent_id"] is not None]
    assert len(items) == 10_000
    assert max(i["path"].count("/") for i in items if i["folder"]) >= 4  # a nested tree, not a flat list
    files = sim_files(drive)
    empty = {k for k, (_, sha) in files.items() if sha == sha256(b"")}
    assert (len(files), len(empty)) == (EMPTY_FILES + FILES, EMPTY_FILES)

    control.reset_stats()
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    assert control.stats()["by_kind"]["drive_delta"] > 20  # many delta pages
    assert control.drive_stats()["download_requests"] == FILES  # the zero-byte files were never downloaded
    assert catalog_files(tenant, resource, first["run_id"]) == files
    sim_folders = {f"{drive['id']}/{i['id']}" for i in drive["items"] if i["folder"]}
    assert catalog_folders(tenant, resource, first["run_id"]) == sim_folders

    victim = bulk["top"][0]  # a top folder: 584 folders and about 2,400 files below it
    gone = control.delete_drive_item(drive["id"], victim["id"])
    assert len(gone) > 1_000
    gone_keys = {f"{drive['id']}/{g}" for g in gone}
    after = sim_drive(tenant, user)
    control.reset_stats()
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert control.drive_stats()["download_requests"] == 0
    remaining = sim_files(after)
    assert catalog_files(tenant, resource, second["run_id"]) == remaining
    assert len(remaining) == len(files) - len(gone_keys & set(files))
    assert second["removed"] == len(gone_keys & set(files))
    assert not catalog_folders(tenant, resource, second["run_id"]) & gone_keys  # every folder below ended too
    assert catalog_files(tenant, resource, first["run_id"]) == files  # the first run is untouched
