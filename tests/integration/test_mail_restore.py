"""Mail restore end to end: messages, folders, whole mailboxes, as of any run, each restored message equal to its
original as Graph reports it (devenv.message_fidelity), never a draft."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.errors import InvalidRequestError, NotFoundError
from core.planning import run_time
from core.restore import restore
from core.restore_request import RestoreRequest
from devenv.message_fidelity import differences, snapshot
from tests.integration.tenant import Tenant, open_tenant


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=2, messages=30, seed=23)
    yield t
    t.close()


def _messages(tenant: Tenant, user_id: str) -> list[dict]:
    return next(u for u in tenant.sim.control.state()["users"] if u["id"] == user_id)["messages"]


def _folder_of(tenant: Tenant, user_id: str, path_suffix: str) -> dict:
    user = next(u for u in tenant.sim.control.state()["users"] if u["id"] == user_id)
    return next(f for f in user["folders"] if f["path"].endswith(path_suffix))


def _identity(messages: list[dict]) -> Counter:
    return Counter((m["internetMessageId"], m["subject"]) for m in messages)


def test_a_deleted_message_comes_back_as_it_was_into_its_folder(tenant: Tenant):
    user = tenant.user(0)["id"]
    first = tenant.backup()
    victim = next(m for m in _messages(tenant, user) if m["folder_path"] == "/Inbox/Projects")
    original = snapshot(tenant.services.graph, tenant.sim.control, user, victim["id"])
    tenant.sim.control.delete_message(user, victim["id"])
    second = tenant.backup()
    resource = f"exchange:{user}"

    with pytest.raises(NotFoundError):  # it is not in the mailbox as of the second run
        restore(tenant.services, RestoreRequest(resource, run_id=second["run_id"], item_ids=(victim["id"],)))
    report = restore(tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(victim["id"],)))
    assert (report.restored, report.skipped, report.failed) == (1, 0, 0)
    new_id = report.items[0]["new_id"]
    restored = next(m for m in _messages(tenant, user) if m["id"] == new_id)
    assert restored["folder_id"] == victim["folder_id"]  # its original folder
    assert differences(original, snapshot(tenant.services.graph, tenant.sim.control, user, new_id)) == []

    # Restoring it again: skip sees it is there; keep-both makes a second copy.
    again = restore(tenant.services, RestoreRequest(resource, run_id=first["run_id"], item_ids=(victim["id"],)))
    assert (again.restored, again.skipped) == (0, 1)
    both = restore(
        tenant.services,
        RestoreRequest(resource, run_id=first["run_id"], item_ids=(victim["id"],), conflict="keep-both"),
    )
    assert both.restored == 1
    copies = [m for m in _messages(tenant, user) if m["internetMessageId"] == victim["internetMessageId"]]
    assert len(copies) == 2 and not any(m["isDraft"] for m in copies)


def test_a_restore_as_of_an_earlier_run_brings_back_the_earlier_content(tenant: Tenant):
    user = tenant.user(0)["id"]
    first = tenant.backup()
    target = sorted(_messages(tenant, user), key=lambda m: m["id"])[0]
    before = snapshot(tenant.services.graph, tenant.sim.control, user, target["id"])
    tenant.sim.control.update_message(user, target["id"], subject="rewritten after the first backup")
    second = tenant.backup()
    edited_sha = next(m for m in _messages(tenant, user) if m["id"] == target["id"])["sha256"]
    assert edited_sha != target["sha256"]
    assert run_time(first["run_id"]) < run_time(second["run_id"])
    request = RestoreRequest(
        f"exchange:{user}", at=run_time(first["run_id"]), item_ids=(target["id"],), conflict="keep-both"
    )
    report = restore(tenant.services, request)
    assert report.run_id == first["run_id"] and report.restored == 1
    assert report.items[0]["sha256"] == target["sha256"]
    back = snapshot(tenant.services.graph, tenant.sim.control, user, report.items[0]["new_id"])
    assert back["properties"]["subject"] == target["subject"] != "rewritten after the first backup"
    assert differences(before, back) == []


def test_a_folder_tree_restores_into_a_new_folder_of_another_mailbox(tenant: Tenant):
    source, other = tenant.user(0)["id"], tenant.user(1)["id"]
    tenant.backup()
    wanted = [m for m in _messages(tenant, source) if m["folder_path"].startswith("/Inbox/Projects")]
    assert wanted
    before = {m["id"] for m in _messages(tenant, other)}
    report = restore(
        tenant.services,
        RestoreRequest(f"exchange:{source}", folder="Inbox/Projects", destination="new-folder", target_owner=other),
    )
    assert report.restored == len(wanted) and report.failed == 0
    assert report.destination.startswith("Restored ")
    landed = [m for m in _messages(tenant, other) if m["id"] not in before]
    assert _identity(landed) == _identity(wanted)
    assert not any(m["isDraft"] for m in landed)
    prefix = f"/{report.destination}/Inbox/Projects"
    assert all(m["folder_path"].startswith(prefix) for m in landed)
    # the tree below the folder is kept
    assert {m["folder_path"][len(prefix) :] for m in landed} == {
        m["folder_path"][len("/Inbox/Projects") :] for m in wanted
    }


def test_a_whole_mailbox_restores_into_a_new_folder(tenant: Tenant):
    user = tenant.user(1)["id"]
    tenant.backup()
    original = _messages(tenant, user)
    report = restore(tenant.services, RestoreRequest(f"exchange:{user}", whole=True, destination="new-folder"))
    assert report.restored == len(original) and report.failed == 0
    restored = [m for m in _messages(tenant, user) if m["folder_path"].startswith(f"/{report.destination}/")]
    assert _identity(restored) == _identity(original)
    assert not any(m["isDraft"] for m in restored)
    assert {m["folder_path"].removeprefix(f"/{report.destination}") for m in restored} == {
        m["folder_path"] for m in original
    }


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"item_ids": ("AAMk-no-such-message",)}, NotFoundError),
        ({"folder": "Inbox/No Such Folder"}, NotFoundError),
        ({"whole": True, "target_owner": "00000000-0000-0000-0000-000000000000"}, NotFoundError),
        ({"whole": True, "run_id": "20000101T000000000000Z"}, NotFoundError),
        ({"whole": True, "at": datetime(2000, 1, 1, tzinfo=UTC)}, InvalidRequestError),
    ],
)
def test_invalid_restores_are_refused_before_anything_is_written(tenant: Tenant, change, error):
    user = tenant.user(0)["id"]
    tenant.backup()
    state_before = tenant.sim.control.state()
    tenant.sim.control.reset_stats()
    with pytest.raises(error):
        restore(tenant.services, RestoreRequest(f"exchange:{user}", **change))
    stats = tenant.sim.control.stats()
    assert stats["by_kind"]["create"] == 0
    assert tenant.sim.control.state() == state_before


def test_read_state_flag_and_categories_are_kept_and_restored(tenant: Tenant):
    user = tenant.user(0)["id"]
    target = sorted(_messages(tenant, user), key=lambda m: m["id"])[5]
    tenant.backup()
    tenant.sim.control.update_message(
        user, target["id"], isRead=True, flag="flagged", categories=["Red category", "Projekt Ü"]
    )
    second = tenant.backup()  # a metadata-only change: no new content, the version's state is updated
    tenant.sim.control.delete_message(user, target["id"])
    tenant.backup()
    report = restore(
        tenant.services, RestoreRequest(f"exchange:{user}", run_id=second["run_id"], item_ids=(target["id"],))
    )
    assert report.restored == 1 and not report.failures
    back = tenant.services.graph.get_json(f"users/{user}/messages/{report.items[0]['new_id']}")
    assert back["isRead"] is True
    assert back["flag"]["flagStatus"] == "flagged"
    assert back["categories"] == ["Red category", "Projekt Ü"]
