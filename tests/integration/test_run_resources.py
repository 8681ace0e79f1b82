"""A Durable run's stored resource list against Azurite (core/storage/run_resources.py): batches read back as
stored, long batches cut over several properties, a second store beside the first, removed when the run ends."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.errors import StorageError
from core.storage.run_resources import PURGE_PREFIX, VERIFY_PREFIX, RunResources
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


def store(storage_env, *prefix: str) -> RunResources:
    return RunResources(table_clients(load_settings({**SECRETLESS, **storage_env}))["runs"], *prefix)


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


def test_each_use_keeps_its_lists_in_its_own_partition(storage_env):
    backup, verify, purge = store(storage_env), store(storage_env, VERIFY_PREFIX), store(storage_env, PURGE_PREFIX)
    same_id = "20261202T050000000000Z"  # a verification and a purge may share a backup run's id
    listed = {name: lists.store(same_id, [f"exchange:{name}"], 1)[0] for name, lists in
              (("backup", backup), ("verify", verify), ("purge", purge))}  # fmt: skip
    assert verify.batch(same_id, listed["verify"], 0) == ["exchange:verify"]
    with pytest.raises(StorageError):  # the backup's lists do not see the verification's
        backup.batch(same_id, listed["verify"], 0)
    assert verify.forget(same_id) == 1  # the verification's list only
    assert (backup.batch(same_id, listed["backup"], 0), purge.batch(same_id, listed["purge"], 0)) == (
        ["exchange:backup"], ["exchange:purge"])  # fmt: skip
    assert (backup.forget(same_id), purge.forget(same_id), verify.forget(same_id)) == (1, 1, 0)
