"""A Durable run's stored resource list against Azurite (core/storage/run_resources.py): batches read back as
stored, long batches cut over several properties, a second store beside the first, removed when the run ends."""

from __future__ import annotations

from core.config import load_settings
from core.storage.run_resources import RunResources
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


def store(storage_env) -> RunResources:
    return RunResources(table_clients(load_settings({**SECRETLESS, **storage_env}))["runs"])


def test_batches_read_back_in_order_and_the_run_forgets_them(storage_env):
    lists = store(storage_env)
    keys = [f"exchange:user-{n}" for n in range(7)]
    list_id, batches = lists.store("r1", keys, 3)
    assert batches == 3
    assert [lists.batch("r1", list_id, n) for n in range(3)] == [keys[0:3], keys[3:6], keys[6:7]]
    assert lists.store("r1", [], 3)[1] == 0  # nothing discovered: no batch
    assert lists.forget("r1") == 3
    assert lists.forget("r1") == 0


def test_a_batch_longer_than_a_table_property_is_cut_and_joined(storage_env):
    lists = store(storage_env)
    keys = [f"sharepoint:contoso.sharepoint.com,{n:08d}-" + "x" * 90 for n in range(700)]  # ~75,000 characters
    list_id, batches = lists.store("r2", keys, 700)
    assert batches == 1
    assert lists.batch("r2", list_id, 0) == keys


def test_an_activity_run_twice_stores_a_second_list_beside_the_first(storage_env):
    lists = store(storage_env)
    first, _ = lists.store("r3", ["exchange:a", "exchange:b"], 1)
    second, _ = lists.store("r3", ["exchange:c"], 1)
    assert first != second
    assert (lists.batch("r3", first, 1), lists.batch("r3", second, 0)) == (["exchange:b"], ["exchange:c"])
    assert lists.forget("r3") == 3
