"""Run the real backup orchestrators end to end with devenv.durable_local: replayed by azure-functions-durable, the
real activities running in-process against Azurite and the Graph simulator."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from blueprints.backup import backup_orchestrator
from devenv.durable_local import LocalResult, run_orchestration
from tests.integration.tenant import Tenant, host_services, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    """A simulated tenant (3 mailboxes, batch size 2) that the activities' services are built for."""
    t = open_tenant(
        tmp_path / "sim",
        storage_env,
        {"BACKUP_BATCH_SIZE": "2"},
        users=3,
        messages=12,
        seed=4,
        contacts=0,
        events=0,
        tasks=0,
        archive_messages=0,  # the item counts below are the primary mailboxes' messages
    )
    try:
        with host_services(t):
            yield t
    finally:
        t.close()


def _all_match(tenant: Tenant, run_id: str) -> None:
    for user in tenant.mailboxes():
        assert tenant.catalog_messages(user["id"], run_id) == tenant.live_messages(user["id"]), user["id"]


def _all_match_but(tenant: Tenant, run_id: str, skipped: str) -> None:
    for user in tenant.mailboxes():
        if user["id"] != skipped:
            assert tenant.catalog_messages(user["id"], run_id) == tenant.live_messages(user["id"]), user["id"]


def _run(**kwargs) -> LocalResult:
    return run_orchestration(backup_orchestrator, {"trigger": "http"}, retry_delay_scale=0.001, **kwargs)


def test_the_real_orchestrators_back_up_the_tenant(tenant: Tenant):
    result = _run()

    assert result.runtime_status == "Completed", result.error
    summary = result.output
    total = sum(len(u["messages"]) for u in tenant.mailboxes())
    assert summary["status"] == "succeeded", summary
    assert (summary["resources"], summary["succeeded"], summary["items"]) == (3, 3, total)
    assert result.sub_orchestrations == 2  # 3 mailboxes in batches of 2
    # start_run, discover_resources, finish_run + batch_resources per batch + one backup_resource each
    assert result.activities == 3 + 2 + 3
    assert result.custom_status == {
        "run_id": summary["run_id"],
        "stage": "completed",
        "batches": 2,
        "status": "succeeded",
        **{key: summary[key] for key in ("resources", "succeeded", "partial", "failed", "skipped")},
    }
    # each orchestration's history stays small: the parent holds batches, not resources
    assert len(result.history) <= result.max_history <= 40, (len(result.history), result.max_history)

    run = tenant.services.runs.list()[0]
    assert run["run_id"] == summary["run_id"] and run["status"] == "succeeded", run
    _all_match(tenant, summary["run_id"])
    # the discovered list went to storage, the parent's history holds none of its keys, finish_run removed it
    assert not [e for e in result.history if "exchange:" in str(e.get("Input")) + str(e.get("Result"))]
    assert tenant.services.runs.resource_lists.forget(summary["run_id"]) == 0


def test_a_failing_mailbox_fails_only_its_resource(tenant: Tenant):
    broken = tenant.user(1)["id"]
    tenant.sim.control.set_faults({"kind": "mailbox", "user": broken, "status": 500})

    result = _run()

    assert result.runtime_status == "Completed", result.error
    summary = result.output
    assert (summary["status"], summary["resources"], summary["succeeded"], summary["failed"]) == ("partial", 3, 2, 1)
    run_id = summary["run_id"]
    points = {user["id"]: tenant.services.runs.points(f"exchange:{user['id']}") for user in tenant.mailboxes()}
    statuses = {user: next(p["status"] for p in found if p["run_id"] == run_id) for user, found in points.items()}
    assert statuses == {user["id"]: "failed" if user["id"] == broken else "succeeded" for user in tenant.mailboxes()}
    _all_match_but(tenant, run_id, broken)
    run = tenant.services.runs.list()[0]
    assert run["run_id"] == run_id and run["status"] == "partial", run


def test_activity_exceptions_are_retried_by_the_host_and_exhausted_ones_fail_their_resource(tenant: Tenant):
    """backup_resource raising (infrastructure failure) goes through RESOURCE_RETRY: retry timers, new attempts."""
    from blueprints.backup import backup_resource

    real = backup_resource._function.get_user_function()
    users = [user["id"] for user in tenant.mailboxes()]
    flaky, dead = f"exchange:{users[0]}", f"exchange:{users[2]}"
    attempts: Counter[str] = Counter()
    lock = threading.Lock()

    def unreliable(payload: dict) -> dict:
        with lock:
            attempts[payload["resource"]] += 1
            attempt = attempts[payload["resource"]]
        if payload["resource"] == dead or (payload["resource"] == flaky and attempt == 1):
            raise ConnectionError(f"worker lost on attempt {attempt}")
        return real(payload)

    result = _run(activities={"backup_resource": unreliable})

    assert result.runtime_status == "Completed", result.error
    assert attempts == {flaky: 2, f"exchange:{users[1]}": 1, dead: 3}
    summary = result.output
    assert (summary["status"], summary["succeeded"], summary["failed"]) == ("partial", 2, 1)
    assert result.activities == 3 + 2 + 6
    assert not [p for p in tenant.services.runs.points(dead) if p["run_id"] == summary["run_id"]]
    _all_match_but(tenant, summary["run_id"], users[2])
    run = tenant.services.runs.list()[0]
    assert run["run_id"] == summary["run_id"] and run["status"] == "partial"
