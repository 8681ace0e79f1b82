"""The simulator's contacts and calendars over real loopback HTTPS: folders, contact and calendarView delta, series
with an exception and a cancelled occurrence, attachments (10 MB streamed, upload session), photos, round trips."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphsim.process import SimulatorProcess, start_simulator
from tests.integration.test_graphsim import GRAPH_SCOPE, MsalAuth, msal_app, tls

WINDOW = {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-07-01T00:00:00Z"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-pim"), users=3, messages=10, seed=11, drive_files=2,
                         sites=1) as process:  # fmt: skip
        yield process


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=30) as client:
        yield client


def user_state(sim: SimulatorProcess, index: int = 0) -> dict[str, Any]:
    return [u for u in sim.control.state()["users"] if u["has_mailbox"]][index]


def run_round(graph: httpx.Client, url: str, page_size: int = 3, params: dict[str, str] | None = None) -> tuple[
    list[dict[str, Any]], str
]:  # fmt: skip
    items: list[dict[str, Any]] = []
    while True:
        response = graph.get(url, params=params, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        params = None
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
        body = response.json()
        assert len(body["value"]) <= page_size
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def test_folders_and_calendars(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim)
    uid = u["id"]
    default = next(f for f in u["contact_folders"] if f["wellKnownName"] == "contacts")
    top = graph.get(f"/users/{uid}/contactFolders").json()["value"]
    assert [f["displayName"] for f in top] == ["Family"]  # the default Contacts folder is not listed
    assert graph.get(f"/users/{uid}/contactFolders/contacts").json()["id"] == default["id"]
    children = graph.get(f"/users/{uid}/contactFolders/{default['id']}/childFolders").json()["value"]
    assert [c["displayName"] for c in children] == ["Suppliers"] and children[0]["parentFolderId"] == default["id"]
    calendars = graph.get(f"/users/{uid}/calendars").json()["value"]
    assert [(c["name"], c["isDefaultCalendar"]) for c in calendars] == [
        ("Calendar", True),
        ("Project Deadlines", False),
    ]
    assert graph.get(f"/users/{uid}/calendar").json()["id"] == calendars[0]["id"]
    missing = graph.get(f"/users/{uid}/contacts/AAMkAnothere=")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


def test_contact_delta_full_incremental_and_photo(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim)
    uid = u["id"]
    default = next(f for f in u["contact_folders"] if f["wellKnownName"] == "contacts")
    expected = {c["id"]: c for c in u["contacts"] if c["folder_id"] == default["id"]}
    items, delta_link = run_round(graph, f"/users/{uid}/contactFolders/{default['id']}/contacts/delta", 2)
    assert {i["id"] for i in items} == set(expected) and all(i["parentFolderId"] == default["id"] for i in items)
    selected, _ = run_round(graph, f"/users/{uid}/contacts/delta", 2, {"$select": "displayName"})
    assert {i["id"] for i in selected} == set(expected) and set(selected[0]) <= {"@odata.type", "@odata.etag", "id",
                                                                                   "displayName"}  # fmt: skip
    with_photo = next(c for c in u["contacts"] if c["photo_sha256"])
    photo = graph.get(f"/users/{uid}/contacts/{with_photo['id']}/photo/$value")
    assert photo.status_code == 200 and hashlib.sha256(photo.content).hexdigest() == with_photo["photo_sha256"]
    without = next(c for c in u["contacts"] if not c["photo_sha256"])
    none = graph.get(f"/users/{uid}/contacts/{without['id']}/photo/$value")
    assert none.status_code == 404 and none.json()["error"]["code"] == "ImageNotFound"
    # changes: add, update, delete, and a photo put through Graph
    ids = list(expected)
    added = sim.control.add_contact(uid, properties={"givenName": "Zoë", "surname": "Ærø", "mobilePhone": "+1 1"})
    sim.control.update_contact(uid, ids[0], {"jobTitle": "Chief Ünicode Officer"})
    sim.control.delete_contact(uid, ids[1])
    new_photo = b"\xff\xd8\xff\xe0" + b"photo" * 100 + b"\xff\xd9"
    put = graph.put(f"/users/{uid}/contacts/{ids[2]}/photo/$value", content=new_photo,
                    headers={"Content-Type": "image/jpeg"})  # fmt: skip
    assert put.status_code == 200
    changes, _ = run_round(graph, delta_link, 2)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {added["id"], ids[0], ids[1], ids[2]}
    assert by_id[ids[1]]["@removed"] == {"reason": "deleted"}
    assert by_id[ids[0]]["jobTitle"] == "Chief Ünicode Officer" and by_id[added["id"]]["displayName"] == "Zoë Ærø"
    state = {c["id"]: c for c in user_state(sim)["contacts"]}
    assert state[ids[2]]["photo_sha256"] == hashlib.sha256(new_photo).hexdigest()


def test_contact_create_round_trip_equals_state(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim, 1)
    uid = u["id"]
    original = next(c for c in u["contacts"] if c["photo_sha256"])
    source = graph.get(f"/users/{uid}/contacts/{original['id']}").json()
    photo = graph.get(f"/users/{uid}/contacts/{original['id']}/photo/$value").content
    folder = graph.post(f"/users/{uid}/contactFolders", json={"displayName": "Restored 2026"}).json()
    body = {k: v for k, v in source.items() if not k.startswith("@") and k not in (
        "id", "changeKey", "parentFolderId", "createdDateTime", "lastModifiedDateTime")}  # fmt: skip
    created = graph.post(f"/users/{uid}/contactFolders/{folder['id']}/contacts", json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert graph.put(f"/users/{uid}/contacts/{cid}/photo/$value", content=photo,
                     headers={"Content-Type": "image/jpeg"}).status_code == 200  # fmt: skip
    restored = {c["id"]: c for c in user_state(sim, 1)["contacts"]}[cid]
    assert restored["sha256"] == original["sha256"] and restored["photo_sha256"] == original["photo_sha256"]
    assert restored["folder_id"] == folder["id"]


def test_series_instances_show_the_exception_and_miss_the_cancelled(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim)
    uid = u["id"]
    master = next(e for e in u["events"] if e["type"] == "seriesMaster" and e["subject"] == "Team standup")
    assert master["cancelled_occurrences"] == ["2026-04-06T10:00:00Z"] and len(master["exception_ids"]) == 1
    got = graph.get(f"/users/{uid}/events/{master['id']}").json()
    assert got["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]
    assert got["recurrence"]["range"] == {"type": "numbered", "startDate": "2026-03-02", "endDate": "0001-01-01",
                                          "recurrenceTimeZone": "UTC", "numberOfOccurrences": 10}  # fmt: skip
    response = graph.get(f"/users/{uid}/events/{master['id']}/instances", params={**WINDOW, "$top": 50})
    instances = response.json()["value"]
    assert len(instances) == 9 and all(i["seriesMasterId"] == master["id"] for i in instances)
    types = [i["type"] for i in instances]
    assert types.count("exception") == 1 and types.count("occurrence") == 8
    exception = next(i for i in instances if i["type"] == "exception")
    assert exception["id"] == master["exception_ids"][0] and exception["start"]["dateTime"].startswith("2026-03-16T11")
    assert exception["originalStart"] == "2026-03-16T10:00:00Z" and "moved" in exception["subject"]
    assert "2026-04-06T10:00:00Z" not in {i["originalStart"] for i in instances}
    # one more exception and one more cancellation through the control API show up the same way
    sim.control.edit_occurrence(uid, master["id"], index=0, subject="First standup", shift_minutes=30)
    sim.control.cancel_occurrence(uid, master["id"], index=9)
    again = graph.get(f"/users/{uid}/events/{master['id']}/instances", params={**WINDOW, "$top": 50}).json()["value"]
    assert len(again) == 8 and again[0]["subject"] == "First standup" and again[0]["type"] == "exception"
    assert again[0]["start"]["dateTime"] == "2026-03-02T10:30:00.0000000"


def test_event_delta_full_and_incremental(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim, 2)
    uid, cal = u["id"], u["calendars"][0]["id"]
    url = f"/users/{uid}/calendars/{cal}/calendarView/delta"
    refused = graph.get(url, params={**WINDOW, "$select": "subject"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ErrorInvalidUrlQuery"
    items, delta_link = run_round(graph, url, 4, dict(WINDOW))
    types = {i["type"] for i in items}
    assert types == {"singleInstance", "occurrence", "exception"}  # calendarView: no series master
    master = next(e for e in u["events"] if e["subject"] == "Team standup")
    assert sum(i.get("seriesMasterId") == master["id"] for i in items) == 9
    default_view, _ = run_round(graph, f"/users/{uid}/calendarView/delta", 50, dict(WINDOW))
    assert {i["id"] for i in default_view} == {i["id"] for i in items}
    single = next(e for e in u["events"] if e["type"] == "singleInstance" and e["calendar_id"] == cal)
    added = sim.control.add_event(uid, subject="Added in window", start="2026-03-20T08:00:00Z")
    sim.control.update_event(uid, single["id"], subject="Renamed")
    outside = sim.control.add_event(uid, subject="Far future", start="2027-01-10T08:00:00Z")
    cancelled = sim.control.cancel_occurrence(uid, master["id"], index=1)
    changes, next_link = run_round(graph, delta_link, 2)
    by_id = {c["id"]: c for c in changes}
    assert by_id[added["id"]]["subject"] == "Added in window" and by_id[single["id"]]["subject"] == "Renamed"
    assert by_id[cancelled["id"]]["@removed"] == {"reason": "deleted"}
    assert by_id[outside["id"]]["@removed"] == {"reason": "deleted"}  # changed outside the window: @removed
    sim.control.delete_event(uid, added["id"])
    last, _ = run_round(graph, next_link, 2)
    assert last == [{"@odata.type": "#microsoft.graph.event", "id": added["id"], "@removed": {"reason": "deleted"}}]


def test_attachments_big_streamed_small_and_upload_session(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim)
    uid = u["id"]
    deck = next(e for e in u["events"] if any(a["size"] == 10 * 1024 * 1024 for a in e["attachments"]))
    listing = graph.get(f"/users/{uid}/events/{deck['id']}/attachments").json()["value"]
    big = listing[0]
    assert big["@odata.type"] == "#microsoft.graph.fileAttachment" and "contentBytes" not in big
    digest = hashlib.sha256()
    with graph.stream("GET", f"/users/{uid}/events/{deck['id']}/attachments/{big['id']}/$value") as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == deck["attachments"][0]["sha256"]
    small_event = next(e for e in u["events"] if e["attachments"] and e["id"] != deck["id"])
    small = graph.get(f"/users/{uid}/events/{small_event['id']}/attachments").json()["value"][0]
    data = base64.b64decode(small["contentBytes"])
    assert hashlib.sha256(data).hexdigest() == small_event["attachments"][0]["sha256"]
    # upload session round trip (3.5 MB in three ranges), then a small POST
    target = sim.control.add_event(uid, subject="Upload target")
    payload = bytes(range(256)) * (3_500_000 // 256)
    session = graph.post(
        f"/users/{uid}/events/{target['id']}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": len(payload)}},
    )
    assert session.status_code == 201 and session.json()["nextExpectedRanges"] == ["0-"]
    upload_url = session.json()["uploadUrl"]
    with httpx.Client(verify=tls(sim)) as anonymous:  # pre-authenticated URL: no bearer token
        step, sent, last = 1_600_000, 0, None
        while sent < len(payload):
            part = payload[sent : sent + step]
            headers = {"Content-Range": f"bytes {sent}-{sent + len(part) - 1}/{len(payload)}",
                       "Content-Type": "application/octet-stream"}  # fmt: skip
            last = anonymous.put(upload_url, content=part, headers=headers)
            sent += len(part)
            if sent < len(payload):
                assert last.status_code == 200 and last.json()["nextExpectedRanges"] == [str(sent)]
    assert last is not None and last.status_code == 201
    attachment_id = last.headers["Location"].rsplit("Attachments('", 1)[1].rstrip("')")
    got = graph.get(f"/users/{uid}/events/{target['id']}/attachments/{attachment_id}/$value")
    assert got.content == payload
    posted = graph.post(f"/users/{uid}/events/{target['id']}/attachments", json={
        "@odata.type": "#microsoft.graph.fileAttachment", "name": "small.txt", "contentType": "text/plain",
        "contentBytes": base64.b64encode(b"hello").decode()})  # fmt: skip
    assert posted.status_code == 201
    state = next(e for e in user_state(sim)["events"] if e["id"] == target["id"])
    assert {a["name"]: a["sha256"] for a in state["attachments"]} == {
        "big.bin": hashlib.sha256(payload).hexdigest(),
        "small.txt": hashlib.sha256(b"hello").hexdigest(),
    }


def test_event_restore_round_trip_equals_state(graph: httpx.Client, sim: SimulatorProcess) -> None:
    """Recreate the series (master, then PATCH an occurrence, cancel another) and a single event in a new calendar:
    the simulator's canonical hashes of the copies equal the originals'."""
    u = user_state(sim, 1)
    uid = u["id"]
    by_id = {e["id"]: e for e in u["events"]}
    master = next(e for e in u["events"] if e["subject"] == "Team standup")
    exception = by_id[master["exception_ids"][0]]
    single = next(e for e in u["events"] if e["type"] == "singleInstance" and not e["attachments"])
    calendar = graph.post(f"/users/{uid}/calendars", json={"name": "Restored"}).json()

    def body_of(event_id: str) -> dict[str, Any]:
        source = graph.get(f"/users/{uid}/events/{event_id}").json()
        keep = ("subject", "body", "start", "end", "location", "attendees", "isAllDay", "showAs", "importance",
                "sensitivity", "categories", "recurrence", "isReminderOn", "reminderMinutesBeforeStart")  # fmt: skip
        return {k: source[k] for k in keep if source.get(k) is not None}

    new_single = graph.post(f"/users/{uid}/calendars/{calendar['id']}/events", json=body_of(single["id"])).json()
    new_master = graph.post(f"/users/{uid}/calendars/{calendar['id']}/events", json=body_of(master["id"])).json()
    instances = graph.get(f"/users/{uid}/events/{new_master['id']}/instances", params={**WINDOW, "$top": 50})
    by_original = {i["originalStart"]: i for i in instances.json()["value"]}
    exc_json = graph.get(f"/users/{uid}/events/{exception['id']}").json()
    patched = graph.patch(f"/users/{uid}/events/{by_original[exception['originalStart']]['id']}",
                          json={k: exc_json[k] for k in ("subject", "start", "end")})  # fmt: skip
    assert patched.status_code == 200 and patched.json()["type"] == "exception"
    for original in master["cancelled_occurrences"]:
        cancel = graph.post(f"/users/{uid}/events/{by_original[original]['id']}/cancel", json={"comment": "x"})
        assert cancel.status_code == 202
    after = {e["id"]: e for e in user_state(sim, 1)["events"]}
    assert after[new_single["id"]]["sha256"] == single["sha256"]
    assert after[new_master["id"]]["properties"] == master["properties"]
    assert after[new_master["id"]]["cancelled_occurrences"] == master["cancelled_occurrences"]
    new_exception = after[after[new_master["id"]]["exception_ids"][0]]
    assert new_exception["sha256"] == exception["sha256"]


def test_expired_tokens_answer_410(graph: httpx.Client, sim: SimulatorProcess) -> None:
    u = user_state(sim, 2)
    uid = u["id"]
    _, contacts_link = run_round(graph, f"/users/{uid}/contacts/delta", 50)
    _, events_link = run_round(graph, f"/users/{uid}/calendarView/delta", 50, dict(WINDOW))
    first = graph.get(f"/users/{uid}/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=1"})
    skip_link = first.json()["@odata.nextLink"]
    sim.control.expire_pim_delta_tokens(uid)
    for url in (contacts_link, events_link, skip_link):
        gone = graph.get(url)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "SyncStateNotFound"
    assert graph.get(f"/users/{uid}/contacts/delta").status_code == 200  # a fresh round works


def test_fifth_concurrent_request_across_mail_contacts_calendar_is_throttled(sim: SimulatorProcess) -> None:
    uid = user_state(sim)["id"]
    sim.control.configure(latency_ms=500)
    sim.control.reset_stats()
    urls = [f"/users/{uid}/mailFolders/inbox", f"/users/{uid}/contacts", f"/users/{uid}/calendars",
            f"/users/{uid}/contactFolders", f"/users/{uid}/calendar/events"]  # fmt: skip

    async def burst() -> list[httpx.Response]:
        token = msal_app(sim).acquire_token_for_client(scopes=GRAPH_SCOPE)["access_token"]
        async with httpx.AsyncClient(base_url=f"{sim.base_url}/v1.0", verify=tls(sim),
                                     headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
            return await asyncio.gather(*(client.get(url) for url in urls))

    try:
        responses = asyncio.run(burst())
    finally:
        sim.control.configure(latency_ms=0)
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled" and throttled.headers["Retry-After"]
    stats = sim.control.stats()
    assert stats["max_in_flight"][uid] == 4
    assert stats["by_kind"]["contacts"] + stats["by_kind"]["calendars"] + stats["by_kind"]["events"] >= 2
