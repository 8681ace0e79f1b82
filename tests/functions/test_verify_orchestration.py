"""The scheduled verification end to end with devenv.durable_local: the real verify orchestrators replayed by
azure-functions-durable, the real activities in-process against Azurite and the Graph simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blueprints.verify import VERIFY_INSTANCE, verify_orchestrator
from blueprints.verify import verify_resource as verify_resource_activity
from core.storage.content_store import blob_name
from devenv.durable_local import LocalResult, run_orchestration
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, host_services, open_tenant


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_BATCH_SIZE": "1", "VERIFY_SAMPLE_PERCENT": "100", "BACKUP_WORKLOADS": "exchange"}
    state = tmp_path_factory.mktemp("verify-orch") / "sim"
    t = open_tenant(state, isolated_storage(azurite), settings, users=3, messages=4, seed=12, contacts=0, events=0,
                    tasks=0)  # fmt: skip
    assert t.backup()["status"] == "succeeded"
    try:
        with host_services(t):
            yield t
    finally:
        t.close()


def _run(**kwargs) -> LocalResult:
    return run_orchestration(verify_orchestrator, {"trigger": "schedule"}, instance_id=VERIFY_INSTANCE,
                             retry_delay_scale=0.001, **kwargs)  # fmt: skip


def test_the_scheduled_verification_reads_every_resource_back_and_records_it(tenant: Tenant):
    result = _run()
    assert result.runtime_status == "Completed", result.error
    resources = sorted(tenant.services.runs.resources())
    assert result.output["status"] == "ok" and result.output["resources"] == len(resources) >= 3
    assert result.sub_orchestrations == len(resources)  # batches of one
    recorded = tenant.services.runs.verifications.latest(1)[0]
    assert recorded["verification_id"] == result.output["verification_id"] and recorded["trigger"] == "schedule"
    assert recorded["checked"] == recorded["blobs"] > 0 and recorded["sample"] == 1.0
    # the parent holds one result per batch, each a few counts: its history does not carry per-blob detail
    assert len(result.history) <= 20 + 4 * len(resources), len(result.history)


def test_damage_is_found_and_a_failing_resource_does_not_fail_its_siblings(tenant: Tenant):
    services = tenant.services
    first, second, *_ = sorted(services.runs.resources())
    version = next(iter(services.catalog.as_of(first, "mail", services.runs.resolve_point(first))))
    services.content._container.upload_blob(blob_name(version.content_hash), b"damaged", overwrite=True)

    def failing(payload: dict) -> dict:
        if payload["resource"] == second:
            raise RuntimeError("storage unreachable")
        return verify_resource_activity._function.get_user_function()(payload)

    result = _run(activities={"verify_resource": failing})
    assert result.runtime_status == "Completed", result.error
    assert result.output["status"] == "problems" and result.output["corrupted"] == 1
    recorded = services.runs.verifications.latest(1)[0]
    assert recorded["unreadable"] == 1 and recorded["missing"] == 0
    named = {(p["problem"], p["resource"], p["item_id"]) for p in recorded["problems"]}
    assert ("corrupted", first, version.item_id) in named
    assert any(problem == "unreadable" and resource == second for problem, resource, _ in named)
    assert recorded["checked"] > 0  # the third mailbox was still read back
