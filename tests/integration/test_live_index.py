"""An incremental's memory and catalog reads grow with what it touches, not with what the resource holds (issue 16):
`LiveIndex` against a real Azurite, then a mailbox's incremental end to end, its catalog reads counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import load_settings
from core.storage.catalog import Catalog, ItemVersion, OpenVersion
from core.storage.live_index import LiveIndex
from core.storage.tables import table_clients
from tests.integration.tenant import Tenant, open_tenant

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
RESOURCE = "exchange:u"


@pytest.fixture
def catalog(storage_env) -> Catalog:
    catalog = Catalog(table_clients(load_settings({**SECRETLESS, **storage_env}))["catalog"])
    writer = catalog.writer(RESOURCE)
    for n in range(30):  # m00..m29: the even ones in folder A, the odd ones in B; m00 ended at r2
        writer.put(ItemVersion("mail", f"m{n:02}", "r1", folder_id="AB"[n % 2], content_hash=f"h{n}", size=n))
    writer.close("mail", "m00", "r1", "r2")
    writer.put(ItemVersion("contact", "c1", "r1", folder_id="A"))  # another category: never read
    writer.flush()
    catalog.reads.reset()
    return catalog


def _rows(catalog: Catalog) -> int:
    return catalog.reads.snapshot()["rows"].get("mail", 0)


def _queries(catalog: Catalog) -> int:
    return catalog.reads.snapshot()["queries"].get("mail", 0)


def test_a_small_resource_is_loaded_whole_by_its_first_query(catalog: Catalog):
    catalog.point_reads = 100
    index = LiveIndex(catalog, RESOURCE, "mail")
    assert index.loaded and (_queries(catalog), _rows(catalog)) == (1, 29)
    assert index["m01"] == OpenVersion("r1", "B", "h1", "", 1) and "m00" not in index and "c1" not in index
    assert dict(index) == catalog.open_index(RESOURCE, "mail")
    assert _queries(catalog) == 2  # open_index's own query: the index asked nothing more


def test_a_large_resource_is_read_item_by_item_then_whole(catalog: Catalog):
    catalog.point_reads = 5
    index = LiveIndex(catalog, RESOURCE, "mail")
    assert not index.loaded and _rows(catalog) == 5  # the first page only: there is more
    assert index.get("m03") == OpenVersion("r1", "B", "h3", "", 3)
    assert "m00" not in index and "nope" not in index
    assert index.get("m03") is not None  # read once, kept
    assert (index.point_reads, _queries(catalog), _rows(catalog)) == (3, 4, 6)
    index["m03"] = OpenVersion("r3", "A", "h3'", "k", 3)  # this run's own changes, not yet in the table
    index["new"] = OpenVersion("r3", "A", "hn", "k", 1)
    del index["m05"]
    with pytest.raises(KeyError):
        del index["nope"]
    assert index.get("m07") is not None and index.point_reads == 5  # the fifth item read by itself
    assert not index.loaded
    assert index.get("m09") is not None and index.loaded  # the sixth: the rest loaded whole, in one query
    assert index.point_reads == 5 and _queries(catalog) == 7
    expected = catalog.open_index(RESOURCE, "mail")
    expected.pop("m05")
    expected.update(m03=OpenVersion("r3", "A", "h3'", "k", 3), new=OpenVersion("r3", "A", "hn", "k", 1))
    assert dict(index) == expected  # the run's changes laid over what the table holds


def test_a_folders_live_items_are_one_filtered_query_with_the_runs_changes_over_them(catalog: Catalog):
    catalog.point_reads = 5
    index = LiveIndex(catalog, RESOURCE, "mail")
    index["m01"] = OpenVersion("r3", "A", "h1", "k", 1)  # moved from B to A by this run
    del index["m02"]  # ended by this run
    before = _rows(catalog)
    in_a = index.in_folder("A")
    assert [i for i, _ in in_a] == ["m01"] + [f"m{n:02}" for n in range(4, 30, 2)]
    assert dict(in_a)["m01"].first_seen_run == "r3"
    assert _rows(catalog) - before == 14  # A's live rows only (m00 ended, m02 still live in the table)
    assert "m01" not in dict(index.in_folder("B")) and not index.loaded


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=60, seed=5, contacts=0, events=0, tasks=0,
                    archive_messages=0)  # fmt: skip
    t.services.catalog.point_reads = 10  # the mailbox holds more: the incremental reads item by item
    yield t
    t.close()


def test_an_incremental_reads_the_rows_of_what_changed_not_of_every_live_item(tenant: Tenant):
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    user = tenant.user(0)["id"]
    live = tenant.live_messages(user)
    assert len(live) > 40
    control = tenant.sim.control
    ids = sorted(live)
    added = control.add_message(user, "inbox", subject="new after the full backup")
    control.move_message(user, ids[0], "archive")
    control.delete_message(user, ids[1])
    tenant.services.catalog.reads.reset()

    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert second["items"] == 2  # the new message, the moved one's version in its new folder
    reads = tenant.services.catalog.reads.snapshot()
    # the first page (10 rows, the mailbox holds more), then one query per changed item: rows of 2 of them
    assert reads["queries"]["mail"] == 1 + 3
    assert reads["rows"]["mail"] == 10 + 2 < len(live)
    now = tenant.catalog_messages(user, second["run_id"])
    assert now == tenant.live_messages(user)  # the backup holds what the mailbox holds, as ever
    assert added["id"] in now and ids[1] not in now and now[ids[0]][1] == live[ids[0]][1]
    assert tenant.catalog_messages(user, first["run_id"]) == live  # and the earlier point is untouched
