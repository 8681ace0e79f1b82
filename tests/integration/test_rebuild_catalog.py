"""A catalog that survives its tables (core/storage/journal.py, core/rebuild_catalog.py): back up three times with
changes between, delete every table, rebuild from the journal through the CLI, and every restore point reads and
restores what it did before; the next backup downloads nothing again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from core.browse import ItemQuery, find_items
from core.exports.downloads import open_download
from core.rebuild_catalog import JOURNALED, rebuild_catalog
from core.restore import restore
from core.restore_request import RestoreRequest
from core.storage.audit_log import AuditEntry
from core.storage.catalog import ItemVersion
from core.storage.runs import USABLE
from core.storage.tables import TABLES
from core.verify import verify
from core.workloads import registry
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import _cli

VOLATILE = {"heartbeat_at"}  # a run's heartbeat is not journaled: it says only that a process was alive


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange,onedrive"}
    t = open_tenant(tmp_path_factory.mktemp("rebuild") / "sim", isolated_storage(azurite), settings, users=1,
                    messages=6, seed=41, contacts=2, events=2, drive_files=3, tasks=0)  # fmt: skip
    yield t
    t.close()


def _tables(tenant: Tenant) -> dict[str, TableServiceClient]:
    service = TableServiceClient.from_connection_string(tenant.services.settings.storage_connection_string)
    return {name: service.get_table_client(f"{tenant.services.settings.table_prefix}{name}") for name in TABLES}


def _rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of every journaled table, without service metadata or what is not journaled."""
    tables = _tables(tenant)
    return {
        name: sorted(
            ({k: v for k, v in e.items() if k not in VOLATILE} for e in tables[name].list_entities()),
            key=lambda e: (e["PartitionKey"], e["RowKey"]),
        )
        for name in JOURNALED
    }


def _downloads(tenant: Tenant, runs: list[str]) -> dict[tuple[str, str, str, str], str]:
    """(resource, run, category, item id) -> the sha256 of its download as of that run, for every item."""
    found = {}
    services = tenant.services
    for resource, points in services.runs.points_by_resource().items():
        usable = [p["run_id"] for p in points if p["status"] in USABLE and p["run_id"] in runs]
        for category in registry.workload_of(resource).categories:
            for run in usable:
                _run, items = find_items(services, ItemQuery(resource, run, category=category.name))
                for item in items:
                    data = b"".join(open_download(services, resource, item["id"], run_id=run,
                                                  category=category.name).chunks)  # fmt: skip
                    found[(resource, run, category.name, item["id"])] = hashlib.sha256(data).hexdigest()
    return found


def test_every_point_reads_and_restores_as_before_after_the_tables_are_deleted_and_rebuilt(tenant: Tenant):
    control, services = tenant.sim.control, tenant.services
    user = tenant.user(0)
    drive = f"onedrive:{user['id']}"
    first = tenant.backup()
    messages = sorted(user["messages"], key=lambda m: m["id"])
    control.delete_message(user["id"], messages[0]["id"])
    control.update_message(user["id"], messages[1]["id"], isRead=True)
    control.add_message(user["id"], "inbox", subject="After the first backup")
    simulated = control.drive(user["id"])
    gone = sorted((i for i in simulated["items"] if not i["folder"]), key=lambda i: i["id"])[0]
    original = control.drive_item_content(simulated["id"], gone["id"])
    control.delete_drive_item(simulated["id"], gone["id"])
    second = tenant.backup()
    control.add_message(user["id"], "inbox", subject="After the second backup")
    third = tenant.backup()
    runs = [r["run_id"] for r in (first, second, third)]
    assert all(r["status"] == "succeeded" for r in (first, second, third))
    services.audit.append(AuditEntry("op-1", "operator@example.com", ("Backup.Operator",), "restore", "accepted",
                                     resource=drive, scope={"whole": True}))  # fmt: skip
    assert verify(services)["status"] == "ok"  # a verification record is kept (and journaled) too

    before_rows, before_downloads = _rows(tenant), _downloads(tenant, runs)
    assert before_rows["catalog"] and before_rows["audit"] and before_rows["restorepoints"]
    for table in _tables(tenant).values():
        table.delete_table()

    done = _cli(tenant.env, "rebuild-catalog", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["repaired"] == 0 and report["refused"] == 0
    assert report["operations"]["catalog"] >= len(before_rows["catalog"])

    assert _rows(tenant) == before_rows  # every row of every table, property for property
    assert _downloads(tenant, runs) == before_downloads  # every item of every point, byte for byte
    held = next(v.item_id for v in services.catalog.as_of(drive, "file", runs[0]) if v.item_id.endswith(gone["id"]))
    request = RestoreRequest(resource=drive, run_id=runs[0], item_ids=(held,), destination="new-folder",
                             destination_name="After the rebuild")  # fmt: skip
    done_restore = restore(services, request)
    assert done_restore.restored == 1 and done_restore.failed == 0, done_restore.to_dict()
    restored = next(i for i in control.drive(user["id"])["items"] if i["name"] == gone["name"])
    assert "After the rebuild" in restored["path"] and restored["id"] != gone["id"]
    assert control.drive_item_content(simulated["id"], restored["id"]) == original

    # the delta state was not rebuilt: the next backup starts over, and finds nothing it does not hold already
    fourth = tenant.backup()
    assert fourth["status"] == "succeeded" and fourth["bytes"] == 0, fourth
    assert tenant.catalog_messages(user["id"], fourth["run_id"]) == tenant.live_messages(user["id"])


def test_a_version_journaled_but_never_committed_is_ended_by_the_newer_one(tenant: Tenant):
    """A writer stopped between its journal blob and its table transaction: the journal holds a version the table
    never had. Replayed, it would leave its item with two live versions: the rebuild ends the older one."""
    services = tenant.services
    resource = f"exchange:{tenant.user(0)['id']}"
    run = services.runs.resolve_point(resource)
    live = next(iter(services.catalog.as_of(resource, "mail", run)))
    orphan = replace(live, first_seen_run="20000101T000000000000Z")  # an older run's version of the same item
    services.catalog._journal.record("catalog", [("replace", ItemVersion.to_entity(orphan, resource))])
    report = rebuild_catalog(services.settings)
    assert report["repaired"] == 1
    versions = [v for v in services.catalog.history(resource, "mail", live.item_id) if not v.deleted_run]
    assert [v.first_seen_run for v in versions] == [live.first_seen_run]
    assert [v.item_id for v in services.catalog.as_of(resource, "mail", run)].count(live.item_id) == 1


def test_the_retention_dry_run_names_what_a_policy_would_expire_and_removes_nothing(tenant: Tenant):
    """Four backups on one day under 'daily=1': only the newest point of the day is kept; the versions only earlier
    points reach (the deleted message and file, the message before it was read) are what a purge would remove."""
    mailbox = f"exchange:{tenant.user(0)['id']}"
    points = [p["run_id"] for p in tenant.services.runs.points(mailbox)]
    before = _rows(tenant)
    done = _cli({**tenant.env, "RETENTION_POLICIES": "default: daily=1"}, "retention", "--resource", mailbox, "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["policy"] == "all=0d, daily=1" and set(row["kept"]) == {points[-1]}
    assert row["expiring"] == points[:-1]
    latest = points[-1]
    reached = {(v.category, v.item_id, v.first_seen_run) for v in tenant.services.catalog.all_versions(mailbox)
               if v.live_at(latest)}  # fmt: skip
    assert row["versions"] == sum(1 for _ in tenant.services.catalog.all_versions(mailbox)) - len(reached) >= 2
    assert _rows(tenant) == before  # a dry run
    bad = _cli({**tenant.env, "RETENTION_POLICIES": "default: hourly=3"}, "retention")
    assert bad.returncode == 2 and "hourly=3" in bad.stderr
