"""A mailbox's every-run reads sent ahead in JSON batches (core/graph/batch.py, core/workloads/exchange/
mailbox_reads.py): a change in any kind of container is still picked up, and an inner 429 or 500 of a batch
leaves nothing out (the throttled request is batched again after its Retry-After, the failed one is sent alone,
its siblings' answers are used)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from graphsim.todo.control_client import TodoControl
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=6, seed=9, contacts=2, events=2, tasks=2,
                    archive_messages=0)  # fmt: skip
    yield t
    t.close()


def _ids(tenant: Tenant, user: str, category: str, run_id: str) -> set[str]:
    return {v.item_id for v in tenant.services.catalog.as_of(f"exchange:{user}", category, run_id)}


def _todo(tenant: Tenant) -> TodoControl:
    return TodoControl(tenant.sim.base_url, tenant.sim.ca_file)


def test_a_change_in_any_container_is_picked_up_after_a_batched_no_change_run(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    assert tenant.backup()["status"] == "succeeded"
    control.reset_stats()
    assert tenant.backup()["items"] == 0
    assert control.stats()["by_kind"]["batch"] >= 1  # the no-change run was read ahead

    message = control.add_message(user, "sentitems", subject="after the batch")
    folder = control.create_folder(user, "New", parent="inbox")
    in_new = control.add_message(user, folder["id"], subject="in a new folder")
    contact = control.add_contact(user, properties={"displayName": "Batched Contact"})
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    event = control.add_event(user, subject="batched event", start=start.isoformat(),
                              end=(start + dt.timedelta(hours=1)).isoformat())  # fmt: skip
    todo = _todo(tenant)
    try:
        task = todo.add_task(user, {"title": "batched task"})
    finally:
        todo.close()
    control.reset_stats()
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    assert {message["id"], in_new["id"]} <= set(tenant.catalog_messages(user, run["run_id"]))
    assert tenant.catalog_messages(user, run["run_id"]) == tenant.live_messages(user)
    assert contact["id"] in _ids(tenant, user, "contact", run["run_id"])
    assert event["id"] in _ids(tenant, user, "event", run["run_id"])
    assert task["id"] in _ids(tenant, user, "task", run["run_id"])


def test_an_inner_429_is_batched_again_after_its_retry_after_and_loses_nothing(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    tenant.backup()
    control.reset_stats()
    tenant.backup()
    batches = control.stats()["by_kind"]["batch"]  # what a run without faults sends
    added = control.add_message(user, "inbox", subject="behind a throttled inner request")
    control.reset_stats()
    tenant.sleeps.clear()
    control.throttle_storm(1, status=429, retry_after="0.3", user=user, endpoint="delta")
    run = tenant.backup()
    stats = control.stats()
    assert run["status"] == "succeeded", run
    assert stats["answered_429"] == 1 and 0.3 in tenant.sleeps  # the inner answer's own Retry-After
    assert stats["by_kind"]["batch"] == batches + 1  # one more $batch carries the throttled request again
    assert added["id"] in tenant.catalog_messages(user, run["run_id"])
    assert tenant.catalog_messages(user, run["run_id"]) == tenant.live_messages(user)


def test_an_inner_500_fails_neither_its_siblings_nor_the_backup(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    tenant.backup()
    contact = control.add_contact(user, properties={"displayName": "Behind a 500"})
    added = control.add_message(user, "inbox", subject="a sibling's change")
    control.reset_stats()
    control.set_faults({"kind": "throttle", "count": 1, "status": 500, "user": user, "endpoint": "contacts_delta"})
    run = tenant.backup()
    stats = control.stats()
    assert run["status"] == "succeeded", run
    assert stats["by_status"].get("500") == 1
    before = tenant.sim.control.pim(user)
    contact_folders = len(before["contact_folders"])
    # the failed inner request was sent again alone; every sibling's batched answer was used (no second read)
    assert stats["by_kind"]["contacts_delta"] == contact_folders + 1
    by = stats["by_kind"]  # round trips beside the batches, the users listing and the two downloads (MIME, photo):
    alone = stats["http"] - by["batch"] - by["token"] - by["users"] - by["value"] - by["photo"]
    assert (by["value"], by["photo"], alone) == (1, 1, 2)  # settings/exchange (beta) and the failed request alone
    assert contact["id"] in _ids(tenant, user, "contact", run["run_id"])
    assert added["id"] in tenant.catalog_messages(user, run["run_id"])


def test_a_batch_failing_whole_leaves_every_request_to_be_sent_alone(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    tenant.backup()
    control.reset_stats()
    tenant.backup()
    batched = control.stats()  # a run whose batches are answered
    added = control.add_message(user, "drafts", subject="while the batch fails")
    control.reset_stats()
    control.set_faults({"kind": "throttle", "count": 10, "status": 500, "endpoint": "batch"})
    run = tenant.backup()
    stats = control.stats()
    assert run["status"] == "succeeded", run
    assert stats["by_status"].get("500") == batched["by_kind"]["batch"] and stats["batched"] == 0
    # every request the batches would have carried was sent alone: the same requests, each a round trip
    graph_counted = stats["total"] - stats["by_kind"]["batch"] - stats["by_kind"]["value"]
    assert graph_counted == batched["total"] - batched["by_kind"]["batch"]
    assert stats["http"] == graph_counted + stats["by_kind"]["batch"] + stats["by_kind"]["value"]
    assert added["id"] in tenant.catalog_messages(user, run["run_id"])
    assert tenant.catalog_messages(user, run["run_id"]) == tenant.live_messages(user)
