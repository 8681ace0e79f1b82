"""Mail backup end to end: the simulator over loopback HTTPS, Azurite, core's real services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.graph.retry import RetryPolicy
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=3, messages=24, seed=11, contacts=0, events=0, tasks=0,
                    archive_messages=0)  # fmt: skip  # mail only: counts are the mailboxes' messages
    yield t
    t.close()


def _all_match(tenant: Tenant, run_id: str) -> None:
    for user in tenant.mailboxes():
        assert tenant.catalog_messages(user["id"], run_id) == tenant.live_messages(user["id"]), user["id"]


def test_full_then_incremental_after_add_modify_move_delete(tenant: Tenant):
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    total = sum(len(u["messages"]) for u in tenant.mailboxes())
    assert first["items"] == total and first["resources"] == 3  # the user without a mail address is not a resource
    _all_match(tenant, first["run_id"])
    before = {u["id"]: tenant.live_messages(u["id"]) for u in tenant.mailboxes()}

    user = tenant.user(0)["id"]
    ids = sorted(tenant.live_messages(user))
    control = tenant.sim.control
    added = control.add_message(user, "inbox", subject="new after the first run", attachments=1)
    control.update_message(user, ids[0], subject="edited subject")
    control.move_message(user, ids[1], "archive")
    control.delete_message(user, ids[2])
    control.reset_stats()

    second = tenant.backup()
    assert second["status"] == "succeeded", second
    _all_match(tenant, second["run_id"])
    now = tenant.catalog_messages(user, second["run_id"])
    assert added["id"] in now and ids[2] not in now
    assert now[ids[1]][1] == before[user][ids[1]][1]  # moved: same content, new folder
    assert now[ids[0]][1] != before[user][ids[0]][1]  # edited: new content
    # The earlier run is still reconstructable, untouched by the changes
    for user_id, messages in before.items():
        assert tenant.catalog_messages(user_id, first["run_id"]) == messages
    # Only what changed was downloaded
    assert tenant.sim.control.stats()["by_kind"]["value"] <= 3


def test_no_change_incremental_downloads_nothing_and_writes_no_blobs(tenant: Tenant):
    tenant.backup()
    blobs = tenant.blob_count()
    tenant.sim.control.reset_stats()
    again = tenant.backup()
    stats = tenant.sim.control.stats()
    folders = sum(1 for u in tenant.mailboxes() for f in u["folders"] if f["parentFolderId"])  # all but the root
    assert again["items"] == 0 and again["bytes"] == 0 and again["status"] == "succeeded"
    assert stats["by_kind"]["value"] == 0
    assert stats["by_kind"]["delta"] == folders  # one delta request per folder
    assert tenant.blob_count() == blobs


def test_same_mime_in_every_mailbox_is_stored_once(tenant: Tenant):
    run = tenant.backup()
    hashes = [sha for u in tenant.mailboxes() for _, sha in tenant.live_messages(u["id"]).values()]
    assert len(hashes) > len(set(hashes))  # the simulator delivers broadcast messages to every mailbox
    assert tenant.blob_count() == len(set(hashes))
    assert run["bytes"] < sum(
        m["size"] for u in tenant.sim.control.state()["users"] if u["has_mailbox"] for m in u["messages"]
    )


def test_expired_delta_links_fall_back_to_full_enumeration_losing_nothing(tenant: Tenant):
    tenant.backup()
    user = tenant.user(1)["id"]
    ids = sorted(tenant.live_messages(user))
    control = tenant.sim.control
    control.delete_message(user, ids[0])
    added = control.add_message(user, "inbox", subject="arrived while the link expired")
    control.expire_delta_tokens()
    blobs = tenant.blob_count()
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    _all_match(tenant, run["run_id"])
    assert ids[0] not in tenant.catalog_messages(user, run["run_id"])
    assert added["id"] in tenant.catalog_messages(user, run["run_id"])
    assert tenant.blob_count() == blobs + 1  # re-enumeration stored no duplicate content
    point = next(p for p in tenant.services.runs.points(f"exchange:{user}") if p["run_id"] == run["run_id"])
    assert point["status"] == "succeeded"


def test_a_429_storm_is_survived_honouring_retry_after(tmp_path, storage_env):
    # Many attempts, so that no single request can be unlucky enough to absorb the whole storm; short backoff
    # (for answers without Retry-After) so the test stays quick. Retry-After values are honoured as sent, request
    # by request: batching off, so every delta request is sent alone (the batched path has its own test below).
    policy = RetryPolicy(max_attempts=40, base_delay=0.05, max_delay=0.5)
    tenant = open_tenant(
        tmp_path / "sim", storage_env, {"GRAPH_BATCH_REQUESTS": "0"}, policy=policy, users=3, messages=24, seed=5,
        contacts=0, events=0,
    )  # fmt: skip
    try:
        control = tenant.sim.control
        control.throttle_storm(30, status=429, retry_after="0.25", endpoint="value")
        control.throttle_storm(5, status=503, retry_after="1", endpoint="delta")
        control.throttle_storm(3, status=429, retry_after=None, endpoint="value")  # no Retry-After: backoff
        run = tenant.backup()
        assert run["status"] == "succeeded", run
        _all_match(tenant, run["run_id"])
        stats = control.stats()
        assert stats["answered_429"] == 33 and stats["answered_503"] == 5
        assert tenant.sleeps.count(0.25) == 30 and tenant.sleeps.count(1.0) == 5  # waited exactly as told
        assert len(tenant.sleeps) == 38 and all(s <= 0.5 for s in tenant.sleeps if s not in (0.25, 1.0))
    finally:
        tenant.close()


def test_a_storm_on_batched_delta_requests_is_waited_out_once_per_batch_and_loses_nothing(tmp_path, storage_env):
    # The same 503 storm with batching on: a first backup's full rounds start in $batch requests, so the throttled
    # delta requests are inner ones; a batch carries them again after the longest Retry-After among its answers
    # (core/graph/batch.py), one wait for all of them rather than one each.
    policy = RetryPolicy(max_attempts=40, base_delay=0.05, max_delay=0.5)
    tenant = open_tenant(tmp_path / "sim", storage_env, policy=policy, users=3, messages=24, seed=5, contacts=0,
                         events=0)  # fmt: skip
    try:
        control = tenant.sim.control
        control.throttle_storm(5, status=503, retry_after="1", endpoint="delta")
        run = tenant.backup()
        assert run["status"] == "succeeded", run
        _all_match(tenant, run["run_id"])
        stats = control.stats()
        assert stats["answered_503"] == 5 and stats["batched"] > 5
        waits = tenant.sleeps.count(1.0)
        assert 1 <= waits <= 3 and len(tenant.sleeps) == waits  # a wait per batch that met the storm (3 mailboxes)
        assert tenant.services.graph.prefetched.counts["retried"] >= 5  # each carried again in a later batch
    finally:
        tenant.close()


def test_a_corrupt_item_and_a_failing_mailbox_do_not_fail_the_others(tenant: Tenant):
    control = tenant.sim.control
    corrupt_user, failing_user, healthy_user = (tenant.user(i)["id"] for i in range(3))
    bad = sorted(tenant.live_messages(corrupt_user))[3]
    control.set_faults(
        {"kind": "corrupt_message", "user": corrupt_user, "message": bad},
        {"kind": "mailbox", "user": failing_user, "status": 500},
    )
    run = tenant.backup()
    by_resource = {r["resource"]: r for r in run["results"]}
    assert run["status"] == "partial"
    assert by_resource[f"exchange:{corrupt_user}"]["status"] == "partial"
    assert by_resource[f"exchange:{corrupt_user}"]["failed_items"] == 1
    assert by_resource[f"exchange:{failing_user}"]["status"] == "failed"
    assert by_resource[f"exchange:{healthy_user}"]["status"] == "succeeded"
    captured = tenant.catalog_messages(corrupt_user, run["run_id"])
    assert set(captured) == set(tenant.live_messages(corrupt_user)) - {bad}
    assert tenant.catalog_messages(healthy_user, run["run_id"]) == tenant.live_messages(healthy_user)
    failures = next(p for p in tenant.services.runs.points(f"exchange:{corrupt_user}") if p["run_id"] == run["run_id"])
    assert bad in failures["failures"][0]["item"]

    # Once the faults are gone, the next run catches up: the folder's delta link had not moved past the bad item.
    control.clear_faults()
    after = tenant.backup()
    assert after["status"] == "succeeded", after
    _all_match(tenant, after["run_id"])


def test_a_malformed_delta_page_fails_only_its_folder_and_is_retried_next_run(tenant: Tenant):
    user = tenant.user(0)["id"]
    tenant.sim.control.set_faults({"kind": "delta_page", "user": user, "mode": "no_value", "count": 10})
    run = tenant.backup()
    result = next(r for r in run["results"] if r["resource"] == f"exchange:{user}")
    assert result["status"] == "partial" and result["failed_items"] >= 1
    tenant.sim.control.clear_faults()
    after = tenant.backup()
    assert after["status"] == "succeeded"
    _all_match(tenant, after["run_id"])
