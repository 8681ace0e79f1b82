"""Never twice: contacts and events restored while the target mailbox's connections are reset after Graph has done
the work (a quarter of all requests: the create landed, its answer did not) come back exactly once each, and a
second run of the same restore with "skip" lands nothing, whether into a 'Restored …' folder or the original
calendars."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from core.graph.retry import RetryPolicy
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.contacts_backup import CONTACT
from core.workloads.exchange.events_backup import EVENT
from tests.integration.tenant import Tenant, open_tenant

FAST = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, policy=FAST, users=2, messages=2, seed=29, contacts=24, events=22)
    yield t
    t.close()


def resets(tenant: Tenant, user: str) -> None:
    tenant.sim.control.set_faults({"kind": "reset_response", "ratio": 0.25, "user": user})


def test_contacts_restore_exactly_once_into_a_new_folder_despite_resets(tenant: Tenant):
    user = tenant.user(1)["id"]
    resource = f"exchange:{user}"
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    expected = len(list(tenant.services.catalog.as_of(resource, CONTACT, run["run_id"])))
    assert expected >= 20
    before = {c["id"]: c for c in tenant.sim.control.pim(user)["contacts"]}
    request = RestoreRequest(resource, whole=True, destination="new-folder", destination_name="Restored once",
                             category="contact")  # fmt: skip
    resets(tenant, user)
    report = restore(tenant.services, request)
    assert (report.restored, report.skipped, report.failed) == (expected, 0, 0), report.failures
    assert tenant.sim.control.stats()["resets"] > 0 and tenant.services.graph.stats()["ambiguous_writes"] > 0
    after = {c["id"]: c for c in tenant.sim.control.pim(user)["contacts"]}
    new = [c for c in after.values() if c["id"] not in before]
    assert len(new) == expected
    assert sorted(c["sha256"] for c in new) == sorted(c["sha256"] for c in before.values())  # one copy of each
    assert {i["new_id"] for i in report.items} == {c["id"] for c in new}

    again = restore(tenant.services, request)
    assert (again.restored, again.skipped, again.failed) == (0, expected, 0), again.failures
    assert len(tenant.sim.control.pim(user)["contacts"]) == len(after)


def test_events_restore_exactly_once_into_the_original_calendars_despite_resets(tenant: Tenant):
    user = tenant.user(1)["id"]
    resource = f"exchange:{user}"
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    control = tenant.sim.control
    original = control.pim(user)["events"]
    tops = [e for e in original if e["type"] != "exception"]
    assert len(tops) >= 20 and any(e["type"] == "seriesMaster" and e["exception_ids"] for e in tops)
    versions = [v for v in tenant.services.catalog.as_of(resource, EVENT, run["run_id"])]
    expected = sum(1 for v in versions if v.item_id in {e["id"] for e in tops})
    assert expected == len(tops)
    for event in tops:
        control.delete_event(user, event["id"])
    request = RestoreRequest(resource, whole=True, category="event")
    resets(tenant, user)
    report = restore(tenant.services, request)
    assert (report.restored, report.skipped, report.failed) == (expected, 0, 0), report.failures
    assert control.stats()["resets"] > 0 and tenant.services.graph.stats()["ambiguous_writes"] > 0
    now = control.pim(user)["events"]

    def shape(events: list[dict]) -> Counter:
        """What each event is, ids left out: one copy of each, the series with their exceptions and cancellations."""
        return Counter((e["type"], e["calendar_id"], e["subject"], e["properties"]["start"]["dateTime"],
                        len(e["attachments"]), len(e.get("exception_ids") or []),
                        tuple(e.get("cancelled_occurrences") or [])) for e in events)  # fmt: skip

    assert shape(now) == shape(original)
    assert control.outbox() == []  # the seeded events have tenant attendees: nothing was sent to them

    again = restore(tenant.services, request)
    assert (again.restored, again.skipped, again.failed) == (0, expected, 0), again.failures
    assert len(control.pim(user)["events"]) == len(now)
