"""The scheduled purge end to end with devenv.durable_local: the real purge orchestrators replayed by
azure-functions-durable, the real activities in-process against Azurite and the Graph simulator, over mailboxes
backed up at simulated times."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blueprints.purge import PURGE_INSTANCE, purge_orchestrator
from blueprints.purge import purge_resource as purge_resource_activity
from devenv.durable_local import LocalResult, run_orchestration
from tests.conftest import isolated_storage
from tests.integration.purge_runs import simulated_history, usable_points
from tests.integration.tenant import Tenant, host_services, open_tenant

USERS = 3


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_BATCH_SIZE": "1", "BACKUP_WORKLOADS": "exchange", "BACKUP_ARCHIVE_MAILBOXES": "false",
                "RETENTION_POLICIES": "default: daily=1", "PURGE_GRACE_HOURS": "0"}  # fmt: skip
    state = tmp_path_factory.mktemp("purge-orch") / "sim"
    t = open_tenant(state, isolated_storage(azurite), settings, users=USERS, messages=3, seed=14, contacts=0,
                    events=0, tasks=0)  # fmt: skip
    try:
        with host_services(t):
            yield t
    finally:
        t.close()


def _run(**kwargs) -> LocalResult:
    return run_orchestration(purge_orchestrator, {"trigger": "schedule"}, instance_id=PURGE_INSTANCE,
                             retry_delay_scale=0.001, **kwargs)  # fmt: skip


def _history(tenant: Tenant, days: list[float], seed: int) -> list[str]:
    users = [u["id"] for u in tenant.mailboxes()[:USERS]]
    for n, user in enumerate(users):
        simulated_history(tenant, tenant.services, user, days, seed=seed + n)
    return [f"exchange:{u}" for u in users]


def test_the_scheduled_purge_removes_what_retention_expires_and_records_it(tenant: Tenant):
    resources = _history(tenant, [4, 3, 2], seed=1)
    result = _run()
    assert result.runtime_status == "Completed", result.error
    assert result.output["status"] == "succeeded" and result.output["resources"] == USERS
    assert result.output["points"] == 2 * USERS and result.output["versions"] > 0
    assert result.sub_orchestrations == USERS  # batches of one
    for resource in resources:
        assert len(usable_points(tenant.services, resource)) == 1
    recorded = tenant.services.runs.purges.latest(1)[0]
    assert recorded["purge_id"] == result.output["purge_id"] and recorded["trigger"] == "schedule"
    # written today, the blobs are within IMMUTABILITY_DAYS of their creation: marked, not removed
    assert recorded["blobs"] == 0 and recorded["still_protected"] > 0
    assert tenant.services.audit.list(1)[0][0]["action"] == "purge"
    # the parent holds one result per batch and the blob sweep's: its history does not grow per version or blob
    assert len(result.history) <= 24 + 4 * USERS, len(result.history)


def test_a_failing_resource_does_not_fail_its_siblings(tenant: Tenant):
    resources = _history(tenant, [1.5, 1.2], seed=9)
    failing_one = resources[1]

    def failing(payload: dict) -> dict:
        if payload["resource"] == failing_one:
            raise RuntimeError("storage unreachable")
        return purge_resource_activity._function.get_user_function()(payload)

    result = _run(activities={"purge_resource": failing})
    assert result.runtime_status == "Completed", result.error
    recorded = tenant.services.runs.purges.latest(1)[0]
    assert recorded["status"] == "partial" and recorded["failed"] == 1 and failing_one in recorded["error"]
    assert len(usable_points(tenant.services, failing_one)) == 3  # untouched: it waits for the next purge
    assert all(len(usable_points(tenant.services, r)) == 1 for r in resources if r != failing_one)
