"""The quarantine table against Azurite (issue 11 item 4): an item is held with its error and attempts, counted
once per run, released when captured or found deleted, and what each run's restore point lacked stays readable."""

from __future__ import annotations

from core.config import load_settings
from core.storage.quarantine import QuarantineStore
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}


def test_held_items_are_counted_per_run_released_and_remembered(storage_env):
    store = QuarantineStore(table_clients(load_settings({**SECRETLESS, **storage_env}))["quarantine"])
    resource = "onedrive:u1"
    store.hold(resource, "file", "d1/f1", "d1", "size 10 != listed 12", "r1")
    store.hold(resource, "file", "d1/f1", "d1", "size 10 != listed 12\n(again)", "r1")  # same run: one attempt
    store.hold(resource, "file", "d1/f2", "d1", "HTTP 500", "r1")
    store.hold(resource, "file", "d1/f1", "d1", "size 11 != listed 12", "r2")
    held = {i.item_id: i for i in store.held(resource)}
    assert held["d1/f1"].attempts == 2 and held["d1/f1"].first_run == "r1" and held["d1/f1"].last_run == "r2"
    assert held["d1/f1"].error == "size 11 != listed 12"
    assert held["d1/f2"].attempts == 1

    store.release(resource, "file", "d1/f2", "r2")
    store.release(resource, "file", "d1/f1", "r3", released_as="deleted")
    store.release(resource, "file", "d1/none", "r3")  # never held: nothing happens
    assert store.held(resource) == []
    assert sorted(i.item_id for i in store.held_in_run(resource, "r1")) == ["d1/f1", "d1/f2"]
    assert [i.item_id for i in store.held_in_run(resource, "r2")] == ["d1/f1"]
    assert store.held_in_run(resource, "r3") == []
    assert {i.item_id: i.released_as for i in store.history(resource)} == {"d1/f1": "deleted", "d1/f2": "captured"}

    store.hold(resource, "file", "d1/f2", "d1", "HTTP 503", "r4")  # held again later: a new first run
    again = store.held(resource, category="file", container_id="d1")
    assert [(i.item_id, i.first_run, i.attempts) for i in again] == [("d1/f2", "r4", 1)]
