"""A mailbox's every-run reads sent ahead in JSON batches (core/graph/batch.py, core/workloads/exchange/
mailbox_reads.py): a change in any kind of container is still picked up, and an inner 429 or 500 of a batch
leaves nothing out (the throttled request is batched again after its Retry-After, the failed one is sent alone,
its siblings' answers are used)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from core.graph.batch import Read, prefetch
from core.workloads.exchange.mail_folders import WELL_KNOWN
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


def test_a_batch_is_charged_to_its_mailbox_so_requests_beside_it_are_not_refused(tmp_path, storage_env):
    # Outlook runs a batch's requests 4 at a time against the mailbox's 4 concurrent requests: the client's limiter
    # holds the mailbox's slots while a batch is in flight, so requests of the same mailbox sent beside it wait
    # instead of meeting 429 MailboxConcurrency (each of them a request Graph counts and the backup retries)
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=1, seed=9, contacts=0, events=0, tasks=0,
                    archive_messages=0, latency_ms=60, mailbox_concurrency=4)  # fmt: skip
    try:
        user, graph = t.mailboxes()[0]["id"], t.services.graph
        reads = [Read(f"users/{user}/mailFolders/{name}", params={"$select": select})
                 for name in WELL_KNOWN for select in ("id", "id,displayName")]  # fmt: skip
        t.sim.control.reset_stats()
        kept: set = set()
        started = threading.Event()

        def batch() -> None:
            started.set()
            kept.update(prefetch(graph, reads))

        def beside() -> None:
            started.wait(5)
            for _ in range(3):
                assert graph.get_json(f"users/{user}/mailFolders/inbox")["id"]

        threads = [threading.Thread(target=batch), *(threading.Thread(target=beside) for _ in range(4))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        stats = t.sim.control.stats()
        assert len(kept) == len(reads) and stats["batched"] == len(reads)  # every inner request answered once
        assert stats["answered_429"] == 0 and graph.stats().get("status_429", 0) == 0
        assert max(stats["max_in_flight"].values()) <= 4
    finally:
        t.close()


def test_batching_turned_off_sends_each_request_alone_and_backs_up_the_same(tmp_path, storage_env):
    t = open_tenant(tmp_path / "sim", storage_env, {"GRAPH_BATCH_REQUESTS": "0"}, users=1, messages=6, seed=9,
                    contacts=2, events=2, tasks=2, archive_messages=0)  # fmt: skip
    try:
        user = t.mailboxes()[0]["id"]
        assert t.backup()["status"] == "succeeded"
        added = t.sim.control.add_message(user, "inbox", subject="with batching off")
        t.sim.control.reset_stats()
        run = t.backup()
        stats = t.sim.control.stats()
        assert run["status"] == "succeeded" and run["items"] == 1, run
        assert stats["by_kind"].get("batch", 0) == 0 and stats["batched"] == 0
        assert stats["http"] == stats["total"]  # every request Graph counts was a round trip of its own
        assert added["id"] in t.catalog_messages(user, run["run_id"])
        assert t.catalog_messages(user, run["run_id"]) == t.live_messages(user)
    finally:
        t.close()


def test_smaller_batches_carry_the_same_requests(tenant: Tenant):
    tenant.backup()
    tenant.sim.control.reset_stats()
    tenant.backup()
    full = tenant.sim.control.stats()  # batches of 20
    tenant.services.graph.batch_requests = 3  # as GRAPH_BATCH_REQUESTS=3 sets it
    tenant.sim.control.reset_stats()
    assert tenant.backup()["status"] == "succeeded"
    small = tenant.sim.control.stats()
    assert small["batched"] == full["batched"] > 3  # the same reads sent ahead...
    assert small["by_kind"]["batch"] == -(-full["batched"] // 3) > full["by_kind"]["batch"]  # ...3 to a batch
    assert small["total"] - small["by_kind"]["batch"] == full["total"] - full["by_kind"]["batch"]


def test_a_first_backup_reads_its_full_rounds_ahead_side_by_side_within_the_mailboxs_limits(tmp_path, storage_env):
    # a first backup: every container starts a full round; their first requests go ahead in batches, and the
    # mailbox's other kinds (contacts, calendars, To Do) run beside its mail, all within the 4 requests the
    # mailbox allows at once (To Do lives in the mailbox: its requests share the budget, as the simulator counts)
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=150, seed=9, contacts=3, events=3, tasks=6,
                    archive_messages=0, latency_ms=30, mailbox_concurrency=4)  # fmt: skip
    try:
        user = t.mailboxes()[0]["id"]
        run = t.backup()
        stats, ahead = t.sim.control.stats(), t.services.graph.prefetched.counts
        assert run["status"] == "succeeded", run
        assert stats["answered_429"] == 0 and max(stats["max_in_flight"].values()) <= 4, stats
        folders = len(next(u for u in t.sim.control.state()["users"] if u["id"] == user)["folders"])
        assert ahead["batched"] >= folders  # every mail folder's first page among them...
        assert ahead["used"] == ahead["kept"]  # ...and each answer read ahead was the request the round sent
        assert t.catalog_messages(user, run["run_id"]) == t.live_messages(user)
        todo = _todo(t)
        try:
            tasks = {task["id"] for task in todo.state(user)["tasks"]}
        finally:
            todo.close()
        assert tasks and tasks == _ids(t, user, "task", run["run_id"])
    finally:
        t.close()
