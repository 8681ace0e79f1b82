"""The telemetry the backup, verification and purge paths send (core/telemetry.py), from real runs against the
simulator and Azurite into the OpenTelemetry SDK's in-memory exporters: the events the alert rules query
(infra/modules/alerts.bicep) with the attributes they read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.lifecycle.purge import purge
from core.storage.content_store import blob_name
from core.telemetry import (
    NO_TELEMETRY,
    PURGE_FINISHED,
    RESOURCE_FINISHED,
    RUN_FINISHED,
    RUN_STARTED,
    VERIFICATION_FINISHED,
)
from core.verify import verify
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant
from tests.telemetry_sink import TelemetrySink


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    t = open_tenant(tmp_path_factory.mktemp("telemetry") / "sim", isolated_storage(azurite), users=2, messages=4,
                    seed=41, contacts=1, events=1, tasks=0)  # fmt: skip
    yield t
    t.close()


@pytest.fixture
def sink(tenant: Tenant) -> Iterator[TelemetrySink]:
    assert tenant.services.telemetry is NO_TELEMETRY  # built without APPLICATIONINSIGHTS_CONNECTION_STRING: off
    sink = TelemetrySink()
    tenant.services.telemetry = sink.telemetry
    yield sink
    tenant.services.telemetry = NO_TELEMETRY


def test_a_run_reports_its_start_each_resource_and_its_end(tenant: Tenant, sink: TelemetrySink):
    throttled = tenant.user(0)["id"]
    tenant.sim.control.throttle_storm(2, status=429, retry_after="0", user=throttled)
    summary = tenant.backup(resources=[f"exchange:{throttled}"])  # alone: the client's throttling counts are its own
    assert summary["status"] == "succeeded"

    started, resource, finished = sink.events()
    assert started == {"name": RUN_STARTED, "run_id": summary["run_id"], "trigger": "cli"}
    assert resource["name"] == RESOURCE_FINISHED and resource["run_id"] == summary["run_id"]
    assert (resource["resource"], resource["workload"], resource["status"]) == (
        f"exchange:{throttled}", "exchange", "succeeded")  # fmt: skip
    assert resource["items"] == summary["items"] > 0 and resource["bytes"] == summary["bytes"] > 0
    assert resource["throttled"] == 2 and resource["duration_seconds"] > 0 and resource["suspicious"] is False
    assert finished["name"] == RUN_FINISHED and finished["run_id"] == summary["run_id"]
    assert (finished["status"], finished["resources"], finished["succeeded"], finished["failed"]) == (
        "succeeded", 1, 1, 0)  # fmt: skip
    assert sink.total("m365backup.graph.throttled", workload="exchange") == 2
    assert sink.total("m365backup.items", workload="exchange") == summary["items"]


def test_a_failed_resource_makes_a_failed_run_event(tenant: Tenant, sink: TelemetrySink):
    good = f"exchange:{tenant.user(1)['id']}"
    summary = tenant.backup(resources=[good, "exchange:00000000-0000-0000-0000-00000000dead"])
    assert summary["status"] == "partial"

    by_resource = {e["resource"]: e for e in sink.events(RESOURCE_FINISHED)}
    gone = by_resource["exchange:00000000-0000-0000-0000-00000000dead"]
    assert gone["status"] == "failed" and "not in the tenant" in gone["error"]
    assert by_resource[good]["status"] == "succeeded" and "error" not in by_resource[good]
    [finished] = sink.events(RUN_FINISHED)
    assert (finished["status"], finished["failed"], finished["succeeded"]) == ("partial", 1, 1)
    assert sink.total("m365backup.resources", status="failed") == 1
    assert sink.total("m365backup.runs", status="partial") == 1


def test_an_interrupted_run_still_sends_its_end_with_the_status_the_alert_reads(tenant: Tenant, sink: TelemetrySink):
    """Ctrl-C (a KeyboardInterrupt in the CLI's main thread) after the first resource: the run is recorded
    `interrupted`, and run.finished says so (the run-failed alert counts interrupted runs)."""

    def press_ctrl_c(_result: dict) -> None:
        raise KeyboardInterrupt

    mailboxes = [f"exchange:{tenant.user(0)['id']}", f"exchange:{tenant.user(1)['id']}"]
    with pytest.raises(KeyboardInterrupt):
        tenant.backup(resources=mailboxes, on_resource=press_ctrl_c)
    finished = [e for e in sink.events() if e["name"] == RUN_FINISHED]
    assert len(finished) == 1 and finished[0]["status"] == "interrupted", finished
    recorded = tenant.services.runs.get(finished[0]["run_id"])
    assert recorded["status"] == "interrupted" and "KeyboardInterrupt" in finished[0]["error"]
    assert finished[0]["succeeded"] + finished[0]["failed"] + finished[0]["partial"] >= 1  # the one it finished


def test_a_verification_reports_problems_and_a_purge_its_end(tenant: Tenant, sink: TelemetrySink):
    services = tenant.services
    if not services.runs.resources():
        tenant.backup()
    assert verify(services)["status"] == "ok"
    [ok] = sink.events(VERIFICATION_FINISHED)
    assert ok["status"] == "ok" and ok["checked"] > 0 and ok["missing"] == 0 and ok["trigger"] == "cli"

    mailbox = f"exchange:{tenant.user(0)['id']}"  # backed up by the first test, or just now
    victim = next(iter(services.catalog.as_of(mailbox, "mail", services.runs.resolve_point(mailbox))))
    services.content._container.delete_blob(blob_name(victim.content_hash))  # behind the app's back
    sink.clear()
    summary = verify(services, resources=[mailbox])
    [problems] = sink.events(VERIFICATION_FINISHED)
    assert problems["status"] == "problems" == summary["status"]
    assert problems["verification_id"] == summary["verification_id"] and problems["missing"] == 1
    assert sink.total("m365backup.verification.problems", problem="missing") == 1

    summary = purge(services)  # no retention policy: nothing goes, and it says so
    [purged] = sink.events(PURGE_FINISHED)
    assert purged["purge_id"] == summary["purge_id"] and purged["status"] == summary["status"] == "succeeded"
    assert purged["points"] == 0 and purged["resources"] == summary["resources"] > 0
