"""Sizes and byte counts beyond 32 bits (a OneDrive's first backup, a 5 GiB video) in table rows, against Azurite:
written as Edm.Int64 (the SDK alone refuses them), stored as Int64 (not as a double or a string), and read back by
every path as plain ints (core/storage/wide_ints.py)."""

from __future__ import annotations

import pytest
from azure.data.tables import EdmType, EntityProperty, TableServiceClient

from core.bootstrap import direct_table
from core.config import load_settings
from core.storage.catalog import Catalog, ItemVersion
from core.storage.direct_query import query_entities
from core.storage.runs import RunStore
from core.storage.tables import table_clients
from core.storage.wide_ints import narrowed, widened

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
GIB = 2**30


@pytest.fixture
def settings(storage_env):
    return load_settings({**SECRETLESS, **storage_env})


def _raw(settings, table: str):
    """The same table through a plain SDK client: what the service stored, type and all."""
    service = TableServiceClient.from_connection_string(settings.storage_connection_string)
    return service.get_table_client(f"{settings.table_prefix}{table}")


def test_a_plain_sdk_client_refuses_what_the_apps_clients_write(settings):
    entity = {"PartitionKey": "p", "RowKey": "r", "bytes": 3 * GIB}
    with pytest.raises(TypeError, match="too large"):
        _raw(settings, "runs").upsert_entity(entity)  # why the boundary exists: no automatic Int64 in the SDK
    table_clients(settings)["runs"].upsert_entity(entity)
    stored = _raw(settings, "runs").get_entity("p", "r")
    assert stored["bytes"] == EntityProperty(3 * GIB, EdmType.INT64)


def test_a_restore_point_and_a_run_over_2_gib_are_recorded_and_read_back_as_ints(settings):
    tables = table_clients(settings)
    runs = RunStore(tables["runs"], tables["restorepoints"])
    result = {"resource": "onedrive:big@contoso.com", "status": "succeeded", "items": 12, "bytes": 3 * GIB}
    runs.start("run-1", "manual")
    runs.record_point("run-1", result, [])
    runs.finish("run-1", {"status": "succeeded", "resources": 1, "succeeded": 1, "items": 12, "bytes": 7 * GIB})
    (point,) = runs.points("onedrive:big@contoso.com")
    assert point["bytes"] == 3 * GIB and type(point["bytes"]) is int
    assert runs.point("onedrive:big@contoso.com", "run-1")["bytes"] == 3 * GIB
    recorded = runs.get("run-1")
    assert recorded["bytes"] == 7 * GIB and type(recorded["bytes"]) is int and recorded["items"] == 12
    assert [r["bytes"] for r in runs.list()] == [7 * GIB]


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "sdk"])
def test_a_catalog_row_over_2_gib_commits_and_reads_back_by_every_path(settings, direct):
    table = table_clients(settings)["catalog"]
    transactions, queries = direct_table(settings, table) if direct else (None, None)
    catalog = Catalog(table, direct=transactions, reader=queries)
    writer = catalog.writer("onedrive:big@contoso.com")
    sizes = {"small": 10, "edge": 2**31 - 1, "wide": 2**31, "video": 5 * GIB}
    for name, size in sizes.items():
        writer.put(ItemVersion("file", name, "run-1", size=size, name=name, container_id="d1"))
    writer.flush()
    if direct:
        assert transactions.handed_back == 0  # the direct transaction wrote the Int64 values itself
    stored = {e["RowKey"]: e["size"] for e in _raw(settings, "catalog").query_entities(
        "PartitionKey eq @pk", parameters={"pk": "onedrive:big@contoso.com"})}  # fmt: skip
    assert stored["file|small|run-1"] == 10 and stored["file|edge|run-1"] == 2**31 - 1  # Int32 stays Int32
    assert stored["file|video|run-1"] == EntityProperty(5 * GIB, EdmType.INT64)
    assert stored["file|wide|run-1"] == EntityProperty(2**31, EdmType.INT64)

    index = catalog.open_index("onedrive:big@contoso.com", "file")  # a page holding Int64: read through the SDK
    assert {item: version.size for item, version in index.items()} == sizes
    versions = catalog.as_of("onedrive:big@contoso.com", "file", "run-1")
    assert {v.item_id: v.size for v in versions} == sizes and all(type(v.size) is int for v in versions)
    assert writer.read("file", "video", "run-1").size == 5 * GIB
    rows = list(query_entities(table, queries, "PartitionKey eq @pk", {"pk": "onedrive:big@contoso.com"}))
    assert all(type(row["size"]) is int for row in rows)
    if direct:
        assert queries.handed_back == 0  # a typed page is not a fault of the direct path


def test_widening_touches_only_ints_outside_int32():
    entity = {"a": 2**31 - 1, "b": -(2**31), "c": True, "d": 2**40, "e": -(2**31) - 1, "f": 1.5e12, "g": "9" * 12}
    sent = widened(entity)
    assert sent["d"] == EntityProperty(2**40, EdmType.INT64)
    assert sent["e"] == EntityProperty(-(2**31) - 1, EdmType.INT64)
    assert {k: sent[k] for k in "abcfg"} == {k: entity[k] for k in "abcfg"} and sent["c"] is True
    assert entity["d"] == 2**40  # the caller's entity (the journal's copy) keeps its plain int
    small = {"a": 1}
    assert widened(small) is small
    back = narrowed({"d": EntityProperty(2**40, EdmType.INT64), "s": EntityProperty("x", EdmType.STRING), "n": 3})
    assert back == {"d": 2**40, "s": EntityProperty("x", EdmType.STRING), "n": 3}
