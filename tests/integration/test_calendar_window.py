"""Issue 11 for calendars: the calendarView window moves (a new full round over today's window, losing nothing), a
series restores over the window its version was backed up in, and a cancelled occurrence costs reads of the series
that changed, not of every event in the calendar."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.bootstrap import build_services
from core.config import load_settings
from core.restore import restore
from core.restore_request import RestoreRequest
from core.runner import run_backup
from core.workloads.container_delta import anchor_of
from core.workloads.exchange.events_backup import EVENT, window
from tests.integration.days import at, when
from tests.integration.tenant import Tenant, open_tenant

SMALL = {"BACKUP_CALENDAR_PAST_DAYS": "30", "BACKUP_CALENDAR_FUTURE_DAYS": "30"}


@pytest.fixture
def small_window(tmp_path, storage_env) -> Iterator[Tenant]:
    """A mailbox with empty calendars, backed up over a window of 30 days either side of today."""
    tenant = open_tenant(tmp_path / "sim", storage_env, settings=SMALL, users=1, messages=1, seed=29, contacts=0,
                         events=0)  # fmt: skip
    yield tenant
    tenant.close()


def _live_events(tenant: Tenant, resource: str, run_id: str) -> dict[str, str]:
    """item id -> first seen run, of the event versions live at `run_id`."""
    return {v.item_id: v.first_seen_run for v in tenant.services.catalog.as_of(resource, EVENT, run_id)}


def test_the_calendar_window_moves_to_today_and_loses_nothing(small_window: Tenant):
    """Issue 11 item 6: the window is a setting and is saved with the round chain; once today's window reaches
    beyond the saved one, a new full round over today's window captures what the old one could not see, keeps
    events that fell out of the window (still in the mailbox) and ends only those a read by id shows gone."""
    tenant = small_window
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    older = control.add_event(user, subject="Older", start=at(-20, 9), end=at(-20, 10))
    soon = control.add_event(user, subject="Soon", start=at(5, 9), end=at(5, 10))
    later = control.add_event(user, subject="Later", start=at(45, 9), end=at(45, 10))
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    assert set(_live_events(tenant, resource, first["run_id"])) == {older["id"], soon["id"]}

    control.delete_event(user, soon["id"])
    moved_settings = {"BACKUP_CALENDAR_PAST_DAYS": "10", "BACKUP_CALENDAR_FUTURE_DAYS": "60"}
    moved = build_services(load_settings({**tenant.env, **moved_settings}))
    try:
        second = run_backup(moved)
    finally:
        moved.close()
    assert second["status"] == "succeeded", second
    live = _live_events(tenant, resource, second["run_id"])
    assert set(live) == {older["id"], later["id"]}
    assert live[older["id"]] == first["run_id"]  # out of the new window, still there: the same version
    states = [s for (category, _), s in tenant.services.delta_state.load(resource).items() if category == EVENT]
    today = window(past_days=10, future_days=60)
    assert states and all(anchor_of(s) == today for s in states)


def test_a_series_restores_over_the_window_its_version_was_backed_up_in(small_window: Tenant):
    """Issue 11 item 6: restore lists the new series' instances over the window of the version being restored, so
    occurrences beyond that window (never seen by the backup) are not taken for cancelled ones and deleted."""
    tenant = small_window
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    first_day = when(-14)
    recurrence = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first_day.strftime("%A").lower()]},
                  "range": {"type": "numbered", "startDate": first_day.date().isoformat(),
                            "numberOfOccurrences": 20}}  # fmt: skip
    series = control.add_event(user, subject="Long series", start=at(-14, 10), end=at(-14, 11),
                               recurrence=recurrence)  # fmt: skip
    control.cancel_occurrence(user, series["id"], index=1)
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    control.delete_event(user, series["id"])

    report = restore(
        tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(series["id"],), category=EVENT)
    )
    assert (report.restored, report.failed) == (1, 0), report.failures
    new_id = report.items[0]["new_id"]
    url = f"users/{user}/events/{new_id}/instances"
    wide = window(past_days=60, future_days=400)
    instances = [i for page in tenant.services.graph.iter_pages(url, params=wide) for i in page]
    assert len(instances) == 19  # twenty, less the one cancelled before the backup


def test_a_cancelled_occurrence_costs_reads_of_the_changed_series_only(tmp_path, storage_env):
    """Issue 11 item 7: a removal of an id the catalog does not hold (a cancelled occurrence) no longer reads
    every event of the calendar: one listing of ids and change keys, then a read of the series that changed."""
    tenant = open_tenant(tmp_path / "sim", storage_env, users=1, messages=1, seed=37, contacts=0, events=60)
    try:
        user = tenant.user(0)["id"]
        resource = f"exchange:{user}"
        control = tenant.sim.control
        first = tenant.backup()
        assert first["status"] == "succeeded", first
        standup = next(e for e in control.pim(user)["events"] if e["type"] == "seriesMaster" and e["exception_ids"])
        control.cancel_occurrence(user, standup["id"], index=7)
        control.reset_stats()
        second = tenant.backup()
        assert second["status"] == "succeeded", second
        assert control.stats()["by_kind"]["events"] <= 3  # was one read per event of the calendar (40 here)
        versions = {v.item_id: v for v in tenant.services.catalog.as_of(resource, EVENT, second["run_id"])}
        assert len(json.loads(versions[standup["id"]].extra)["instances"]) == 8
    finally:
        tenant.close()
