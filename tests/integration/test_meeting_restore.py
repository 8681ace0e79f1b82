"""Never announce: restoring a meeting sends nothing to its attendees (no invitation for the series, no update for
its exception, no cancellation for its cancelled occurrence), while the series comes back whole and the attendees
stay readable in its body. With notify_attendees the invitations are sent, on purpose (and counted)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.events_backup import EVENT, window
from tests.integration.tenant import Tenant, open_tenant

EXTERNAL = {"type": "optional", "emailAddress": {"name": "Dana Swope", "address": "danas@fabrikam.example"}}


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=4, messages=2, seed=23, contacts=0, events=0)
    yield t
    t.close()


def inboxes(tenant: Tenant, users: list[str]) -> dict[str, int]:
    return {u: len(tenant.sim.control.list_messages(u, "inbox")) for u in users}


def instance_starts(tenant: Tenant, user: str, master: str) -> list[str]:
    url = f"users/{user}/events/{master}/instances"
    pages = tenant.services.graph.iter_pages(url, params={**window(), "$select": "id,originalStart"})
    return sorted(str(i["originalStart"]) for page in pages for i in page)


def test_a_restored_meeting_series_sends_nothing_unless_asked(tenant: Tenant):
    people = tenant.mailboxes()
    organizer, guests = people[0], people[1:4]
    user, guest_ids = organizer["id"], [g["id"] for g in guests]
    control = tenant.sim.control
    attendees = [
        {"type": "required", "status": {"response": "accepted", "time": "2026-02-20T10:00:00Z"},
         "emailAddress": {"name": guests[0]["displayName"], "address": guests[0]["mail"]}},
        {"type": "required", "emailAddress": {"name": guests[1]["displayName"], "address": guests[1]["mail"]}},
        {"type": "optional", "emailAddress": {"name": guests[2]["displayName"], "address": guests[2]["mail"]}},
        EXTERNAL,
    ]  # fmt: skip
    series = control.add_event(
        user, subject="Weekly sync & review", start="2026-03-02T10:00:00Z", end="2026-03-02T10:30:00Z",
        body={"contentType": "html", "content": "<html><body><p>Agenda: numbers</p></body></html>"},
        attendees=attendees,
        recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                    "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 8}},
    )  # fmt: skip
    exception = control.edit_occurrence(user, series["id"], index=2, shift_minutes=60, subject="Weekly sync (moved)")
    control.cancel_occurrence(user, series["id"], index=5)
    assert control.outbox() == []  # seeding through the control API sends nothing
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    resource = f"exchange:{user}"
    version = next(
        v for v in tenant.services.catalog.as_of(resource, EVENT, run["run_id"]) if v.item_id == series["id"]
    )
    backed_up_instances = sorted(json.loads(version.extra)["instances"])
    assert len(backed_up_instances) == 7  # 8 occurrences, one cancelled
    original = {e["id"]: e for e in control.pim(user)["events"]}[series["id"]]
    control.delete_event(user, series["id"])
    before = inboxes(tenant, guest_ids)

    report = restore(tenant.services, RestoreRequest(resource, run_id=run["run_id"], item_ids=(series["id"],),
                                                     category="event"))  # fmt: skip
    assert (report.restored, report.failed) == (1, 0), report.failures
    assert report.items[0]["attendees_omitted"] == "4"
    assert control.outbox() == []  # no invitation, no update, no cancellation, inside the tenant or outside
    assert inboxes(tenant, guest_ids) == before
    events = {e["id"]: e for e in control.pim(user)["events"]}
    copy = events[report.items[0]["new_id"]]
    assert copy["properties"]["attendees"] == []
    assert copy["properties"]["recurrence"] == original["properties"]["recurrence"]
    assert copy["cancelled_occurrences"] == original["cancelled_occurrences"]
    content = copy["properties"]["body"]["content"]
    assert content.startswith(
        f"<html><body><p>Restored by M365 Backup. Organizer: {organizer['displayName']} &lt;{organizer['mail']}&gt;. "
        f"Attendees: {guests[0]['displayName']} &lt;{guests[0]['mail']}&gt; (required, accepted); "
    )
    assert "Dana Swope &lt;danas@fabrikam.example&gt; (optional, none).</p><p>Agenda: numbers</p>" in content
    assert instance_starts(tenant, user, copy["id"]) == backed_up_instances  # as Graph lists them
    moved = events[copy["exception_ids"][0]]
    assert moved["subject"] == "Weekly sync (moved)" and moved["properties"]["attendees"] == []
    assert moved["properties"]["start"] == exception["properties"]["start"]

    asked = restore(tenant.services, RestoreRequest(resource, run_id=run["run_id"], item_ids=(series["id"],),
                                                    category="event", destination="new-folder",
                                                    notify_attendees=True))  # fmt: skip
    assert (asked.restored, asked.failed) == (1, 0), asked.failures
    assert "attendees_omitted" not in asked.items[0]
    sent = control.outbox()
    recipients = [a["emailAddress"]["address"] for a in attendees]
    # the series' invitation, the exception's update, the cancelled occurrence's cancellation: to each attendee
    assert sorted((e["to"], e["kind"]) for e in sent) == sorted(
        (r, kind) for r in recipients for kind in ("request", "update", "cancel")
    )
    assert all(e["delivered_to"] is None for e in sent if e["to"] == EXTERNAL["emailAddress"]["address"])
    assert inboxes(tenant, guest_ids) == {g: n + 3 for g, n in before.items()}
    copy = {e["id"]: e for e in control.pim(user)["events"]}[asked.items[0]["new_id"]]
    assert copy["properties"]["attendees"] == original["properties"]["attendees"]
    assert copy["properties"]["body"] == original["properties"]["body"]
