"""SharePoint lists end to end against the simulator and Azurite: a full backup (schemas, items with every field,
versions), an incremental after an add, an edit and a delete, restores as of the first point (in place, into a
new list with the same schema, each conflict policy) equal to the originals in every writable field as the
simulator reports them and never made twice on a rerun, and the CSV / JSON export and one item's download parsed
back. The tests run in order on one tenant."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from core.exports.downloads import open_download, open_zip
from core.restore import restore
from core.restore_request import RestoreRequest
from graphsim.lists.control_client import ListControl
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

CATEGORY = "listitem"
LOOKUPS = ("personOrGroup", "lookup")


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, azurite: Any) -> Iterator[Tenant]:
    t = open_tenant(tmp_path_factory.mktemp("lists") / "sim", isolated_storage(azurite),
                    {"BACKUP_WORKLOADS": "sharepoint", "GRAPH_PAGE_SIZE": "3"}, users=2, messages=1, seed=23,
                    contacts=0, events=0, drive_files=2, sites=1, list_items=4)  # fmt: skip
    t.lists = ListControl(t.sim.base_url, t.sim.ca_file)  # type: ignore[attr-defined]
    yield t
    t.lists.close()  # type: ignore[attr-defined]
    t.close()


def control(tenant: Tenant) -> ListControl:
    return tenant.lists  # type: ignore[attr-defined]


def sim_lists(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """title -> list as the simulator holds it (its columns and live items)."""
    return control(tenant).lists()


def site_of(tenant: Tenant) -> str:
    return next(iter(control(tenant).state()))


def writable(sp_list: dict[str, Any]) -> list[str]:
    return [f"{c['name']}LookupId" if any(k in c for k in LOOKUPS) else c["name"]
            for c in sp_list["columns"] if not c.get("readOnly")]  # fmt: skip


def values(sp_list: dict[str, Any]) -> list[dict[str, Any]]:
    """Every live item's writable field values, in item order."""
    names = writable(sp_list)
    return [{n: i["fields"].get(n) for n in names} for i in sorted(sp_list["items"], key=lambda i: int(i["id"]))]


@pytest.fixture(scope="module")
def points(tenant: Tenant) -> dict[str, Any]:
    """The first backup, what the simulator held then, the changes, and the incremental after them."""
    before = sim_lists(tenant)
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    site, user = site_of(tenant), tenant.mailboxes()[1]["id"]
    control(tenant).add_item(site, "Equipment", {"Title": "Added later"}, user=user)
    control(tenant).edit_item(site, "Equipment", "1", {"Quantity": 42}, user=user)
    control(tenant).delete_item(site, "Equipment", "2")
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    return {"before": before, "first": first["run_id"], "second": second["run_id"], "site": site_of(tenant)}


def resource(points: dict[str, Any]) -> str:
    return f"sharepoint:{points['site']}"


def catalog(tenant: Tenant, points: dict[str, Any], run: str) -> dict[str, Any]:
    """catalog id -> stored item document, as of `run`."""
    versions = tenant.services.catalog.as_of(resource(points), CATEGORY, run)
    return {v.item_id: json.loads(tenant.services.content.read(v.content_hash)) for v in versions}


def test_full_backup_keeps_schemas_items_and_versions(tenant: Tenant, points: dict[str, Any]):
    lists = {v.folder_path: v for v in tenant.services.catalog.as_of(resource(points), "splist", points["first"])}
    assert set(lists) == {"Equipment", "Issues"}  # not the hidden User Information List, not the library
    schema = json.loads(tenant.services.content.read(lists["Issues"].content_hash))
    assert schema["list"]["template"] == "issueTracking"
    assert {c["name"] for c in schema["columns"]} == {c["name"] for c in points["before"]["Issues"]["columns"]}
    stored = catalog(tenant, points, points["first"])
    assert len(stored) == 8
    for title in ("Equipment", "Issues"):
        sim = points["before"][title]
        mine = sorted((d for d in stored.values() if d["listId"] == sim["id"]), key=lambda d: int(d["id"]))
        assert [{n: d["fields"].get(n) for n in writable(sim)} for d in mine] == values(sim)
        assert all(d["versions"] and d["versions"][0]["fields"]["Title"] == d["fields"]["Title"] for d in mine)


def test_incremental_sees_the_add_the_edit_and_the_delete(tenant: Tenant, points: dict[str, Any]):
    equipment = points["before"]["Equipment"]["id"]
    first, second = catalog(tenant, points, points["first"]), catalog(tenant, points, points["second"])
    assert f"{equipment}:2" in first and f"{equipment}:2" not in second
    assert second[f"{equipment}:5"]["fields"]["Title"] == "Added later"
    edited = second[f"{equipment}:1"]
    assert edited["fields"]["Quantity"] == 42 and first[f"{equipment}:1"]["fields"]["Quantity"] != 42
    assert [v["id"] for v in edited["versions"]] == ["2.0", "1.0"]  # its history, newest first
    issues = points["before"]["Issues"]["id"]
    assert all(second[k] == first[k] for k in first if k.startswith(issues))  # untouched: the same versions


def test_restore_in_place_as_of_the_first_point_equals_the_original_and_never_twice(
    tenant: Tenant, points: dict[str, Any]
):
    request = RestoreRequest(resource=resource(points), run_id=points["first"], folder="Equipment", conflict="replace",
                             category=CATEGORY)  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.failed) == (4, 0), report.failures  # 1 replaced, 2 recreated, 3-4 rewritten
    now = sim_lists(tenant)["Equipment"]
    original = values(points["before"]["Equipment"])
    restored = values(now)
    assert len(restored) == 5  # the four as of the first point (item 2 under a new id) and the one added later
    assert sorted(map(json.dumps, original)) == sorted(json.dumps(v) for v in restored if v["Title"] != "Added later")
    again = restore(tenant.services, request)
    assert again.failed == 0 and len(sim_lists(tenant)["Equipment"]["items"]) == 5  # nothing made twice
    skip = restore(tenant.services, RestoreRequest(resource=resource(points), run_id=points["first"],
                                                   folder="Equipment", category=CATEGORY))  # fmt: skip
    assert (skip.restored, skip.skipped) == (0, 4)


def test_keep_both_adds_one_copy_once(tenant: Tenant, points: dict[str, Any]):
    item = f"{points['before']['Issues']['id']}:1"
    request = RestoreRequest(resource=resource(points), run_id=points["first"], item_ids=(item,), conflict="keep-both",
                             category=CATEGORY)  # fmt: skip
    assert restore(tenant.services, request).restored == 1
    assert restore(tenant.services, request).skipped == 1  # its copy is there: not a third one
    issues = values(sim_lists(tenant)["Issues"])
    assert len(issues) == 5 and issues[-1] == issues[0] == values(points["before"]["Issues"])[0]


def test_restore_into_a_new_list_recreates_the_schema(tenant: Tenant, points: dict[str, Any]):
    request = RestoreRequest(resource=resource(points), run_id=points["first"], folder="Issues", category=CATEGORY,
                             destination="new-folder", destination_name="Issues restored")  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.failed) == (4, 0), report.failures
    lists = sim_lists(tenant)
    made, source = lists["Issues restored"], points["before"]["Issues"]
    assert made["template"] == "issueTracking" and made["id"] != source["id"]
    shape = {c["name"]: {k: v for k, v in c.items() if k != "id"} for c in source["columns"]}
    assert {c["name"]: {k: v for k, v in c.items() if k != "id"} for c in made["columns"]} == shape
    assert values(made) == values(source)
    again = restore(tenant.services, request)
    assert (again.restored, again.skipped) == (0, 4)
    assert sum(1 for t in sim_lists(tenant) if t.startswith("Issues restored")) == 1
    assert len(sim_lists(tenant)["Issues restored"]["items"]) == 4


def test_export_and_download_parse_back(tenant: Tenant, points: dict[str, Any]):
    export = open_zip(tenant.services, resource(points), run_id=points["first"], category=CATEGORY)
    out = io.BytesIO()
    counts = export.write_to(out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert sorted(archive.namelist()) == ["Equipment/Equipment.csv", "Equipment/Equipment.json", "Issues/Issues.csv",
                                          "Issues/Issues.json", "manifest.json"]  # fmt: skip
    assert (counts["items"], counts["lists"], counts["rows"], counts["failed"]) == (4, 2, 8, 0)
    source = points["before"]["Equipment"]
    rows = list(csv.DictReader(io.StringIO(archive.read("Equipment/Equipment.csv").decode("utf-8-sig"))))
    assert [r["Title"] for r in rows] == [v["Title"] for v in values(source)]
    assert [r["Quantity"] for r in rows] == [str(v["Quantity"]) for v in values(source)]
    assert {r["InService"] for r in rows} <= {"true", "false"} and rows[0]["Created"]
    parsed = json.loads(archive.read("Equipment/Equipment.json"))
    assert parsed["list"]["displayName"] == "Equipment" and len(parsed["items"]) == 4
    assert [{n: i["fields"].get(n) for n in writable(source)} for i in parsed["items"]] == values(source)
    one = open_zip(tenant.services, resource(points), folder="Issues", run_id=points["first"], category=CATEGORY)
    only = io.BytesIO()
    assert one.write_to(only)["rows"] == 4
    assert len(zipfile.ZipFile(io.BytesIO(only.getvalue())).namelist()) == 3
    item = f"{source['id']}:1"
    download = open_download(tenant.services, resource(points), item, run_id=points["first"], category=CATEGORY)
    document = json.loads(b"".join(download.chunks))
    assert download.filename.endswith(".json") and download.media_type == "application/json"
    assert {n: document["fields"].get(n) for n in writable(source)} == values(source)[0]


def test_expired_delta_tokens_resync_without_loss(tenant: Tenant, points: dict[str, Any]):
    assert control(tenant).expire_delta_tokens() >= 2  # every saved link now answers 410
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    stored = catalog(tenant, points, run["run_id"])
    for title in ("Equipment", "Issues", "Issues restored"):  # what the restores above made is backed up too
        sim = sim_lists(tenant)[title]
        mine = sorted((d for d in stored.values() if d["listId"] == sim["id"]), key=lambda d: int(d["id"]))
        assert [{n: d["fields"].get(n) for n in writable(sim)} for d in mine] == values(sim), title


def test_failing_lists_never_fail_the_libraries(tenant: Tenant, points: dict[str, Any]):
    tenant.sim.control.throttle_storm(200, status=429, retry_after="0", endpoint="lists")
    try:
        control(tenant).add_item(site_of(tenant), "Issues", {"Title": "While lists fail"})
        failing = tenant.backup()
    finally:
        tenant.sim.control.clear_faults()
    assert failing["status"] == "partial", failing
    files = tenant.services.catalog.as_of(resource(points), "file", failing["run_id"])
    assert files  # the libraries were backed up in the same run
    recovered = tenant.backup()
    assert recovered["status"] == "succeeded", recovered
    titles = {d["fields"].get("Title") for d in catalog(tenant, points, recovered["run_id"]).values()}
    assert "While lists fail" in titles


def test_a_site_backup_reads_its_quarantine_once_for_the_libraries_and_the_lists(
    tenant: Tenant, points: dict[str, Any]
):
    site = resource(points)
    list_id = sim_lists(tenant)["Equipment"]["id"]
    drive_id = next(iter(tenant.services.catalog.as_of(site, "file", points["second"]))).container_id
    quarantine = tenant.services.quarantine
    quarantine.hold(site, CATEGORY, f"{list_id}:9999", list_id, "HTTP 500", points["second"])  # gone since
    quarantine.hold(site, "file", f"{drive_id}/gone-file", drive_id, "HTTP 500", points["second"])
    quarantine.reads.clear()
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    assert quarantine.reads[site] == 1  # one read, its held items passed to the drives and to the lists
    released = {i.item_id: (i.released_run, i.released_as) for i in quarantine.history(site)}
    assert released[f"{list_id}:9999"] == released[f"{drive_id}/gone-file"] == (run["run_id"], "deleted")
