"""While a resource's backup runs, the indexes it opens share one read of its live catalog rows
(core/storage/shared_rows.py), against a real Azurite: what they are served is what the table holds, a category
is read from the table again once a writer is about to commit a row of it, and a category the first page does not
hold whole is never served from it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.storage.blob import ContainerClient

from core.config import load_settings
from core.errors import StorageError
from core.storage.catalog import Catalog, ItemVersion
from core.storage.journal import Journal
from core.storage.live_index import LiveIndex
from core.storage.shared_rows import SHARED
from core.storage.tables import table_clients
from tests.integration.tenant import Tenant, open_tenant

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
RESOURCE = "exchange:u"
CATEGORIES = ("calendar", "contact", "event", "folder", "mail")


@pytest.fixture
def tables(storage_env):
    return table_clients(load_settings({**SECRETLESS, **storage_env}))


@pytest.fixture
def catalog(tables) -> Catalog:
    catalog = Catalog(tables["catalog"])
    writer = catalog.writer(RESOURCE)
    for category in CATEGORIES:
        for n in range(4):
            writer.put(ItemVersion(category, f"{category[0]}{n}", "r1", folder_id="AB"[n % 2], change_key=f"k{n}"))
        writer.close(category, f"{category[0]}0", "r1", "r2")  # ended: not live
    writer.put(ItemVersion("mail", "other-resource", "r1"))
    other = catalog.writer("exchange:v")
    other.put(ItemVersion("mail", "v1", "r1"))  # another partition: never read
    writer.flush()
    other.flush()
    catalog.reads.reset()
    return catalog


def _table_reads(catalog: Catalog) -> dict[str, int]:
    return {k: v for k, v in catalog.reads.snapshot()["queries"].items() if k != SHARED}


def test_every_index_of_a_resource_is_served_by_one_read_of_its_live_rows(catalog: Catalog):
    alone = {c: catalog.open_index(RESOURCE, c) for c in CATEGORIES}  # each from the table, as without sharing
    assert _table_reads(catalog) == dict.fromkeys(CATEGORIES, 1)
    catalog.reads.reset()
    with catalog.shared.sharing(RESOURCE):
        shared = {c: catalog.open_index(RESOURCE, c) for c in CATEGORIES}
        index = LiveIndex(catalog, RESOURCE, "mail")
        assert index.loaded and index.get("m1") == alone["mail"]["m1"] and "m0" not in index
        assert list(catalog.open_versions(RESOURCE, "event", item_id="e2")) == [("e2", alone["event"]["e2"])]
        assert [i for i, _ in catalog.open_versions(RESOURCE, "contact", folder_id="B")] == ["c1", "c3"]
        assert catalog.count_open(RESOURCE, "folder") == 3
        assert list(catalog.open_index("exchange:v", "mail")) == ["v1"]
    assert shared == alone
    assert catalog.reads.snapshot()["queries"] == {SHARED: 1, "mail": 1}  # the one read; exchange:v from its table
    assert catalog.reads.snapshot()["rows"][SHARED] == 3 * len(CATEGORIES) + 1
    with catalog.shared.sharing(RESOURCE):
        pass
    assert catalog.reads.snapshot()["queries"][SHARED] == 1  # nothing read when nothing asks


def test_a_category_about_to_be_committed_is_read_from_the_table_again(catalog: Catalog):
    with catalog.shared.sharing(RESOURCE):
        assert sorted(catalog.open_index(RESOURCE, "mail")) == ["m1", "m2", "m3", "other-resource"]
        writer = catalog.writer(RESOURCE)
        writer.put(ItemVersion("mail", "m9", "r3"))
        writer.close("mail", "m1", "r1", "r3")
        assert "m9" not in catalog.open_index(RESOURCE, "mail")  # buffered: not in the table, not served either
        writer.flush()
        assert sorted(catalog.open_index(RESOURCE, "mail")) == ["m2", "m3", "m9", "other-resource"]
        assert sorted(catalog.open_index(RESOURCE, "event")) == ["e1", "e2", "e3"]  # still served
    assert _table_reads(catalog) == {"mail": 1}


def test_a_commit_that_fails_still_ends_serving_its_categories(catalog: Catalog, tables, azurite):
    missing = ContainerClient.from_connection_string(azurite.connection_string, f"gone{uuid.uuid4().hex[:8]}")
    failing = Catalog(tables["catalog"], journal=Journal(missing))  # its journal cannot be written: the commit fails
    with failing.shared.sharing(RESOURCE):
        assert sorted(failing.open_index(RESOURCE, "contact")) == ["c1", "c2", "c3"]
        writer = failing.writer(RESOURCE)
        writer.close("contact", "c1", "r1", "r3")
        with pytest.raises(StorageError):
            writer.flush()
        assert writer.dropped == 1
        failing.open_index(RESOURCE, "contact")  # from the table: a failed commit may still have landed
        failing.open_index(RESOURCE, "calendar")
    assert _table_reads(failing) == {"contact": 1}


def test_a_category_the_first_page_does_not_hold_whole_is_read_from_the_table(catalog: Catalog):
    catalog.point_reads = 7  # the page: calendar's 3 live rows, contact's 3, event's first: cut inside event
    alone = {c: catalog.open_index(RESOURCE, c) for c in CATEGORIES}
    catalog.reads.reset()
    with catalog.shared.sharing(RESOURCE):
        assert {c: catalog.open_index(RESOURCE, c) for c in CATEGORIES} == alone
        assert sorted(LiveIndex(catalog, RESOURCE, "event")) == ["e1", "e2", "e3"]
    assert _table_reads(catalog) == {"event": 2, "folder": 1, "mail": 1}  # event twice: its probe, then whole


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=12, seed=3, contacts=3, events=2, tasks=2)
    yield t
    t.close()


def test_a_mailbox_backup_reads_its_catalog_rows_once_and_holds_what_the_mailbox_holds(tenant: Tenant):
    tenant.services.catalog.reads.reset()
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    assert tenant.services.catalog.reads.snapshot()["queries"] == {SHARED: 1}  # was one query per index: ~11
    user = tenant.user(0)["id"]
    assert tenant.catalog_messages(user, first["run_id"]) == tenant.live_messages(user)

    tenant.sim.control.add_message(user, "inbox", subject="after the first backup")
    tenant.services.catalog.reads.reset()
    second = tenant.backup()
    assert second["status"] == "succeeded" and second["items"] == 1, second
    queries = tenant.services.catalog.reads.snapshot()["queries"]
    assert queries[SHARED] == 1 and sum(queries.values()) <= 2, queries
    assert tenant.catalog_messages(user, second["run_id"]) == tenant.live_messages(user)
    assert tenant.catalog_messages(user, first["run_id"]) != tenant.live_messages(user)  # the earlier point as it was
