"""Issue 11, the drive engine: a drive delta round applied as a whole whatever order it lists its items in, links
sent exactly as received, removed libraries ended, and a SharePoint discovery that cannot list every site failing
visibly rather than shrinking the set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.errors import GraphError
from core.workloads.files.drive_backup import DRIVE, FILE
from tests.integration.drive_tenants import drive_tenant, my_drive
from tests.integration.tenant import Tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    yield from drive_tenant(tmp_path, storage_env, "onedrive", seed=59, page=4)


@pytest.fixture
def sites(tmp_path, storage_env) -> Iterator[Tenant]:
    yield from drive_tenant(tmp_path, storage_env, "sharepoint", seed=61, sites=2)


def sim_paths(tenant: Tenant, drive_id: str) -> dict[str, tuple[str, str]]:
    """composite id -> (path, sha256) of every file in the simulated drive now."""
    drive = tenant.sim.control.drive(drive_id)
    return {f"{drive_id}/{i['id']}": (i["path"].lstrip("/"), i["sha256"]) for i in drive["items"] if not i["folder"]}


def backed_up_paths(tenant: Tenant, resource: str, run_id: str) -> dict[str, tuple[str, str]]:
    from core.browse import ItemQuery, find_items

    _, items = find_items(tenant.services, ItemQuery(resource, run_id))
    return {i["id"]: (i["path"], i["sha256"]) for i in items}


def make_tree(tenant: Tenant, drive_id: str, folders: list[str], files: list[str]) -> dict[str, str]:
    """Folders (parents first) and files by path below the root; returns path -> item id."""
    ids: dict[str, str] = {}
    for path in folders:
        parent, _, name = path.rpartition("/")
        ids[path] = tenant.sim.control.create_drive_folder(drive_id, name, parent=ids.get(parent, "/"))["id"]
    for n, path in enumerate(files):
        parent, _, name = path.rpartition("/")
        ids[path] = tenant.sim.control.add_drive_item(drive_id, name, parent=ids.get(parent, "/"), size=300 + n)["id"]
    return ids


def backup_matches_the_drive(tenant: Tenant, drive_id: str, resource: str) -> set[str]:
    """Back up; the restore point holds every file of the drive at its path. Returns the paths."""
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    assert backed_up_paths(tenant, resource, run["run_id"]) == sim_paths(tenant, drive_id)
    return {p for p, _ in sim_paths(tenant, drive_id).values()}


def test_item3_a_folder_deleted_in_the_round_a_child_moved_out_of_keeps_the_child(tenant: Tenant):
    """Issue 11 item 3: the round lists the folder's deletion before the move of its child folder out of it
    (delta promises no order); the child and everything below it stay live."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    ids = make_tree(tenant, drive["id"], ["Doomed", "Doomed/Child", "Doomed/Child/Grandchild"],
                    ["Doomed/Child/Grandchild/kept.txt", "Doomed/lost with the folder.txt"])  # fmt: skip
    tenant.backup()
    control.configure_drives(delta_order="newest_first")
    control.move_drive_item(drive["id"], ids["Doomed/Child"], parent="/")
    control.delete_drive_item(drive["id"], ids["Doomed"])
    assert "Child/Grandchild/kept.txt" in backup_matches_the_drive(tenant, drive["id"], resource)


@pytest.mark.timeout(60, method="thread")
def test_item3_a_parent_cycle_that_exists_only_mid_round_ends(tenant: Tenant):
    """Issue 11 item 3: B sat under A; B moved to the root, a folder D deleted, A moved under B. Listed newest
    first, A (under B) comes before B moved out of A: applied entry by entry, A and B are each other's parent while
    D's deletion is applied. Applied as a whole, the round ends, D goes, and A/B are where the drive has them."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    ids = make_tree(tenant, drive["id"], ["A", "A/B", "D"], ["A/B/in b.txt", "A/in a.txt", "D/in d.txt"])
    tenant.backup()
    control.configure_drives(delta_order="newest_first")
    control.move_drive_item(drive["id"], ids["A/B"], parent="/")
    control.delete_drive_item(drive["id"], ids["D"])
    control.move_drive_item(drive["id"], ids["A"], parent=ids["A/B"])
    assert {"B/A/in a.txt", "B/in b.txt"} <= backup_matches_the_drive(tenant, drive["id"], resource)


def test_item3_any_order_of_a_busy_round_gives_the_drive_as_it_is(tenant: Tenant):
    """Issue 11 item 3: a round of moves, deletions and additions listed in a shuffled order."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    folders = [f"F{n}" for n in range(4)] + [f"F{n}/G{n}" for n in range(4)]
    ids = make_tree(tenant, drive["id"], folders, [f"F{n}/G{n}/file {n}.txt" for n in range(4)])
    tenant.backup()
    control.configure_drives(delta_order="shuffle")
    control.move_drive_item(drive["id"], ids["F0/G0"], parent=ids["F3"])
    control.move_drive_item(drive["id"], ids["F1/G1"], parent="/")
    control.delete_drive_item(drive["id"], ids["F0"])
    control.delete_drive_item(drive["id"], ids["F1"])
    control.move_drive_item(drive["id"], ids["F2"], parent=ids["F1/G1"])
    control.add_drive_item(drive["id"], "new.txt", parent=ids["F2"], size=77)
    assert "G1/F2/new.txt" in backup_matches_the_drive(tenant, drive["id"], resource)


def test_item9_links_without_a_query_string_are_sent_exactly_as_received(tenant: Tenant):
    """Issue 11 item 9: delta links shaped .../root/delta(token='...') (no '?') are opaque: sent unedited, also the
    Location of a 410 resync."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    control.configure(link_style="function")
    tenant.backup()
    saved = tenant.services.delta_state.load(resource)[(DRIVE, drive["id"])].delta_link
    assert "?" not in saved and "delta(token='" in saved
    added = control.add_drive_item(drive["id"], "after the first run.txt", size=123)
    second = tenant.backup()
    assert f"{drive['id']}/{added['id']}" in backed_up_paths(tenant, resource, second["run_id"])
    control.expire_drive_delta_tokens()
    third = tenant.backup()
    assert third["status"] == "succeeded", third
    assert backed_up_paths(tenant, resource, third["run_id"]) == sim_paths(tenant, drive["id"])
    assert control.drive_stats()["delta_links_edited"] == 0


def test_item5_a_removed_library_is_ended_and_its_delta_state_forgotten(sites: Tenant):
    """Issue 11 item 5: a document library deleted from its site ends at the next run (its files are no longer
    live), its delta state is forgotten; the earlier restore point still holds it."""
    control = sites.sim.control
    state = control.drives_state()
    library = next(d for d in state["drives"] if d["name"] == "Project Files")
    resource = f"sharepoint:{library['owner_id']}"
    first = sites.backup()
    had = {v.item_id for v in sites.services.catalog.as_of(resource, FILE, first["run_id"])}
    in_library = {k for k in had if k.startswith(library["id"] + "/")}
    assert in_library
    control.remove_drive(library["id"])
    second = sites.backup()
    assert second["status"] == "succeeded", second
    now = {v.item_id for v in sites.services.catalog.as_of(resource, FILE, second["run_id"])}
    assert now == had - in_library
    assert (DRIVE, library["id"]) not in sites.services.delta_state.load(resource)
    assert {v.item_id for v in sites.services.catalog.as_of(resource, FILE, first["run_id"])} == had


def test_item10c_a_sharepoint_discovery_that_cannot_list_every_site_fails_visibly(sites: Tenant):
    """Issue 11 item 10c: getAllSites refused, and the search index misses a site: backing up only the sites
    search finds would silently drop the other. Discovery fails, and says why."""
    control = sites.sim.control
    missed = control.drives_state()["sites"][1]["id"]
    control.configure_drives(all_sites_status=403, unindexed_sites=[missed])
    with pytest.raises(GraphError, match="getAllSites"):
        sites.backup()


def test_item10c_a_failed_sharepoint_discovery_does_not_stop_the_other_workloads(tmp_path, storage_env):
    """Issue 11 item 10c (and "a failed resource never fails its siblings"): with SharePoint's discovery refused,
    the mailboxes and OneDrives are still backed up; the run is partial, not a success, and names the workload."""
    for tenant in drive_tenant(tmp_path, storage_env, "exchange,onedrive,sharepoint", seed=62, sites=1):
        tenant.sim.control.configure_drives(all_sites_status=403)
        run = tenant.backup()
        assert run["status"] == "partial", run
        assert "sharepoint discovery failed" in run["error"] and "getAllSites" in run["error"]
        user = tenant.user(0)["id"]
        statuses = {r["resource"]: r["status"] for r in run["results"]}
        assert (statuses[f"exchange:{user}"], statuses[f"onedrive:{user}"]) == ("succeeded", "succeeded")
        assert not any(key.startswith("sharepoint:") for key in statuses)
        recorded = tenant.services.runs.get(run["run_id"])
        assert recorded["status"] == "partial" and "sharepoint discovery failed" in recorded["error"]
