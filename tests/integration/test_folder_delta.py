"""A mailbox's folder trees by folder delta (mailFolder: delta, contactFolder: delta) instead of listings: what a
no-change incremental and an empty mailbox cost in Graph requests (the simulator's counts), and folder renames,
moves and deletes still picked up, also after the tree's link expired."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.storage.delta_state import HOLD_AT_MOST
from core.workloads.exchange.folder_tree import TREE
from graphsim.todo.control_client import TodoControl
from tests.integration.tenant import Tenant, open_tenant

# what a mailbox costs each run beside its containers' deltas: the mail tree's delta, the contact tree's delta, the
# calendars listing, the To Do lists listing and settings/exchange (is there an in-place archive)
PER_MAILBOX = 5
# what a first backup reads once more per mailbox: msgfolderroot and the default contact folder (the trees' roots),
# the eight well-known mail folder names, mailboxSettings (userPurpose)
FIRST_RUN_EXTRA = 2 + 8 + 1


def _containers(tenant: Tenant, user: str) -> dict[str, int]:
    state = next(u for u in tenant.sim.control.state()["users"] if u["id"] == user)
    pim = tenant.sim.control.pim(user)
    lists = TodoControl(tenant.sim.base_url, tenant.sim.ca_file).state(user)["lists"]
    return {
        "mail": sum(1 for f in state["folders"] if f["parentFolderId"]),  # every folder but the root
        "contact": len(pim["contact_folders"]),
        "calendar": len(pim["calendars"]),
        "task": len(lists),
    }


def _graph_requests(stats: dict) -> int:
    """Requests Graph counts (and throttles) for the backup's mailboxes, each request inside a $batch as one, the
    envelopes not: all but the token and the users listing."""
    return stats["total"] - stats["by_kind"]["batch"] - stats["by_kind"]["token"] - stats["by_kind"]["users"]


def _round_trips(stats: dict) -> int:
    """HTTP requests the backup sent for its mailboxes (a $batch is one): all but the token and the users listing."""
    return stats["http"] - stats["by_kind"]["token"] - stats["by_kind"]["users"]


def _batches(reads: int) -> int:
    return -(-reads // 20)  # $batch carries at most 20 requests


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=2, messages=12, seed=5, contacts=4, events=0, tasks=0,
                    archive_messages=0)  # fmt: skip
    yield t
    t.close()


def test_a_no_change_incremental_costs_one_delta_per_container_and_no_tree_listing(tenant: Tenant):
    assert tenant.backup()["status"] == "succeeded"
    mailboxes = [u["id"] for u in tenant.mailboxes()]
    counts = [_containers(tenant, u) for u in mailboxes]
    containers = sum(sum(c.values()) for c in counts)
    tenant.sim.control.reset_stats()

    again = tenant.backup()
    stats = tenant.sim.control.stats()
    by = stats["by_kind"]
    assert again["status"] == "succeeded" and again["items"] == 0
    assert by["folders"] == len(mailboxes)  # one mailFolders/delta each: no childFolders walk, no well-known reads
    assert by["contact_folders"] == len(mailboxes)  # one contactFolders/delta each
    assert by["delta"] == sum(c["mail"] for c in counts)
    assert by["contacts_delta"] == sum(c["contact"] for c in counts)
    assert by["events_delta"] == sum(c["calendar"] for c in counts) and by["calendars"] == len(mailboxes)
    assert _graph_requests(stats) == containers + PER_MAILBOX * len(mailboxes)
    # read ahead in $batch: the fixed reads but settings/exchange (beta) and every container's first delta request
    per_mailbox = [sum(c.values()) for c in counts]
    assert _round_trips(stats) == sum(_batches(k + PER_MAILBOX - 1) + 1 for k in per_mailbox)
    assert by["batch"] == sum(_batches(k + PER_MAILBOX - 1) for k in per_mailbox) and stats["answered_429"] == 0
    assert _round_trips(stats) <= containers  # the goal: at most one HTTP request per container
    # the tree links are saved beside the containers' links
    states = tenant.services.delta_state.load(f"exchange:{mailboxes[0]}")
    assert {("tree", "folder"), ("tree", "cfolder")} <= set(states)


def test_an_empty_mailbox_costs_two_round_trips_and_its_containers_and_five_more_inner_requests(tmp_path, storage_env):
    tenant = open_tenant(tmp_path / "sim", storage_env, users=1, messages=0, contacts=0, events=0, tasks=0,
                         archive_messages=0)  # fmt: skip
    try:
        user = tenant.mailboxes()[0]["id"]
        counts = _containers(tenant, user)
        containers = sum(counts.values())
        pages = -(-counts["mail"] // int(tenant.env["GRAPH_PAGE_SIZE"]))  # the first tree round lists all 9
        tenant.sim.control.reset_stats()
        assert tenant.backup()["status"] == "succeeded"
        full, full_trips = _graph_requests(tenant.sim.control.stats()), _round_trips(tenant.sim.control.stats())
        tenant.sim.control.reset_stats()
        assert tenant.backup()["status"] == "succeeded"
        nochange, trips = _graph_requests(tenant.sim.control.stats()), _round_trips(tenant.sim.control.stats())
    finally:
        tenant.close()
    assert nochange == containers + PER_MAILBOX  # 16 containers: 21 inner requests (27 when the trees were listed)
    assert trips == _batches(containers + PER_MAILBOX - 1) + 1 <= 8  # 2: one $batch of 20, settings/exchange
    assert full == containers + PER_MAILBOX + FIRST_RUN_EXTRA + pages - 1
    # a first run has no links: one $batch carries its start-up reads (the two trees' roots and first pages, the two
    # listings, the eight well-known folder names, userPurpose), and the full rounds of each kind's containers start
    # in one $batch (their first requests read ahead, 20 at most)
    ahead = sum(k - _batches(k) for k in counts.values() if k > 1)
    assert ahead >= 8 and full_trips == full - (2 + 2 + 2 + 8 + 1 - 1) - ahead <= 8


def _folders(tenant: Tenant, user: str, run_id: str, category: str = "folder") -> dict[str, str]:
    """folder id -> path of the folder versions live as of `run_id`."""
    return {v.item_id: v.folder_path for v in tenant.services.catalog.as_of(f"exchange:{user}", category, run_id)}


def test_mail_folder_renames_moves_and_deletes_are_picked_up(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    work = control.create_folder(user, "Work", parent="inbox")
    child = control.create_folder(user, "Q1", parent=work["id"])
    moved = control.add_message(user, child["id"], subject="in Q1")
    doomed = control.add_message(user, work["id"], subject="in Work")
    first = tenant.backup()
    assert _folders(tenant, user, first["run_id"])[child["id"]] == "Inbox/Work/Q1"

    control.change_folder(user, work["id"], display_name="Clients")  # the child's path changes with it
    second = tenant.backup()
    paths = _folders(tenant, user, second["run_id"])
    assert (paths[work["id"]], paths[child["id"]]) == ("Inbox/Clients", "Inbox/Clients/Q1")

    control.change_folder(user, child["id"], parent="archive")
    control.delete_folder(user, work["id"])
    control.reset_stats()
    third = tenant.backup()
    assert third["status"] == "succeeded", third
    paths = _folders(tenant, user, third["run_id"])
    assert paths[child["id"]] == "Archive/Q1" and work["id"] not in paths
    live = tenant.catalog_messages(user, third["run_id"])
    assert moved["id"] in live and doomed["id"] not in live
    assert live == tenant.live_messages(user)
    assert tenant.sim.control.stats()["by_kind"]["folders"] == 2  # one tree delta per mailbox
    states = tenant.services.delta_state.load(f"exchange:{user}")
    assert ("mail", work["id"]) not in states  # the deleted folder's link is cleared
    # the earlier points still show the tree as it was
    assert _folders(tenant, user, first["run_id"])[child["id"]] == "Inbox/Work/Q1"


def test_contact_folder_renames_and_deletes_are_picked_up(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    clients = control.create_contact_folder(user, "Clients")
    below = control.create_contact_folder(user, "Key accounts", parent="contacts")
    control.add_contact(user, folder=clients["id"], properties={"displayName": "Ada Client"})
    first = tenant.backup()
    paths = _folders(tenant, user, first["run_id"], "cfolder")
    assert (paths["contacts"], paths[clients["id"]], paths[below["id"]]) == ("Contacts", "Clients",
                                                                             "Contacts/Key accounts")  # fmt: skip
    control.rename_contact_folder(user, below["id"], "Top accounts")
    control.delete_contact_folder(user, clients["id"])
    second = tenant.backup()
    assert second["status"] == "succeeded", second
    paths = _folders(tenant, user, second["run_id"], "cfolder")
    assert paths[below["id"]] == "Contacts/Top accounts" and clients["id"] not in paths
    names = {v.name for v in tenant.services.catalog.as_of(f"exchange:{user}", "contact", second["run_id"])}
    assert "Ada Client" not in names


def test_an_expired_tree_link_falls_back_to_the_full_tree_losing_nothing(tenant: Tenant):
    user = tenant.mailboxes()[0]["id"]
    control = tenant.sim.control
    tenant.backup()
    added = control.create_folder(user, "Later", parent="inbox")
    message = control.add_message(user, added["id"], subject="in Later")
    control.expire_delta_tokens(user)
    again = tenant.backup()
    assert again["status"] == "succeeded", again
    assert _folders(tenant, user, again["run_id"])[added["id"]] == "Inbox/Later"
    assert message["id"] in tenant.catalog_messages(user, again["run_id"])
    state = tenant.services.delta_state.load(f"exchange:{user}")[(TREE, "folder")]
    assert state.run_id == again["run_id"]


def test_a_mailboxs_delta_state_is_read_once_per_backup_and_its_links_still_chain(tmp_path, storage_env):
    """The kinds, trees and held items of a mailbox all ask for its delta state: the table is queried once per
    mailbox per run (core/storage/delta_state.py ResourceDeltaStates), its links are saved together (one
    transaction for a mailbox of fewer than HOLD_AT_MOST containers), and what a run saves is what the next reads."""
    tenant = open_tenant(tmp_path / "sim", storage_env, users=2, messages=6, contacts=2, events=2, tasks=1,
                         archive_messages=0)  # fmt: skip
    try:
        store = tenant.services.delta_state
        store.loads = store.writes = 0
        assert tenant.backup()["status"] == "succeeded"
        assert store.loads == 2  # one per mailbox, for the whole backup
        user = tenant.mailboxes()[0]["id"]
        saved = store.load(f"exchange:{user}")
        assert {("tree", "folder"), ("tree", "cfolder")} <= set(saved) and 10 < len(saved) < HOLD_AT_MOST
        assert store.writes == 2  # one per mailbox: every link of it in one transaction
        store.loads = store.writes = 0
        tenant.sim.control.reset_stats()
        again = tenant.backup()
        assert again["status"] == "succeeded" and again["items"] == 0  # every container went on from its link
        assert store.loads == 2 and store.writes == 2
        by = tenant.sim.control.stats()["by_kind"]
        assert by["folders"] == 2 and by["delta"] == sum(
            _containers(tenant, u["id"])["mail"] for u in tenant.mailboxes()
        )
    finally:
        tenant.close()
