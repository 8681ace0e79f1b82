"""Issue 11 for mailboxes: nothing the tenant still holds is missing from a restore point. A 404 on content is no
deletion until a read by id says so; an item that keeps failing is held in the quarantine (a failure of every run
that lacks it) while its folder's delta link moves on, and is retried by id at every run; links are sent exactly
as Graph handed them out; an occurrence whose series master cannot be read is never dropped in silence."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.workloads.exchange.events_backup import EVENT
from tests.integration.days import at, when
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=10, seed=23, contacts=0, events=0)
    yield t
    t.close()


def _resource(tenant: Tenant) -> tuple[str, str]:
    user = tenant.user(0)["id"]
    return user, f"exchange:{user}"


def test_a_transient_404_on_a_message_value_is_held_and_captured_next_run(tenant: Tenant):
    """Issue 11 item 1: a 404 on /messages/{id}/$value while the message exists loses nothing: a read by id finds
    it, so it is a failed item of the run (held), and the next run captures it."""
    user, resource = _resource(tenant)
    victim = sorted(tenant.live_messages(user))[2]
    tenant.sim.control.set_faults({"kind": "not_found", "user": user, "item": victim, "endpoint": "value"})
    first = tenant.backup()
    assert first["status"] == "partial", first
    assert victim not in tenant.catalog_messages(user, first["run_id"])
    assert [h.item_id for h in tenant.services.quarantine.held_in_run(resource, first["run_id"])] == [victim]

    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert tenant.catalog_messages(user, second["run_id"]) == tenant.live_messages(user)
    (row,) = tenant.services.quarantine.history(resource)
    assert (row.released_run, row.released_as) == (second["run_id"], "captured")


def test_a_permanently_failing_message_is_held_while_its_folder_link_moves_on(tenant: Tenant):
    """Issue 11 item 4: a message whose $value always fails is held with its error and counted as failed at every
    run, while its folder's delta link is saved each run (changes after it are captured incrementally); once it can
    be read it is captured and released."""
    user, resource = _resource(tenant)
    control = tenant.sim.control
    live = tenant.live_messages(user)
    bad = sorted(live)[3]
    folder = live[bad][0]
    control.set_faults({"kind": "corrupt_message", "user": user, "message": bad})
    first = tenant.backup()
    assert first["status"] == "partial" and first["results"][0]["failed_items"] == 1, first
    assert tenant.services.delta_state.load(resource)[("mail", folder)].run_id == first["run_id"]

    added = control.add_message(user, folder=folder, subject="After the bad one")
    second = tenant.backup()
    assert second["status"] == "partial", second
    captured = tenant.catalog_messages(user, second["run_id"])
    assert added["id"] in captured and bad not in captured
    (held,) = tenant.services.quarantine.held(resource, "mail")
    assert (held.item_id, held.container_id, held.first_run, held.attempts) == (bad, folder, first["run_id"], 2)
    assert "500" in held.error
    assert tenant.services.delta_state.load(resource)[("mail", folder)].run_id == second["run_id"]
    point = next(p for p in tenant.services.runs.points(resource) if p["run_id"] == second["run_id"])
    assert any(bad in f["item"] for f in point["failures"])

    control.clear_faults()
    third = tenant.backup()
    assert third["status"] == "succeeded", third
    assert tenant.catalog_messages(user, third["run_id"]) == tenant.live_messages(user)
    assert not tenant.services.quarantine.held(resource)


def test_a_held_message_deleted_from_the_mailbox_is_released_as_deleted(tenant: Tenant):
    """Issue 11 items 1 and 4: only a 404 on the read by id is a deletion: a held message that is then deleted is
    released as deleted and the run succeeds."""
    user, resource = _resource(tenant)
    control = tenant.sim.control
    bad = sorted(tenant.live_messages(user))[5]
    control.set_faults({"kind": "not_found", "user": user, "item": bad, "endpoint": "value", "count": None})
    first = tenant.backup()
    assert first["status"] == "partial", first
    control.delete_message(user, bad)
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert tenant.catalog_messages(user, second["run_id"]) == tenant.live_messages(user)
    (row,) = tenant.services.quarantine.history(resource)
    assert (row.released_run, row.released_as) == (second["run_id"], "deleted")


def test_links_without_a_query_string_are_sent_exactly_as_received(tenant: Tenant):
    """Issue 11 item 9: delta links shaped as OData function calls with no '?' (.../delta(token='...')) are sent
    back exactly as received: no query is appended, and incremental rounds of mail and calendars work."""
    user, resource = _resource(tenant)
    control = tenant.sim.control
    control.configure(link_style="function")
    control.add_event(user, subject="Planning", start=at(3, 9), end=at(3, 10))
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    links = [s.delta_link for s in tenant.services.delta_state.load(resource).values()]
    assert links and all("?" not in link and "(token='" in link for link in links)

    control.add_message(user, subject="New after the first run")
    event = control.add_event(user, subject="Review", start=at(4, 9), end=at(4, 10))
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    assert tenant.catalog_messages(user, second["run_id"]) == tenant.live_messages(user)
    events = {v.item_id for v in tenant.services.catalog.as_of(resource, EVENT, second["run_id"])}
    assert event["id"] in events


def test_an_occurrence_whose_series_master_answers_404_is_held_not_dropped(tenant: Tenant):
    """Issue 11 item 10a: when an occurrence's series master answers 404, the series is a failed item of the run
    (held, listed), not silently left out; the next run reads it by id and captures it."""
    user, resource = _resource(tenant)
    control = tenant.sim.control
    recurrence = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [when(1).strftime("%A").lower()]},
                  "range": {"type": "numbered", "startDate": when(1).date().isoformat(),
                            "numberOfOccurrences": 5}}  # fmt: skip
    series = control.add_event(user, subject="Weekly sync", start=at(1, 10), end=at(1, 11), recurrence=recurrence)
    control.set_faults({"kind": "not_found", "user": user, "item": series["id"], "endpoint": "events"})
    first = tenant.backup()
    assert first["status"] == "partial", first
    assert series["id"] not in {v.item_id for v in tenant.services.catalog.as_of(resource, EVENT, first["run_id"])}
    assert [h.item_id for h in tenant.services.quarantine.held(resource, EVENT)] == [series["id"]]

    second = tenant.backup()
    assert second["status"] == "succeeded", second
    versions = {v.item_id: v for v in tenant.services.catalog.as_of(resource, EVENT, second["run_id"])}
    assert len(json.loads(versions[series["id"]].extra)["instances"]) == 5
    assert not tenant.services.quarantine.held(resource)
