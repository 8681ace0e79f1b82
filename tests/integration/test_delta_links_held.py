"""A resource's delta links are saved together during its backup (core/storage/delta_state.py ResourceDeltaStates),
against a real Azurite: held until HOLD_AT_MOST are held or the oldest is HOLD_AT_MOST_S old, then sent in one
transaction; what a backup reads back is what it saved, sent or not; a send that fails keeps them to send again."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.errors import StorageError
from core.storage import table_keys as keys
from core.storage.delta_state import HOLD_AT_MOST, HOLD_AT_MOST_S, DeltaState, DeltaStateStore, ResourceDeltaStates
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
RESOURCE = "exchange:user1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(storage_env):
    return table_clients(load_settings({**SECRETLESS, **storage_env}))["deltastate"]


def _state(n: int, run: str = "r1") -> DeltaState:
    return DeltaState("mail", f"folder{n}", f"https://graph/delta?$deltatoken={n}-{run}", f"/F{n}", run)


def _saved(table) -> dict:
    return DeltaStateStore(table).load(RESOURCE)


def test_links_are_held_and_sent_together(table):
    store = DeltaStateStore(table)
    states = ResourceDeltaStates(store, RESOURCE, Clock())
    assert states.load(RESOURCE) == {}
    for n in range(HOLD_AT_MOST - 1):
        states.save(RESOURCE, _state(n))
    assert store.writes == 0 and _saved(table) == {}  # held
    assert len(states.load(RESOURCE)) == HOLD_AT_MOST - 1  # the backup reads what it saved
    states.save(RESOURCE, _state(HOLD_AT_MOST - 1))  # the HOLD_AT_MOST-th: all of them in one transaction
    assert store.writes == 1 and len(_saved(table)) == HOLD_AT_MOST
    states.save(RESOURCE, _state(0, "r2"))  # a newer link of a container already sent
    states.save(RESOURCE, _state(HOLD_AT_MOST))
    states.flush()  # the backup's end
    assert store.writes == 2
    saved = _saved(table)
    assert len(saved) == HOLD_AT_MOST + 1 and saved[("mail", "folder0")].run_id == "r2"
    assert saved == states.load(RESOURCE)
    states.flush()
    assert store.writes == 2  # nothing held: nothing sent


def test_a_link_is_not_held_longer_than_the_bound(table):
    clock = Clock()
    store = DeltaStateStore(table)
    states = ResourceDeltaStates(store, RESOURCE, clock)
    states.save(RESOURCE, _state(1))
    clock.now += HOLD_AT_MOST_S - 1
    states.save(RESOURCE, _state(2))
    assert store.writes == 0
    clock.now += 1  # the first is HOLD_AT_MOST_S old: sent with the second
    states.save(RESOURCE, _state(3))
    assert store.writes == 1 and len(_saved(table)) == 3


def test_links_saved_before_the_first_load_are_laid_over_the_table(table):
    DeltaStateStore(table).save(RESOURCE, _state(1))
    DeltaStateStore(table).save(RESOURCE, _state(2))
    states = ResourceDeltaStates(DeltaStateStore(table), RESOURCE, Clock())
    states.save(RESOURCE, _state(2, "r2"))
    states.save(RESOURCE, DeltaState("mail", "folder1", "", "/F1", "r2"))  # an empty link: a full round next time
    loaded = states.load(RESOURCE)
    assert set(loaded) == {("mail", "folder2")} and loaded[("mail", "folder2")].run_id == "r2"


def test_forgetting_a_container_sends_what_is_held_first(table):
    store = DeltaStateStore(table)
    states = ResourceDeltaStates(store, RESOURCE, Clock())
    states.save(RESOURCE, _state(1))
    states.save(RESOURCE, _state(2))
    states.forget(RESOURCE, "mail", "folder1", "r1")  # the folder is gone from the tenant
    assert set(_saved(table)) == {("mail", "folder2")} and set(states.load(RESOURCE)) == {("mail", "folder2")}
    row = table.get_entity(keys.escape(RESOURCE), keys.join("mail", "folder1"))
    assert row["delta_link"] == "" and row["removed_run"] == "r1"  # the record stays, its link cleared


def test_a_send_that_fails_keeps_the_links_to_send_again(table):
    store = DeltaStateStore(table)
    states = ResourceDeltaStates(store, RESOURCE, Clock())
    states.load(RESOURCE)
    states.save(RESOURCE, _state(1))
    table.delete_table()
    with pytest.raises(StorageError, match="1 delta links of exchange:user1 not saved"):
        states.flush()
    table.create_table()
    states.save(RESOURCE, _state(2))
    states.flush()
    assert set(_saved(table)) == {("mail", "folder1"), ("mail", "folder2")}


def test_other_resources_are_saved_at_once(table):
    store = DeltaStateStore(table)
    states = ResourceDeltaStates(store, RESOURCE, Clock())
    states.save("exchange:user2", _state(1))
    assert store.writes == 1 and len(DeltaStateStore(table).load("exchange:user2")) == 1


def test_a_single_save_or_forget_that_fails_raises_the_apps_error(table):
    store = DeltaStateStore(table)  # no direct path: the SDK's answer is the one raised
    table.delete_table()
    with pytest.raises(StorageError, match="delta link of exchange:user1 mail not saved"):
        store.save(RESOURCE, _state(1))
    with pytest.raises(StorageError, match="delta link of exchange:user1 mail folder1 not cleared"):
        store.forget(RESOURCE, "mail", "folder1", "r2")
    table.create_table()
    store.save(RESOURCE, _state(1))
    store.forget(RESOURCE, "mail", "folder1", "r2")
    assert DeltaStateStore(table).load(RESOURCE) == {}  # forgotten: no link to resume from
