"""Browsing and searching backups end to end (the simulator over loopback HTTPS, Azurite): every search filter for
mail (recipients and attachments included), contacts, events and files; paging with continuation tokens (no
duplicates, no gaps, one run for every page, tampered tokens refused); folder listings as of a run."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.browse import ItemQuery, find_items, list_tree, search_page
from core.errors import InvalidRequestError, NotFoundError
from core.storage.catalog import ItemVersion
from core.workloads.exchange.mail_backup import MAIL
from tests.integration.tenant import Tenant, open_tenant

DRIVES = {"BACKUP_WORKLOADS": "onedrive", "GRAPH_PAGE_SIZE": "5"}


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=40, seed=41, contacts=5, events=0)
    yield t
    t.close()


@pytest.fixture
def drive_tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, DRIVES, users=1, messages=1, seed=43, sites=0, events=0)
    yield t
    t.close()


def _ids(services, query: ItemQuery) -> set[str]:
    return {i["id"] for i in find_items(services, query)[1]}


def _all_pages(services, query: ItemQuery, page_size: int) -> tuple[list[str], int, set[str]]:
    """(ids in page order, number of pages, runs the pages read)."""
    ids, pages, runs, token = [], 0, set(), None
    while True:
        page = search_page(services, query, page_size, token)
        assert len(page.items) <= page_size
        ids += [i["id"] for i in page.items]
        pages, token = pages + 1, page.continuation
        runs.add(page.run_id)
        if token is None:
            return ids, pages, runs


def test_every_mail_filter_including_recipients_and_attachments(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    projects = control.create_folder(user, "Zeta Planning", parent="inbox")
    to = [("Alice", "Alice.Baker@Budget-Team.example"), ("Bob", "bob@budget-team.example"),
          ("A", "alice.baker@budget-team.example")]  # fmt: skip
    sender = ("Erin Ruiz", "erin@zeta-fabrikam.example")
    budget = control.add_message(user, projects["id"], subject="Budget 2026 draft", sender=sender, to=to, attachments=2)
    plain = control.add_message(user, "inbox", subject="Lunch?", to=[("Carol", "carol@lunch-club.example")])
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    versions = {v.item_id: v for v in tenant.services.catalog.as_of(resource, MAIL, run["run_id"])}
    assert versions[budget["id"]].recipients == "alice.baker@budget-team.example;bob@budget-team.example"
    assert versions[plain["id"]].recipients == "carol@lunch-club.example"
    services = tenant.services

    assert _ids(services, ItemQuery(resource, recipient="ALICE.baker@")) == {budget["id"]}
    assert _ids(services, ItemQuery(resource, recipient="budget-team.example")) == {budget["id"]}
    assert _ids(services, ItemQuery(resource, recipient="lunch-club")) == {plain["id"]}
    with_attachments = {k for k, v in versions.items() if v.has_attachments}
    assert budget["id"] in with_attachments and plain["id"] not in with_attachments
    assert _ids(services, ItemQuery(resource, has_attachments=True)) == with_attachments
    assert _ids(services, ItemQuery(resource, has_attachments=False)) == set(versions) - with_attachments
    assert _ids(services, ItemQuery(resource, subject="budget 2026")) == {budget["id"]}
    assert _ids(services, ItemQuery(resource, name="LUNCH")) == {plain["id"]}
    assert _ids(services, ItemQuery(resource, sender="erin@zeta-fabrikam")) == {budget["id"]}
    assert _ids(services, ItemQuery(resource, folder="Inbox/Zeta Planning")) == {budget["id"]}
    inbox = {k for k, v in versions.items() if v.folder_path.startswith("Inbox")}
    assert _ids(services, ItemQuery(resource, folder="Inbox")) == inbox and budget["id"] in inbox
    both = ItemQuery(resource, folder="Inbox", recipient="bob@", has_attachments=True, subject="draft")
    assert _ids(services, both) == {budget["id"]}
    assert _ids(services, ItemQuery(resource, recipient="bob@", has_attachments=False)) == set()

    received = sorted(datetime.fromisoformat(v.received.replace("Z", "+00:00")) for v in versions.values())
    middle = received[len(received) // 2]
    after = {k for k, v in versions.items() if datetime.fromisoformat(v.received.replace("Z", "+00:00")) >= middle}
    assert _ids(services, ItemQuery(resource, after=middle)) == after
    assert _ids(services, ItemQuery(resource, before=middle)) == set(versions) - after
    assert _ids(services, ItemQuery(resource, after=middle.replace(tzinfo=None))) == after  # naive means UTC
    assert _ids(services, ItemQuery(resource, category="mail")) == set(versions)
    with pytest.raises(InvalidRequestError):
        find_items(services, ItemQuery(resource, category="file"))


def test_recipients_fill_old_entities_on_a_metadata_change_without_new_content(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    message = tenant.sim.control.add_message(user, "inbox", subject="Old entity", to=[("Dee", "Dee@Example.org")])
    first = tenant.backup()
    table = tenant.services.catalog._table  # an entity written before recipients were kept: no such property
    old = next(v for v in tenant.services.catalog.as_of(resource, MAIL, first["run_id"]) if v.item_id == message["id"])
    entity = {k: v for k, v in old.to_entity(resource).items() if k != "recipients"}
    table.upsert_entity(entity, mode="replace")
    reloaded = tenant.services.catalog.history(resource, MAIL, message["id"])
    assert [v.recipients for v in reloaded] == [""]  # old entities still load
    assert _ids(tenant.services, ItemQuery(resource, recipient="dee@")) == set()
    blobs = tenant.blob_count()

    tenant.sim.control.update_message(user, message["id"], isRead=True)  # a new changeKey, the same MIME
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    old_version, new_version = tenant.services.catalog.history(resource, MAIL, message["id"])
    # the read state is a new version (a point in time), which carries the recipients; the old entity is ended
    # at the second run and otherwise left as it was
    assert old_version.deleted_run == second["run_id"] and old_version.recipients == "" and not old_version.is_read
    assert new_version.recipients == "dee@example.org" and new_version.is_read
    assert new_version.content_hash == old_version.content_hash
    assert tenant.blob_count() == blobs  # no new content
    assert _ids(tenant.services, ItemQuery(resource, recipient="dee@")) == {message["id"]}


def test_paging_has_no_duplicates_or_gaps_and_keeps_its_run(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    first = tenant.backup()
    services = tenant.services
    query = ItemQuery(resource)
    everything = [i["id"] for i in find_items(services, query)[1]]
    assert len(everything) >= 40
    ids, pages, runs = _all_pages(services, query, 7)
    assert ids == everything and len(set(ids)) == len(ids) and pages == -(-len(ids) // 7) and pages >= 3
    assert runs == {first["run_id"]}
    exact, exact_pages, _ = _all_pages(services, query, len(everything))  # a full last page answers no token
    assert exact == everything and exact_pages == 1
    assert _all_pages(services, ItemQuery(resource, subject="no such subject at all"), 5)[:2] == ([], 1)

    page1 = search_page(services, query, 10, None)
    tenant.sim.control.add_message(user, "inbox", subject="Arrived between pages")
    assert tenant.backup()["status"] == "succeeded"
    rest, token = [], page1.continuation
    while token:
        page = search_page(services, query, 10, token)
        assert page.run_id == first["run_id"]  # every page reads the run the first one resolved
        rest += [i["id"] for i in page.items]
        token = page.continuation
    assert [i["id"] for i in page1.items] + rest == everything

    token = page1.continuation
    assert token is not None
    for other in (ItemQuery(resource, subject="a"), ItemQuery(resource, run_id=first["run_id"]),
                  ItemQuery(resource, category="contact")):  # fmt: skip
        with pytest.raises(InvalidRequestError, match="does not belong to this query"):
            search_page(services, other, 10, token)
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**body, "q": "0" * 32}).encode()).decode().rstrip("=")
    for bad in ("", "not a token!", token[:-3], token + "AAAA", forged, "x" * 5000):
        with pytest.raises(InvalidRequestError, match="does not belong to this query"):
            search_page(services, query, 10, bad)
    for size in (0, 1001):
        with pytest.raises(InvalidRequestError):
            search_page(services, query, size, None)


def test_contacts_and_events_search_by_name_sender_folder_and_time(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    contacts = {c["id"]: c for c in tenant.user(0)["contacts"]}
    review = control.add_event(user, subject="Quarterly review", start="2026-05-04T09:00:00Z")
    control.add_event(user, subject="Dentist", start="2026-06-10T15:00:00Z")
    assert tenant.backup()["status"] == "succeeded"
    services = tenant.services

    found = {i["id"]: i for i in find_items(services, ItemQuery(resource, category="contact"))[1]}
    assert set(found) == set(contacts)
    some = next(iter(contacts.values()))
    name = some["properties"]["displayName"]
    assert some["id"] in _ids(services, ItemQuery(resource, category="contact", name=name.upper()))
    address = some["properties"]["emailAddresses"][0]["address"]
    assert some["id"] in _ids(services, ItemQuery(resource, category="contact", sender=address))
    folder = found[some["id"]]["folder"]
    in_folder = {k for k, i in found.items() if i["folder"] == folder}
    assert _ids(services, ItemQuery(resource, category="contact", folder=folder)) >= in_folder

    events = ItemQuery(resource, category="event", subject="quarterly")
    assert _ids(services, events) == {review["id"]}
    may = datetime(2026, 5, 1, tzinfo=UTC)
    window = ItemQuery(resource, category="event", after=may, before=may + timedelta(days=30))
    assert _ids(services, window) == {review["id"]}
    calendars = list_tree(services, resource, category="event").folders
    assert calendars and all(f["path"] == f["name"] for f in calendars)
    calendar = next(f for f in calendars if review["id"] in _ids(services, ItemQuery(resource, category="event",
                                                                                     folder=f["path"])))  # fmt: skip
    listed = list_tree(services, resource, path=calendar["path"], category="event")
    assert review["id"] in {i["id"] for i in listed.items}


def test_mailbox_tree_as_of_each_run(tenant: Tenant):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    control = tenant.sim.control
    projects = control.create_folder(user, "Zeta Planning", parent="inbox")
    kept = control.add_message(user, projects["id"], subject="Kick-off")
    first = tenant.backup()
    control.create_folder(user, "Archive 2026", parent=projects["id"])
    added = control.add_message(user, projects["id"], subject="Follow-up")
    control.delete_message(user, kept["id"])
    second = tenant.backup()
    services = tenant.services

    state = next(u for u in control.state()["users"] if u["id"] == user)
    paths = [f["path"].lstrip("/") for f in state["folders"]]
    top = {p for p in paths if p and "/" not in p}
    root = list_tree(services, resource)
    assert root.run_id == second["run_id"] and root.items == [] and root.continuation is None
    assert root.to_dict()["folders"] == root.folders and root.to_dict()["path"] == ""
    assert {f["path"] for f in root.folders} == top and "Inbox" in top
    inbox = list_tree(services, resource, path="Inbox")
    children = {p.rsplit("/", 1)[-1] for p in paths if p.startswith("Inbox/") and p.count("/") == 1}
    assert {f["name"] for f in inbox.folders} == children and "Zeta Planning" in children
    inbox_ids = {m["id"] for m in state["messages"] if m["folder_path"].lstrip("/") == "Inbox"}
    assert {i["id"] for i in inbox.items} == inbox_ids

    now = list_tree(services, resource, path="Inbox/Zeta Planning")
    assert [f["path"] for f in now.folders] == ["Inbox/Zeta Planning/Archive 2026"]
    assert [i["id"] for i in now.items] == [added["id"]]
    before = list_tree(services, resource, run_id=first["run_id"], path="Inbox/Zeta Planning")
    assert before.folders == [] and [i["id"] for i in before.items] == [kept["id"]]
    with pytest.raises(NotFoundError):
        list_tree(services, resource, run_id=first["run_id"], path="Inbox/Zeta Planning/Archive 2026")
    with pytest.raises(NotFoundError):
        list_tree(services, resource, path="No such folder")

    pages, token, seen = 0, None, []
    while True:
        page = list_tree(services, resource, path="Inbox", page_size=4, continuation=token)
        seen += [i["id"] for i in page.items]
        pages, token = pages + 1, page.continuation
        if token is None:
            break
    assert sorted(seen) == sorted(inbox_ids) and len(seen) == len(set(seen)) and pages >= 3
    inbox_token = list_tree(services, resource, path="Inbox", page_size=4).continuation
    assert inbox_token is not None
    with pytest.raises(InvalidRequestError, match="does not belong to this query"):
        list_tree(services, resource, path="Inbox/Zeta Planning", page_size=4, continuation=inbox_token)
    with pytest.raises(InvalidRequestError, match="does not belong to this query"):  # a search token is not a tree's
        search_page(services, ItemQuery(resource, folder="Inbox"), 4, inbox_token)


def test_drive_search_and_tree_as_of_each_run(drive_tenant: Tenant):
    tenant = drive_tenant
    user = tenant.user(0)["id"]
    resource = f"onedrive:{user}"
    control = tenant.sim.control
    first = tenant.backup()
    assert first["status"] == "succeeded", first
    drive = control.drive(user)
    files = {f"{drive['id']}/{i['id']}": i for i in drive["items"] if not i["folder"]}
    folders = [i for i in drive["items"] if i["folder"] and i["parent_id"]]
    services = tenant.services

    def sim_path(item: dict) -> str:
        return item["path"].lstrip("/")

    assert _ids(services, ItemQuery(resource)) == set(files)
    pdfs = {k for k, i in files.items() if i["name"].endswith(".pdf")}
    assert pdfs and _ids(services, ItemQuery(resource, name=".PDF", category="file")) == pdfs
    docs = {k for k, i in files.items() if sim_path(i).startswith("Documents/")}
    assert docs and _ids(services, ItemQuery(resource, folder="Documents")) == docs
    ids, pages, _ = _all_pages(services, ItemQuery(resource), 4)
    assert sorted(ids) == sorted(files) and len(ids) == len(set(ids)) and pages >= 3

    root = list_tree(services, resource)
    top = {sim_path(f) for f in folders if "/" not in sim_path(f)}
    assert {f["path"] for f in root.folders} == top
    at_root = {k for k, i in files.items() if "/" not in sim_path(i)}
    assert {i["id"] for i in root.items} == at_root and all(i["path"] == i["name"] for i in root.items)
    sub = next(f for f in folders if sim_path(f) == "Documents/Projects 2026")
    listed = list_tree(services, resource, path="Documents/Projects 2026")
    direct = {k for k, i in files.items() if i["parent_id"] == sub["id"]}
    assert {i["id"] for i in listed.items} == direct
    assert [f["name"] for f in listed.folders] == ["Q1 #1 (draft)"]

    new = control.add_drive_item(drive["id"], "added later.txt", parent=sub["id"], size=1000)
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    later = list_tree(services, resource, path="Documents/Projects 2026")
    assert {i["id"] for i in later.items} == direct | {f"{drive['id']}/{new['id']}"}
    earlier = list_tree(services, resource, run_id=first["run_id"], path="Documents/Projects 2026")
    assert {i["id"] for i in earlier.items} == direct
    with pytest.raises(NotFoundError):
        list_tree(services, resource, path="Documents/nope")
    with pytest.raises(InvalidRequestError):
        list_tree(services, resource, category="mail")


def test_item_version_without_recipients_loads():
    entity = {"PartitionKey": "p", "RowKey": "r", "category": MAIL, "item_id": "a", "first_seen_run": "1", "x": 1}
    assert ItemVersion.from_entity(entity).recipients == ""
