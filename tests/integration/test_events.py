"""Calendars end to end: series masters (with their instances), exceptions, single events and file attachments,
backed up with the mailbox through calendarView delta."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import icalendar
import pytest

from core.exports.events_export import export_events_ics
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.events_backup import EVENT, window
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=2, seed=19, contacts=0)
    yield t
    t.close()


def kept(tenant: Tenant) -> dict[str, dict]:
    """What a backup should hold: every event but plain occurrences (their series master stands for them)."""
    return {e["id"]: e for e in tenant.user(0)["events"] if e["type"] != "occurrence"}


def test_series_exceptions_cancellations_and_attachments_are_backed_up(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    expected = kept(tenant)
    versions = {v.item_id: v for v in tenant.services.catalog.as_of(resource, EVENT, first["run_id"])}
    assert set(versions) == set(expected)
    assert {e["type"] for e in expected.values()} >= {"seriesMaster", "exception", "singleInstance"}

    standup = next(e for e in expected.values() if e["type"] == "seriesMaster" and e["exception_ids"])
    instances = json.loads(versions[standup["id"]].extra)["instances"]
    assert len(instances) == 9  # 10 occurrences, one cancelled (the exception is still an instance)
    big = next(e for e in expected.values() if any(a["size"] >= 10_000_000 for a in e["attachments"]))
    stored = json.loads(versions[big["id"]].extra)["attachments"]
    assert sorted(a["sha256"] for a in stored) == sorted(a["sha256"] for a in big["attachments"])
    assert all(tenant.services.content.exists(a["sha256"]) for a in stored)

    control = tenant.sim.control
    single = next(e for e in expected.values() if e["type"] == "singleInstance" and not e["attachments"])
    control.update_event(user, single["id"], subject="Moved to the big room")
    control.cancel_occurrence(user, standup["id"], index=7)
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    now = {v.item_id: v for v in tenant.services.catalog.as_of(resource, EVENT, second["run_id"])}
    assert set(now) == set(kept(tenant))
    assert now[single["id"]].name == "Moved to the big room"
    assert len(json.loads(now[standup["id"]].extra)["instances"]) == 8  # the new cancellation is known
    assert len(json.loads(versions[standup["id"]].extra)["instances"]) == 9  # and the first run is untouched


def test_a_deleted_series_and_an_event_with_a_10_mb_attachment_come_back_equal(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    first = tenant.backup()
    before = kept(tenant)
    standup = next(e for e in before.values() if e["type"] == "seriesMaster" and e["exception_ids"])
    exceptions = [e for e in before.values() if e.get("seriesMasterId") == standup["id"]]
    big = next(e for e in before.values() if any(a["size"] >= 10_000_000 for a in e["attachments"]))
    control = tenant.sim.control
    control.delete_event(user, standup["id"])
    control.delete_event(user, big["id"])
    tenant.backup()

    report = restore(
        tenant.services,
        RestoreRequest(resource, run_id=first["run_id"], item_ids=(standup["id"], big["id"]), category="event"),
    )
    assert (report.restored, report.failed) == (2, 0), report.failures
    now = {e["id"]: e for e in tenant.user(0)["events"]}
    new_ids = {i["item_id"]: i["new_id"] for i in report.items}
    series = now[new_ids[standup["id"]]]
    assert series["sha256"] == standup["sha256"]  # every property the simulator holds, recurrence included
    url = f"users/{user}/events/{series['id']}/instances"
    instances = [i for page in tenant.services.graph.iter_pages(url, params=window()) for i in page]
    assert len(instances) == 9  # the cancelled occurrence stays cancelled
    restored_exceptions = [e for e in now.values() if e.get("seriesMasterId") == series["id"]]
    assert sorted(e["sha256"] for e in restored_exceptions) == sorted(e["sha256"] for e in exceptions)
    copy = now[new_ids[big["id"]]]
    assert copy["sha256"] == big["sha256"]
    assert sorted(a["sha256"] for a in copy["attachments"]) == sorted(a["sha256"] for a in big["attachments"])


def test_events_export_as_ics_parses_back(tenant: Tenant):
    user = tenant.user(0)["id"]
    tenant.backup()
    out = io.BytesIO()
    result = export_events_ics(tenant.services, f"exchange:{user}", None, out)
    calendar = icalendar.Calendar.from_ical(out.getvalue())
    vevents = [c for c in calendar.walk("VEVENT")]
    assert result["events"] == len(kept(tenant)) == len(vevents)
    assert any("RRULE" in v for v in vevents) and any("RECURRENCE-ID" in v for v in vevents)
    assert {str(v["SUMMARY"]) for v in vevents} == {e["subject"] for e in kept(tenant).values()}


def test_an_event_moved_out_of_the_window_is_kept_and_a_deleted_one_is_not(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    tenant.backup()
    singles = sorted((e for e in kept(tenant).values() if e["type"] == "singleInstance"), key=lambda e: e["id"])
    far, gone = singles[0], singles[1]
    control = tenant.sim.control
    control.update_event(user, far["id"], start="2045-06-01T09:00:00Z", end="2045-06-01T10:00:00Z")
    control.delete_event(user, gone["id"])
    run = tenant.backup()
    live = {v.item_id for v in tenant.services.catalog.as_of(resource, EVENT, run["run_id"])}
    assert far["id"] in live  # reported removed by calendarView delta (out of the window), still in the mailbox
    assert gone["id"] not in live
    stats = tenant.sim.control.stats()
    assert stats["answered_429"] == 0 and max(stats["max_in_flight"].values()) <= 4  # one mailbox budget
