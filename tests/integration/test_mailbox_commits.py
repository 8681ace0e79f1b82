"""A mailbox's kinds (mail beside contacts, calendars and To Do lists, core/workloads/exchange/mailbox.py) write
to one catalog writer and their rounds wait in one `CategoryGroup` (core/delta/lifecycle.py), against a real
Azurite and the simulator: a small mailbox's backup is one catalog commit, not one per kind, and every kind's rows
and every container's delta link are there after it, first backup and incremental alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=1, messages=12, seed=3, contacts=3, events=2, tasks=2)
    yield t
    t.close()


def _catalog_commits(tenant: Tenant) -> int:
    """Catalog commits so far: each writes its journal blob first (core/storage/journal.py)."""
    return sum(1 for _ in tenant.services.content._container.list_blobs(name_starts_with="journal/catalog/"))


def _links(tenant: Tenant, resource: str) -> Counter:
    return Counter(category for category, _ in tenant.services.delta_state.load(resource))


def test_a_small_mailbox_is_one_catalog_commit_with_every_kind_and_link_in_it(tenant: Tenant):
    user = tenant.user(0)
    resource = f"exchange:{user['id']}"
    state = next(u for u in tenant.sim.control.state()["users"] if u["id"] == user["id"])
    first = tenant.backup(resources=[resource])  # the mailbox alone (not its OneDrive)
    assert first["status"] == "succeeded", first
    assert _catalog_commits(tenant) == 1  # was one per kind: mail, contacts, calendars, To Do, the archive
    assert tenant.catalog_messages(user["id"], first["run_id"]) == tenant.live_messages(user["id"])
    contacts = tenant.services.catalog.as_of(resource, "contact", first["run_id"])
    assert {v.item_id for v in contacts} == {c["id"] for c in state["contacts"]}
    assert tenant.services.catalog.as_of(resource, "event", first["run_id"])
    links = _links(tenant, resource)  # every container's link, saved after the one commit
    folders = [f for f in state["folders"] if f["parentFolderId"]]  # not the root, "Top of Information Store"
    assert links["mail"] == len(folders) and links["contact"] == len(state["contact_folders"]), links
    assert links["event"] == len(state["calendars"]) and links["task"] == 2 and links["archive"] > 0, links
    assert links["tree"] == 2  # the mail and contact folder trees' links, once their folder versions are committed

    tenant.sim.control.add_message(user["id"], "inbox", subject="after the first backup")
    added = tenant.sim.control.add_contact(user["id"])
    second = tenant.backup(resources=[resource])
    assert second["status"] == "succeeded" and second["items"] == 2, second
    assert _catalog_commits(tenant) == 2  # one more: the message's and the contact's rows together
    assert tenant.catalog_messages(user["id"], second["run_id"]) == tenant.live_messages(user["id"])
    contacts = tenant.services.catalog.as_of(resource, "contact", second["run_id"])
    assert added["id"] in {v.item_id for v in contacts}
    assert _links(tenant, resource) == links
