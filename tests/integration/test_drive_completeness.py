"""Issue 11, the drive engine: nothing a OneDrive still holds is missing from a restore point. Transient 404s on
content, listings that never match their content (quarantine), permissions far over a Table property, and sharing
changes, each produced by the simulator as Graph documents it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.files.drive_backup import DRIVE, DRIVE_FOLDER, FILE
from core.workloads.files.drive_metadata import recorded_permissions
from tests.integration.drive_tenants import drive_tenant, my_drive
from tests.integration.tenant import Tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    yield from drive_tenant(tmp_path, storage_env, "onedrive", seed=53)


def sim_files(tenant: Tenant, drive_id: str) -> dict[str, str]:
    """composite id -> sha256 of every file in the simulated drive now."""
    drive = tenant.sim.control.drive(drive_id)
    return {f"{drive_id}/{i['id']}": i["sha256"] for i in drive["items"] if not i["folder"]}


def backed_up(tenant: Tenant, resource: str, run_id: str) -> dict[str, str]:
    return {v.item_id: v.content_hash for v in tenant.services.catalog.as_of(resource, FILE, run_id)}


def result_of(run: dict, resource: str) -> dict:
    return next(r for r in run["results"] if r["resource"] == resource)


def test_item1_a_transient_404_on_content_does_not_lose_the_file(tenant: Tenant):
    """Issue 11 item 1: a 404 on /content is not proof of deletion. The item is read by id; it exists, so it is
    fetched again, and the restore point of that very run holds it."""
    drive, resource = my_drive(tenant)
    tenant.backup()
    added = tenant.sim.control.add_drive_item(drive["id"], "arrived during a 404.txt", size=3000)
    tenant.sim.control.content_404(item=added["id"], count=1)
    second = tenant.backup()
    assert result_of(second, resource)["status"] == "succeeded", second
    assert backed_up(tenant, resource, second["run_id"]) == sim_files(tenant, drive["id"])
    third = tenant.backup()
    assert backed_up(tenant, resource, third["run_id"]) == sim_files(tenant, drive["id"])


def test_item4_permanently_failing_files_are_quarantined_and_the_link_moves_on(tenant: Tenant):
    """Issue 11 item 4: a file whose listed size never matches its content and a file whose content always
    answers 404 are held in quarantine, reported as failed items of a partial restore point, and do not hold the
    drive's delta link back; later runs retry them by id, release the one that can be captured and the one that
    is gone."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    tenant.backup()
    mismatch = control.add_drive_item(drive["id"], "listed wrong.bin", size=4000)
    control.set_drive_item_listing(drive["id"], mismatch["id"], size_delta=17)
    missing = control.add_drive_item(drive["id"], "always 404.txt", size=2000)
    control.content_404(item=missing["id"], count=10_000)
    fine = control.add_drive_item(drive["id"], "fine.txt", size=1000)
    keys = {name: f"{drive['id']}/{item['id']}" for name, item in
            (("mismatch", mismatch), ("missing", missing), ("fine", fine))}  # fmt: skip

    second = tenant.backup()
    result = result_of(second, resource)
    assert (result["status"], result["failed_items"]) == ("partial", 2), result
    assert {i.item_id for i in tenant.services.quarantine.held(resource)} == {keys["mismatch"], keys["missing"]}
    assert keys["fine"] in backed_up(tenant, resource, second["run_id"])
    state = tenant.services.delta_state.load(resource)[(DRIVE, drive["id"])]
    assert state.run_id == second["run_id"]  # the round's link was saved: its other content is durable

    control.reset_stats()
    third = tenant.backup()  # nothing changed: one delta request, and the two held items retried by id
    assert result_of(third, resource)["failed_items"] == 2
    assert control.stats()["by_kind"]["drive_delta"] == 1
    assert tenant.services.delta_state.load(resource)[(DRIVE, drive["id"])].run_id == third["run_id"]
    held = {i.item_id: i for i in tenant.services.quarantine.held(resource)}
    assert held[keys["missing"]].attempts == 2 and "404" in held[keys["missing"]].error

    control.clear_faults()  # the 404s stop; the listing stays wrong, then the file is deleted
    control.delete_drive_item(drive["id"], mismatch["id"])
    fourth = tenant.backup()
    assert result_of(fourth, resource)["status"] == "succeeded", fourth
    assert tenant.services.quarantine.held(resource) == []
    released = {i.item_id: i.released_as for i in tenant.services.quarantine.history(resource)}
    assert released == {keys["missing"]: "captured", keys["mismatch"]: "deleted"}
    assert backed_up(tenant, resource, fourth["run_id"]) == sim_files(tenant, drive["id"])
    assert [i.item_id for i in tenant.services.quarantine.held_in_run(resource, third["run_id"])] != []


def test_item2_a_permissions_list_far_over_30_kb_is_kept_whole(tenant: Tenant):
    """Issue 11 item 2: a file shared with 400 people (permissions JSON of ~100 KB) neither breaks its drive nor
    is cut: the list goes to the content store, referenced by the version, and restore reads it back."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    tenant.backup()
    shared = control.add_drive_item(drive["id"], "shared with everyone.docx", size=5000)
    control.set_drive_item_permissions(drive["id"], shared["id"], grants=400)
    second = tenant.backup()
    assert result_of(second, resource)["status"] == "succeeded", second
    key = f"{drive['id']}/{shared['id']}"
    version = next(v for v in tenant.services.catalog.as_of(resource, FILE, second["run_id"]) if v.item_id == key)
    assert len(version.extra) < 30_000
    permissions = recorded_permissions(tenant.services.content, version.extra)
    assert len(permissions) == 401  # the inherited owner and 400 grants
    assert {p["grantedToV2"]["user"]["email"] for p in permissions if "inheritedFrom" not in p} == {
        f"grantee{n:05d}@partner.example" for n in range(400)
    }
    after = control.add_drive_item(drive["id"], "after the shared one.txt", size=100)
    third = tenant.backup()  # the drive is not wedged
    assert f"{drive['id']}/{after['id']}" in backed_up(tenant, resource, third["run_id"])
    report = restore(tenant.services, RestoreRequest(resource, item_ids=(key,), conflict="keep-both"))
    assert report.restored == 1 and report.items[0]["sharing_omitted"] == "400"


def test_item8_sharing_changes_are_new_versions_and_folders_permissions_are_read(tenant: Tenant):
    """Issue 11 item 8: a sharing change (delta lists the item, flagged @microsoft.graph.sharedChanged, with the
    same eTag and content) is captured as a new version without downloading the content again; a shared folder's
    permissions are captured too."""
    control = tenant.sim.control
    drive, resource = my_drive(tenant)
    first = tenant.backup()
    photos = next(i for i in drive["items"] if i["folder"] and i["name"] == "Photos")  # seeded with a link
    folder = next(v for v in tenant.services.catalog.as_of(resource, DRIVE_FOLDER, first["run_id"])
                  if v.item_id == f"{drive['id']}/{photos['id']}")  # fmt: skip
    assert any("link" in p for p in recorded_permissions(tenant.services.content, folder.extra))

    target = next(i for i in drive["items"] if not i["folder"] and i["name"].endswith(".txt"))
    key = f"{drive['id']}/{target['id']}"
    control.set_drive_item_permissions(drive["id"], target["id"], grants=2)
    control.reset_stats()
    second = tenant.backup()
    assert control.drive_stats()["download_requests"] == 0
    history = tenant.services.catalog.history(resource, FILE, key)
    assert [v.first_seen_run for v in history] == [first["run_id"], second["run_id"]]
    assert history[0].content_hash == history[1].content_hash == target["sha256"]
    granted = [p for p in recorded_permissions(tenant.services.content, history[1].extra) if "grantedToV2" in p]
    assert len([p for p in granted if "inheritedFrom" not in p]) == 2

    control.set_drive_item_permissions(drive["id"], target["id"], clear=True)
    third = tenant.backup()
    history = tenant.services.catalog.history(resource, FILE, key)
    assert [v.first_seen_run for v in history] == [first["run_id"], second["run_id"], third["run_id"]]
    assert all("inheritedFrom" in p for p in recorded_permissions(tenant.services.content, history[2].extra))
