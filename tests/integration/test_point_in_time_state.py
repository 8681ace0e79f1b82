"""A message's state (read, flag, categories, importance) is part of its point in time: a state change between two
runs is a new catalog version with the same content, so the catalog and a restore as of the earlier run give the
earlier state. Real simulator over loopback, real Azurite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from core.restore import restore
from core.restore_request import RestoreRequest
from core.storage.catalog import ItemVersion
from tests.integration.tenant import Tenant, open_tenant

MAIL = "mail"


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=2, messages=12, seed=41, contacts=0, events=0)
    yield t
    t.close()


def _target(tenant: Tenant) -> tuple[str, str]:
    user = tenant.user(0)["id"]
    return user, sorted(m["id"] for m in tenant.sim.control.list_messages(user))[0]


def _graph_state(tenant: Tenant, user: str, message_id: str) -> tuple[bool, str, list[str], str]:
    """(isRead, flag status, categories, importance) as the mailbox reports them."""
    message = tenant.services.graph.get_json(f"users/{user}/messages/{message_id}")
    flag = (message.get("flag") or {}).get("flagStatus", "notFlagged")
    return bool(message["isRead"]), flag, list(message.get("categories") or []), message.get("importance", "")


def _as_of(tenant: Tenant, user: str, run_id: str, message_id: str) -> ItemVersion:
    return next(v for v in tenant.services.catalog.as_of(f"exchange:{user}", MAIL, run_id) if v.item_id == message_id)


def _backup_state_change(tenant: Tenant) -> tuple[str, str, dict, dict, ItemVersion]:
    """Run 1 with the message read, flagged, 'Blue'; run 2 after it became unread, completed, 'Red'+'Green', high
    importance. Returns (user, message id, run 1, run 2, the run-1 row as written by run 1)."""
    user, message_id = _target(tenant)
    control = tenant.sim.control
    control.update_message(user, message_id, isRead=True, flag="flagged", categories=["Blue"])
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    [row1] = tenant.services.catalog.history(f"exchange:{user}", MAIL, message_id)
    assert row1.is_read and json.loads(row1.extra)["categories"] == ["Blue"]
    assert json.loads(row1.extra)["flag"]["flagStatus"] == "flagged"

    blobs = tenant.blob_count()
    control.update_message(
        user, message_id, isRead=False, flag="complete", categories=["Red", "Green"], importance="high"
    )
    control.reset_stats()
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert tenant.blob_count() == blobs  # same MIME: no new blob
    assert control.stats()["by_kind"]["value"] == 1  # the changed message's MIME is fetched, as before, once
    assert second["items"] == 1 and second["bytes"] == 0 and second["removed"] == 0  # one new version
    return user, message_id, first, second, row1


def test_a_state_change_is_a_new_version_and_the_earlier_run_keeps_its_state(tenant: Tenant):
    user, message_id, first, second, row1 = _backup_state_change(tenant)
    resource = f"exchange:{user}"

    old, new = tenant.services.catalog.history(resource, MAIL, message_id)
    assert old == replace(row1, deleted_run=second["run_id"])  # ended at run 2; nothing it describes changed
    assert new.first_seen_run == second["run_id"] and not new.deleted_run
    assert (new.content_hash, new.size, new.folder_id) == (old.content_hash, old.size, old.folder_id)
    assert new.change_key != old.change_key and not new.is_read
    state = json.loads(new.extra)
    assert state["flag"]["flagStatus"] == "complete"
    assert state["categories"] == ["Red", "Green"] and state["importance"] == "high"

    assert _as_of(tenant, user, first["run_id"], message_id) == old  # run 1 as it was
    assert _as_of(tenant, user, second["run_id"], message_id) == new

    tenant.sim.control.reset_stats()
    third = tenant.backup()  # nothing changed since: nothing fetched, no version
    assert third["items"] == 0 and tenant.sim.control.stats()["by_kind"]["value"] == 0
    assert len(tenant.services.catalog.history(resource, MAIL, message_id)) == 2


def test_a_change_key_alone_updates_the_live_version_in_place(tenant: Tenant):
    user, message_id = _target(tenant)
    resource = f"exchange:{user}"
    tenant.backup()
    [row1] = tenant.services.catalog.history(resource, MAIL, message_id)

    # A change nothing in the catalog describes. The simulator, like Graph, stamps lastModifiedDateTime on every
    # change, so the row's stamp is aligned with the new one: only the changeKey then differs.
    changed = tenant.sim.control.update_message(user, message_id, isRead=row1.is_read)
    modified = tenant.services.graph.get_json(f"users/{user}/messages/{message_id}")["lastModifiedDateTime"]
    keys = {k: v for k, v in row1.to_entity(resource).items() if k in ("PartitionKey", "RowKey")}
    tenant.services.catalog._table.upsert_entity({**keys, "modified": modified}, mode="merge")

    second = tenant.backup()
    assert second["status"] == "succeeded" and second["items"] == 0, second
    [live] = tenant.services.catalog.history(resource, MAIL, message_id)
    assert live == replace(row1, modified=modified, change_key=changed["changeKey"])  # the key only, in place

    tenant.sim.control.reset_stats()
    tenant.backup()  # the updated key is what the next round compares: nothing fetched
    assert tenant.sim.control.stats()["by_kind"]["value"] == 0


def test_restore_as_of_the_earlier_run_puts_back_that_runs_state(tenant: Tenant):
    user, message_id, first, _, row1 = _backup_state_change(tenant)
    report = restore(
        tenant.services,
        RestoreRequest(f"exchange:{user}", run_id=first["run_id"], item_ids=(message_id,), conflict="keep-both"),
    )
    assert report.restored == 1 and not report.failures, report
    new_id = report.items[0]["new_id"]
    importance = json.loads(row1.extra).get("importance", "normal")
    assert _graph_state(tenant, user, new_id) == (True, "flagged", ["Blue"], importance)
    assert next(m for m in tenant.sim.control.list_messages(user) if m["id"] == new_id)["isRead"] is True
    assert _graph_state(tenant, user, message_id) == (False, "complete", ["Red", "Green"], "high")  # untouched
