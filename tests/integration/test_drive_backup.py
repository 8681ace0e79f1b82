"""OneDrive and SharePoint libraries end to end: the simulator over loopback HTTPS, Azurite, core's services."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.browse import ItemQuery, find_items
from core.errors import NotFoundError
from core.planning import run_time
from core.restore import restore
from core.restore_request import RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.files.drive_backup import FILE
from tests.integration.tenant import Tenant, open_tenant, sha256

WORKLOADS = {"BACKUP_WORKLOADS": "onedrive,sharepoint", "GRAPH_PAGE_SIZE": "5"}


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, WORKLOADS, users=2, messages=2, seed=31)
    yield t
    t.close()


def onedrive(tenant: Tenant, n: int = 0) -> dict:
    user = tenant.user(n)
    return tenant.sim.control.drive(user["id"]) | {"user": user["id"]}


def sim_files(tenant: Tenant, drive_id: str) -> dict[str, tuple[str, str]]:
    """composite id -> (path below the root, sha256) of every file in the simulated drive now."""
    drive = next(d for d in tenant.sim.control.drives_state()["drives"] if d["id"] == drive_id)
    return {f"{drive_id}/{i['id']}": (i["path"].lstrip("/"), i["sha256"]) for i in drive["items"] if not i["folder"]}


def catalog_files(tenant: Tenant, resource: str, run_id: str | None = None) -> dict[str, tuple[str, str]]:
    _, items = find_items(tenant.services, ItemQuery(resource, run_id))
    return {i["id"]: (i["path"], i["sha256"]) for i in items}


def test_full_then_incremental_add_modify_rename_move_delete(tenant: Tenant):
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    before = sim_files(tenant, drive["id"])
    assert catalog_files(tenant, resource, first["run_id"]) == before
    for site in tenant.sim.control.drives_state()["sites"]:
        site_drives = [d for d in tenant.sim.control.drives_state()["drives"] if d["owner_id"] == site["id"]]
        expected = {k: v for d in site_drives for k, v in sim_files(tenant, d["id"]).items()}
        assert catalog_files(tenant, f"sharepoint:{site['id']}") == expected

    control = tenant.sim.control
    files = sorted((i for i in drive["items"] if not i["folder"]), key=lambda i: i["id"])
    folders = [i for i in drive["items"] if i["folder"] and i["parent_id"]]
    control.add_drive_item(drive["id"], "added after run 1.txt", parent=folders[0]["id"], size=3000)
    control.modify_drive_item(drive["id"], files[0]["id"], size=5000)
    control.rename_drive_item(drive["id"], files[1]["id"], "renamed ünïcode #1 50%.txt")
    control.move_drive_item(drive["id"], files[2]["id"], parent=folders[-1]["id"])
    control.delete_drive_item(drive["id"], files[3]["id"])
    control.reset_stats()
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    now = sim_files(tenant, drive["id"])
    assert catalog_files(tenant, resource, second["run_id"]) == now
    assert catalog_files(tenant, resource, first["run_id"]) == before  # the earlier run is untouched
    assert tenant.sim.control.drive_stats()["download_requests"] == 2  # the added and the modified file only


def test_no_change_incremental_is_one_delta_request_per_drive_and_no_blobs(tenant: Tenant):
    tenant.backup()
    blobs = tenant.blob_count()
    tenant.sim.control.reset_stats()
    again = tenant.backup()
    assert again["items"] == 0 and again["bytes"] == 0
    drives = len(tenant.sim.control.drives_state()["drives"])
    stats = tenant.sim.control.stats()
    assert stats["by_kind"]["drive_delta"] == drives  # one delta request per drive, nothing re-enumerated
    assert tenant.sim.control.drive_stats()["download_requests"] == 0
    assert tenant.blob_count() == blobs


def test_a_deleted_folder_tree_is_restored_byte_identical_to_its_place(tenant: Tenant):
    first = tenant.backup()
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    tree = next(i for i in drive["items"] if i["folder"] and i["path"].count("/") == 2)
    before = {p: sha for p, sha in sim_files(tenant, drive["id"]).values() if p.startswith(tree["path"][1:] + "/")}
    assert before
    tenant.sim.control.delete_drive_item(drive["id"], tree["id"])
    tenant.backup()
    report = restore(tenant.services, RestoreRequest(resource, run_id=first["run_id"], folder=tree["path"][1:]))
    assert report.failed == 0 and report.restored == len(before)
    after = {p: sha for p, sha in sim_files(tenant, drive["id"]).values() if p.startswith(tree["path"][1:] + "/")}
    assert after == before


def test_restore_into_another_users_onedrive_under_a_new_folder(tenant: Tenant):
    tenant.backup()
    source, target = onedrive(tenant, 0), onedrive(tenant, 1)
    files = sim_files(tenant, source["id"])
    report = restore(
        tenant.services,
        RestoreRequest(f"onedrive:{source['user']}", whole=True, destination="new-folder", target_owner=target["user"]),
    )
    assert report.failed == 0 and report.restored == len(files)
    landed = {
        p.removeprefix(report.destination + "/"): sha
        for p, sha in sim_files(tenant, target["id"]).values()
        if p.startswith(report.destination + "/")
    }
    assert landed == dict(files.values())


def test_each_conflict_policy(tenant: Tenant):
    first = tenant.backup()
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    item = sorted((i for i in drive["items"] if not i["folder"]), key=lambda i: i["id"])[0]
    key = f"{drive['id']}/{item['id']}"
    tenant.sim.control.modify_drive_item(drive["id"], item["id"], size=777)

    def again(policy: str):
        return restore(
            tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(key,), conflict=policy)
        )

    skipped = again("skip")
    assert (skipped.skipped, skipped.restored) == (1, 0)
    failed = again("fail")
    assert failed.failed == 1 and "already exists" in failed.failures[0]["error"]
    kept = again("keep-both")
    assert kept.restored == 1 and kept.items[0]["new_id"] != item["id"]
    replaced = again("replace")
    assert replaced.restored == 1
    same_path = [i for i in tenant.sim.control.drive(drive["id"])["items"] if i["path"] == item["path"]]
    assert len(same_path) == 1 and same_path[0]["sha256"] == item["sha256"]  # the backed-up content is back
    copies = [i for i in tenant.sim.control.drive(drive["id"])["items"] if i.get("sha256") == item["sha256"]]
    assert len(copies) >= 2  # and the kept copy beside it


def test_a_410_resync_loses_nothing(tenant: Tenant):
    tenant.backup()
    drive = onedrive(tenant)
    victim = (
        sorted(i for i in drive["items"] if not i["folder"])[0]
        if False
        else next(i for i in drive["items"] if not i["folder"])
    )
    tenant.sim.control.delete_drive_item(drive["id"], victim["id"])
    tenant.sim.control.add_drive_item(drive["id"], "while the token expired.bin", size=4096)
    tenant.sim.control.expire_drive_delta_tokens()
    blobs = tenant.blob_count()
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    assert catalog_files(tenant, f"onedrive:{drive['user']}", run["run_id"]) == sim_files(tenant, drive["id"])
    assert tenant.blob_count() == blobs + 1


def test_an_interrupted_download_resumes_and_an_interrupted_upload_session_resumes(tenant: Tenant):
    drive = onedrive(tenant)
    big = tenant.sim.control.add_big_file(drive["id"], "big video.mp4", 6 * 1024 * 1024 + 123)
    tenant.sim.control.drop_download(after_bytes=1_000_000, item=big["id"], count=2)
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    assert tenant.sim.control.drive_stats()["download_dropped"] == 2
    resource = f"onedrive:{drive['user']}"
    stored = catalog_files(tenant, resource)[f"{drive['id']}/{big['id']}"]
    assert stored[1] == big["sha256"]

    tenant.sim.control.delete_drive_item(drive["id"], big["id"])
    tenant.backup()
    tenant.sim.control.fail_upload_fragment(count=1)
    report = restore(
        tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(f"{drive['id']}/{big['id']}",))
    )
    assert report.restored == 1, report.failures
    assert tenant.sim.control.drive_stats()["upload_fragment_failed"] == 1
    back = next(i for i in tenant.sim.control.drive(drive["id"])["items"] if i["name"] == "big video.mp4")
    assert back["sha256"] == big["sha256"]
    assert tenant.sim.control.drive_stats()["upload_with_authorization"] == 0
    assert tenant.sim.control.drive_stats()["download_with_authorization"] == 0


def test_a_name_that_would_escape_its_folder_is_never_restored(tenant: Tenant):
    first = tenant.backup()
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    real = next(v for v in tenant.services.catalog.as_of(resource, FILE, first["run_id"]))
    tampered = ItemVersion(**{**real.__dict__, "item_id": f"{drive['id']}/EVIL", "name": "../escape.txt"})
    writer = tenant.services.catalog.writer(resource)
    writer.put(tampered)
    writer.flush()
    items_before = len(tenant.sim.control.drive(drive["id"])["items"])
    report = restore(tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(tampered.item_id,)))
    assert report.restored == 0 and report.failed == 1 and "not a usable" in report.failures[0]["error"]
    assert len(tenant.sim.control.drive(drive["id"])["items"]) == items_before


def test_unknown_items_and_users_are_refused_before_writing(tenant: Tenant):
    tenant.backup()
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    with pytest.raises(NotFoundError):
        restore(tenant.services, RestoreRequest(resource, item_ids=("nope/nope",)))
    with pytest.raises(NotFoundError):
        restore(
            tenant.services, RestoreRequest(resource, whole=True, target_owner="00000000-dead-beef-0000-000000000000")
        )
    assert sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_metadata_and_permissions_are_captured_per_version_and_earlier_content_restores(tenant: Tenant):
    first = tenant.backup()
    drive = onedrive(tenant)
    resource = f"onedrive:{drive['user']}"
    versions = {v.item_id: v for v in tenant.services.catalog.as_of(resource, FILE, first["run_id"])}
    shared = [v for v in versions.values() if json.loads(v.extra)["permissions"]]
    assert shared, "the seeded sharing links and grants are in the catalog"
    extra = json.loads(shared[0].extra)
    assert extra["created"] and extra["modified_by"] and extra["quick_xor"] and extra["fs_modified"]
    assert any("link" in p or "grantedToV2" in p or "grantedToIdentitiesV2" in p for p in extra["permissions"])

    item = next(i for i in drive["items"] if not i["folder"])
    tenant.sim.control.modify_drive_item(drive["id"], item["id"], size=1234)
    second = tenant.backup()
    key = f"{drive['id']}/{item['id']}"
    history = tenant.services.catalog.history(resource, FILE, key)
    assert [v.first_seen_run for v in history] == [first["run_id"], second["run_id"]]
    assert history[0].content_hash == item["sha256"] != history[1].content_hash
    report = restore(
        tenant.services, RestoreRequest(resource, at=run_time(first["run_id"]), item_ids=(key,), conflict="keep-both")
    )
    assert report.run_id == first["run_id"] and report.restored == 1
    copy = next(i for i in tenant.sim.control.drive(drive["id"])["items"] if i["id"] == report.items[0]["new_id"])
    assert copy["sha256"] == item["sha256"]


def test_selectors_limit_discovery_and_a_site_folder_restores_into_another_site(tmp_path, storage_env):
    sites_only = {**WORKLOADS, "BACKUP_WORKLOADS": "sharepoint", "BACKUP_EXCLUDE_LIBRARIES": "Project Files"}
    tenant = open_tenant(tmp_path / "sim", storage_env, sites_only, users=1, messages=1, seed=37)
    try:
        run = tenant.backup()
        state = tenant.sim.control.drives_state()
        assert {r["resource"] for r in run["results"]} == {f"sharepoint:{s['id']}" for s in state["sites"]}
        site_a, site_b = (s["id"] for s in state["sites"][:2])
        library = next(d for d in state["drives"] if d["owner_id"] == site_a and d["name"] != "Project Files")
        skipped = [d for d in state["drives"] if d["name"] == "Project Files"]
        for drive in skipped:  # the excluded library was not backed up
            assert not any(k.startswith(drive["id"]) for k in catalog_files(tenant, f"sharepoint:{drive['owner_id']}"))
        folder = next(i for i in library["items"] if i["folder"] and i["parent_id"] and any(
            not j["folder"] and j["path"].startswith(i["path"] + "/") for j in library["items"]))  # fmt: skip
        wanted = sorted(
            j["sha256"] for j in library["items"] if not j["folder"] and j["path"].startswith(folder["path"] + "/")
        )
        report = restore(
            tenant.services,
            RestoreRequest(f"sharepoint:{site_a}", folder=folder["path"].lstrip("/"), destination="new-folder",
                           target_owner=site_b),
        )  # fmt: skip
        assert report.failed == 0 and report.restored == len(wanted)
        landed = sorted(
            j["sha256"] for d in tenant.sim.control.drives_state()["drives"] if d["owner_id"] == site_b
            for j in d["items"] if not j["folder"] and j["path"].startswith(f"/{report.destination}/")
        )  # fmt: skip
        assert landed == wanted
    finally:
        tenant.close()
