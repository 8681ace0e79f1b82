"""Table queries sent as directly signed GETs (core/storage/direct_query.py) against a real Azurite, which checks
Shared Key signatures and pages its answers with continuation headers: the entities are the ones the SDK gives,
page by page, and whatever is not a definite answer is read through the SDK from the same page on."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableServiceClient

from core.bootstrap import direct_table
from core.config import load_settings
from core.storage.catalog import Catalog, ItemVersion
from core.storage.delta_state import DeltaState, DeltaStateStore
from core.storage.direct_auth import signer_for
from core.storage.direct_query import DirectQuery, entity_pages, query_entities, substituted
from core.storage.tables import table_clients
from tests.integration.dropping_proxy import DroppingProxy

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
PK = "exchange:user1 a'b"  # characters the filter quotes and the URL encodes (keys allow no / # ?)


@pytest.fixture
def table(storage_env):
    table = table_clients(load_settings({**SECRETLESS, **storage_env}))["catalog"]
    for n in range(5):
        table.upsert_entity({"PartitionKey": PK, "RowKey": f"mail|{n:02d}", "name": f"Grüße {n}", "size": 2**31 - 1,
                             "is_read": n % 2 == 0, "score": 0.5 + n, "deleted_run": ""})  # fmt: skip
    table.upsert_entity({"PartitionKey": "other", "RowKey": "mail|00", "name": "not asked for"})
    return table


def _sdk(table, query, params, **kwargs) -> list[dict]:
    return [dict(e) for e in table.query_entities(query, parameters=params, **kwargs)]


def test_a_direct_query_gives_the_sdks_entities_page_by_page(table):
    direct = DirectQuery.for_table(table)
    assert direct is not None
    query, params = "PartitionKey eq @pk and RowKey ge @low", {"pk": PK, "low": "mail|01"}
    pages = list(entity_pages(table, direct, query, params, ["RowKey", "name", "is_read", "score"], 2))
    assert [len(entities) for entities, _ in pages] == [2, 2]  # a continuation token after the first page only
    assert pages[0][1] is not None and pages[1][1] is None
    assert [e for entities, _ in pages for e in entities] == _sdk(
        table, query, params, select=["RowKey", "name", "is_read", "score"]
    )
    whole = list(query_entities(table, direct, "PartitionKey eq @pk", {"pk": PK}))
    assert whole == _sdk(table, "PartitionKey eq @pk", {"pk": PK})
    assert whole[1] == {"PartitionKey": PK, "RowKey": "mail|01", "name": "Grüße 1", "size": 2**31 - 1,
                        "is_read": False, "score": 1.5, "deleted_run": ""}  # fmt: skip
    assert direct.handed_back == 0


def test_the_filter_is_quoted_as_the_sdk_quotes_it():
    assert substituted("PartitionKey eq @pk and x eq ''", {"pk": "a'b c"}) == "PartitionKey eq 'a''b c' and x eq ''"
    assert substituted("n eq @n", {"n": 3}) is None  # not a string: the SDK's to write
    assert substituted("RowKey ne ''", None) == "RowKey ne ''"


def test_a_page_with_a_typed_value_is_read_through_the_sdk(table):
    when = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    table.upsert_entity({"PartitionKey": PK, "RowKey": "mail|03", "size": EntityProperty(2**40, EdmType.INT64),
                         "seen": when})  # fmt: skip
    direct = DirectQuery.for_table(table)
    query, params = "PartitionKey eq @pk", {"pk": PK}
    pages = list(entity_pages(table, direct, query, params, results_per_page=3))
    assert [len(entities) for entities, _ in pages] == [3, 2]
    got = [e for entities, _ in pages for e in entities]
    assert got == _sdk(table, query, params)
    assert got[3]["seen"] == when and got[3]["size"] == 2**40  # converted as the SDK converts them, Int64 to int
    assert direct.handed_back == 0 and direct.enabled  # not a fault: the path stays on


def test_a_refused_signature_hands_the_query_to_the_sdk_and_turns_the_path_off(storage_env, table, caplog):
    fields = dict(p.split("=", 1) for p in storage_env["BACKUP_STORAGE_CONNECTION_STRING"].split(";") if p)
    fields["AccountKey"] = base64.b64encode(b"not the account key").decode()
    wrong = TableServiceClient.from_connection_string(";".join(f"{k}={v}" for k, v in fields.items()))
    direct = DirectQuery.for_table(wrong.get_table_client(table.table_name))
    with caplog.at_level(logging.WARNING):
        got = list(query_entities(table, direct, "PartitionKey eq @pk", {"pk": PK}))
    assert got == _sdk(table, "PartitionKey eq @pk", {"pk": PK}) and len(got) == 5
    assert (direct.enabled, direct.handed_back) == (False, 1)
    assert "refused a directly signed query (HTTP 403)" in caplog.text
    assert len(list(query_entities(table, direct, "PartitionKey eq @pk", {"pk": "other"}))) == 1
    assert direct.handed_back == 1  # off: not tried again


def test_a_missing_table_fails_with_the_sdks_error(storage_env):
    table = TableServiceClient.from_connection_string(storage_env["BACKUP_STORAGE_CONNECTION_STRING"]).get_table_client(
        "nosuchtable"
    )
    direct = DirectQuery.for_table(table)
    with pytest.raises(ResourceNotFoundError):
        list(query_entities(table, direct, "PartitionKey eq @pk", {"pk": PK}))
    assert direct.handed_back == 1 and direct.enabled  # a 404 is the SDK's to say, and not a refused signature


def test_a_page_whose_answer_is_lost_is_read_through_the_sdk_from_the_same_page(azurite, table):
    proxy = DroppingProxy(azurite.table_port)
    try:
        url = table.url.replace(f":{azurite.table_port}/", f":{proxy.port}/")
        direct = DirectQuery(url, table.table_name, table.api_version, signer_for(table.url, table.credential), 4)
        rows = query_entities(table, direct, "PartitionKey eq @pk", {"pk": PK}, select=["RowKey"], results_per_page=2)
        first = [next(rows)["RowKey"], next(rows)["RowKey"]]  # the first page, read directly
        proxy.drop("GET")  # the second page's answer is lost
        rest = [e["RowKey"] for e in rows]
        assert proxy.dropped["GET"] == 1 and direct.handed_back == 1
        assert first + rest == [f"mail|{n:02d}" for n in range(5)]  # each once, in order
    finally:
        proxy.close()


def test_the_catalog_and_the_delta_state_read_directly(storage_env):
    settings = load_settings({**SECRETLESS, **storage_env})
    tables = table_clients(settings)
    catalog = Catalog(tables["catalog"], None, *direct_table(settings, tables["catalog"]))  # as build_services does
    states = DeltaStateStore(tables["deltastate"], *direct_table(settings, tables["deltastate"]))
    assert catalog._reader is not None and states._reader is not None
    writer = catalog.writer("user/1")
    for n in range(3):
        writer.put(ItemVersion("mail", f"AAMk/{n}+x'y", "r1", folder_id="inbox", size=n))
    writer.flush()
    states.save("exchange:user/1", DeltaState("mail", "inbox", "https://graph/delta?$deltatoken=a'b", "/Inbox", "r1"))
    assert set(catalog.open_index("user/1", "mail")) == {f"AAMk/{n}+x'y" for n in range(3)}
    assert catalog.open_versions_page("user/1", "mail", 2)[1] is True
    assert next(catalog.open_versions("user/1", "mail", item_id="AAMk/1+x'y"))[1].size == 1
    assert states.load("exchange:user/1")[("mail", "inbox")].delta_link == "https://graph/delta?$deltatoken=a'b"
    assert catalog._reader.handed_back == 0 and states._reader.handed_back == 0
    plain = Catalog(tables["catalog"])  # the SDK's way: the same answers
    assert plain.open_index("user/1", "mail") == catalog.open_index("user/1", "mail")
    assert DeltaStateStore(tables["deltastate"]).load("exchange:user/1") == states.load("exchange:user/1")
    off = load_settings({**SECRETLESS, **storage_env, "BACKUP_STORAGE_DIRECT_WRITES": "false"})
    assert direct_table(off, tables["catalog"]) == (None, None)


def test_a_resources_point_and_quarantine_rows_go_directly_and_read_back_as_through_the_sdk(storage_env):
    from datetime import timedelta

    from core.planning import new_run_id
    from core.storage.quarantine import QuarantineStore
    from core.storage.runs import RunStore

    settings = load_settings({**SECRETLESS, **storage_env})
    tables = table_clients(settings)
    writer, reader = direct_table(settings, tables["restorepoints"])
    direct = RunStore(tables["runs"], tables["restorepoints"], None, (writer, reader))
    sdk = RunStore(tables["runs"], tables["restorepoints"])
    resource, now = "exchange:u a'b", datetime.now(timezone.utc)
    result = {"resource": resource, "status": "partial", "items": 3, "bytes": 3 * 2**31, "removed": 1,
              "failed_items": 1, "kind": "shared", "kind_read_at": now.isoformat()}  # fmt: skip
    run_id = new_run_id(now)  # a point of today: recent_kind looks back from now, so a fixed date would age out
    direct.record_point(run_id, result, [{"item": "x", "error": "HTTP 500"}], ["a note"])
    assert writer is not None and reader is not None and (writer.handed_back, reader.handed_back) == (0, 0)
    point = sdk.point(resource, run_id)
    assert point is not None and (point["items"], point["bytes"], point["kind"]) == (3, 3 * 2**31, "shared")
    assert point["failures"] == [{"item": "x", "error": "HTTP 500"}] and point["notes"] == ["a note"]
    since = now - timedelta(days=1)
    assert direct.recent_kind(resource, since) == sdk.recent_kind(resource, since) == ("shared", now.isoformat())
    assert reader.handed_back == 0

    queries = DirectQuery.for_table(tables["quarantine"])
    held = QuarantineStore(tables["quarantine"], queries)
    held.hold(resource, "mail", "m1", "inbox", "HTTP 503", "r1")
    held.hold(resource, "mail", "m1", "inbox", "HTTP 503", "r2")
    held.hold(resource, "mail", "m2", "inbox", "HTTP 500", "r2")
    held.release(resource, "mail", "m2", "r3")
    assert held.history(resource) == QuarantineStore(tables["quarantine"]).history(resource)
    assert [(i.item_id, i.attempts) for i in held.held(resource)] == [("m1", 2)]
    assert queries is not None and queries.handed_back == 0
