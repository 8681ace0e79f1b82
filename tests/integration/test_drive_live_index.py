"""A drive's incremental reads the catalog rows of what it touches, not of every live file (issue 16): the file
index is a `LiveIndex` (core/storage/live_index.py). A round that deletes a folder finds the files that end with it
by one filtered query per folder, and the backup still holds exactly what the drive holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.workloads.files.drive_backup import FILE
from tests.integration.drive_tenants import drive_tenant, my_drive
from tests.integration.tenant import Tenant
from tests.integration.test_drive_rounds import backed_up_paths, make_tree, sim_paths

FOLDERS = ["Doomed", "Doomed/Inner", "Kept"]
FILES = [f"Kept/k{n}.txt" for n in range(20)] + [f"Doomed/d{n}.txt" for n in range(4)] + [
    "Doomed/Inner/i0.txt", "Doomed/Inner/moved out.txt"]  # fmt: skip


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    yield from drive_tenant(tmp_path, storage_env, "onedrive", seed=71, page=50)


def test_a_drive_incremental_reads_what_changed_and_ends_a_deleted_folders_files(tenant: Tenant):
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    ids = make_tree(tenant, drive["id"], FOLDERS, FILES)
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    live = len(sim_paths(tenant, drive["id"]))
    assert live >= len(FILES)
    tenant.services.catalog.point_reads = 8  # the drive holds more: the incremental reads file by file

    control.configure_drives(delta_order="newest_first")  # the folder's delete listed before its child's move
    control.add_drive_item(drive["id"], "new.txt", parent=ids["Kept"], size=111)
    control.modify_drive_item(drive["id"], ids["Kept/k3.txt"], size=999)
    control.move_drive_item(drive["id"], ids["Doomed/Inner/moved out.txt"], parent=ids["Kept"])
    control.delete_drive_item(drive["id"], ids["Doomed"])
    tenant.services.catalog.reads.reset()
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    reads = tenant.services.catalog.reads.snapshot()  # the backup's own (browsing below reads the catalog too)
    now = backed_up_paths(tenant, resource, second["run_id"])
    assert now == sim_paths(tenant, drive["id"])  # exactly what the drive holds
    assert "Kept/moved out.txt" in {p for p, _ in now.values()}
    assert not any(p.startswith("Doomed/") for p, _ in now.values())
    assert backed_up_paths(tenant, resource, first["run_id"]) != now  # the earlier point is untouched...
    assert len(backed_up_paths(tenant, resource, first["run_id"])) == live  # ...and whole

    # the ransomware signal's count (live rows, keys only, nothing kept), the first page of 8, then the rows of
    # what the round touched: the files it lists or deletes, read one by one (at most 8 before the index would be
    # loaded whole), and the live files of the 2 folders that end (Doomed's 4, Inner's 2), never Kept's 20 others
    touched = reads["rows"][FILE] - live - 8
    assert 0 < touched <= 8 + 6 < live - 8, reads
    assert reads["queries"][FILE] == 1 + 1 + 8 + 2, reads  # probe, count, point reads, one query per folder
