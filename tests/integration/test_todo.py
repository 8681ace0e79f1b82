"""Microsoft To Do tasks end to end, in one simulated mailbox (graphsim/todo/): a full backup of every list with
each task's checklist items, linked resources and attachments, an incremental after an add, an edit and a delete
(the deleted task is gone as of the later point and still there as of the earlier one), a restore as of the earlier
point equal to the original as the simulator's Graph reports it, a re-run that creates nothing twice (also with a
quarter of the responses dropped after the work was done), and a download and an export parsed back."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from core.exports.downloads import open_download, open_zip
from core.graph.retry import RetryPolicy
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads import registry
from core.workloads.exchange.tasks_backup import TASK, TASK_LIST
from core.workloads.exchange.tasks_restore import SETTABLE
from graphsim.todo.control_client import TodoControl
from tests.conftest import isolated_storage
from tests.integration.tenant import open_tenant

NOTE = base64.b64encode(b"%PDF-1.4\nadded attachment \xe2\x9c\x93").decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite) -> Iterator[dict[str, Any]]:
    """Two backups around an add, an edit and a delete; what the simulator held before the changes."""
    policy = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05)
    tenant = open_tenant(tmp_path_factory.mktemp("todo") / "sim", isolated_storage(azurite),
                         {"BACKUP_WORKLOADS": "exchange", "GRAPH_PAGE_SIZE": "2"}, policy=policy, users=1,
                         messages=1, seed=61, contacts=0, events=0, tasks=6)  # fmt: skip
    todo = TodoControl(tenant.sim.base_url, tenant.sim.ca_file)
    user = tenant.user(0)["id"]
    try:
        first = tenant.backup()
        before = todo.state(user)
        tasks = {t["id"]: t for t in before["tasks"]}
        rich = next(t for t in tasks.values() if t["checklistItems"] and t["linkedResources"] and t["attachments"])
        edited = next(t for t in tasks.values() if t["id"] != rich["id"] and t["checklistItems"])
        todo.delete_task(user, rich["id"])
        todo.update_task(user, edited["id"], {"title": "Edited title", "importance": "high"},
                         check=[edited["checklistItems"][-1]["id"]])  # fmt: skip
        added = todo.add_task(
            user,
            {"title": "Added after the first backup", "status": "inProgress"},
            checklist=["one", "two"],
            attachment={"name": "added.pdf", "contentType": "application/pdf", "contentBytes": NOTE},
        )
        second = tenant.backup()
        yield {"tenant": tenant, "todo": todo, "user": user, "first": first, "second": second, "before": tasks,
               "rich": rich, "edited": edited, "added": added}  # fmt: skip
    finally:
        todo.close()
        tenant.close()


def _as_of(world: dict[str, Any], run: dict) -> dict[str, Any]:
    resource = f"exchange:{world['user']}"
    return {v.item_id: v for v in world["tenant"].services.catalog.as_of(resource, TASK, run["run_id"])}


def _stored(world: dict[str, Any], version: Any) -> dict[str, Any]:
    return json.loads(world["tenant"].services.content.read(version.content_hash))


def _settable(task: dict[str, Any]) -> dict[str, Any]:
    return {k: task.get(k) for k in SETTABLE}


def _seen(summary: dict[str, Any]) -> dict[str, Any]:
    """What a user sees of a task and Graph lets a client set: properties, checklist, links, attachments."""
    return {
        "task": _settable(summary["task"]),
        "checklist": [(c["displayName"], c["isChecked"]) for c in summary["checklistItems"]],
        "links": sorted(
            (r["webUrl"], r["applicationName"], r["displayName"], r["externalId"]) for r in summary["linkedResources"]
        ),
        "attachments": sorted((a["name"], a["contentType"], a["size"], a["sha256"]) for a in summary["attachments"]),
    }


def test_the_category_is_registered_after_events_and_mail_stays_the_default():
    exchange = registry.workload("exchange")
    names = [c.name for c in exchange.categories]
    assert names.index(TASK) > names.index("event") and exchange.category(None).name == "mail"


def test_a_full_backup_keeps_every_task_with_its_checklist_links_and_attachments(world: dict[str, Any]):
    first, before = world["first"], world["before"]
    assert first["status"] == "succeeded", first
    captured = _as_of(world, first)
    assert set(captured) == set(before)
    for task_id, summary in before.items():
        version, stored = captured[task_id], _stored(world, captured[task_id])
        assert _settable(stored) == _settable(summary["task"]), task_id
        assert stored["checklistItems"] == summary["checklistItems"]
        assert stored["linkedResources"] == summary["linkedResources"]
        extra = json.loads(version.extra) if version.extra else {"attachments": []}
        assert [a["sha256"] for a in extra["attachments"]] == [a["sha256"] for a in summary["attachments"]]
        category = registry.workload("exchange").category(TASK)
        assert category.content_refs(version) == (version.content_hash, *(a["sha256"] for a in summary["attachments"]))
        assert version.name == summary["task"]["title"] and version.has_attachments == bool(summary["attachments"])
    services = world["tenant"].services
    lists = {v.name: v for v in services.catalog.as_of(f"exchange:{world['user']}", TASK_LIST, first["run_id"])}
    assert set(lists) == {"Tasks", "Errands"} and json.loads(lists["Tasks"].extra) == {"wellKnownName": "defaultList"}


def test_an_incremental_sees_the_add_the_edit_and_the_delete_and_the_earlier_point_stays(world: dict[str, Any]):
    first, second = world["first"], world["second"]
    assert second["status"] == "succeeded", second
    assert (second["items"], second["removed"]) == (2, 1)  # the added and the edited task; the deleted one
    earlier, later = _as_of(world, first), _as_of(world, second)
    rich, edited, added = world["rich"]["id"], world["edited"]["id"], world["added"]["id"]
    assert rich in earlier and rich not in later and added in later and added not in earlier
    assert _stored(world, later[edited])["title"] == "Edited title"
    assert _stored(world, earlier[edited])["title"] == world["edited"]["task"]["title"]
    assert _stored(world, later[edited])["checklistItems"][-1]["isChecked"] is True
    assert set(later) == {t["id"] for t in world["todo"].state(world["user"])["tasks"]}
    third = world["tenant"].backup()
    assert (third["status"], third["items"], third["removed"]) == ("succeeded", 0, 0), third


def test_a_restore_as_of_the_earlier_point_equals_the_original_and_a_rerun_creates_nothing(world: dict[str, Any]):
    tenant, todo, user, rich = world["tenant"], world["todo"], world["user"], world["rich"]
    request = RestoreRequest(f"exchange:{user}", run_id=world["first"]["run_id"], item_ids=(rich["id"],),
                             category=TASK)  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.skipped, report.failed) == (1, 0, 0), report.failures
    now = {t["id"]: t for t in todo.state(user)["tasks"]}
    back = now[report.items[0]["new_id"]]
    assert back["list_id"] == rich["list_id"]  # its own list (the default one, found by its well-known name)
    assert _seen(back) == _seen(rich)
    assert back["task"].get("completedDateTime") == rich["task"].get("completedDateTime")

    again = restore(tenant.services, request)
    assert (again.restored, again.skipped, again.failed) == (0, 1, 0), again.failures
    assert len(todo.state(user)["tasks"]) == len(now)
    keep_both = RestoreRequest(f"exchange:{user}", run_id=world["first"]["run_id"], item_ids=(rich["id"],),
                               category=TASK, conflict="keep-both")  # fmt: skip
    both = restore(tenant.services, keep_both)
    assert both.restored == 1 and len(todo.state(user)["tasks"]) == len(now) + 1


def test_a_whole_restore_into_a_new_list_lands_once_despite_dropped_answers(world: dict[str, Any]):
    tenant, todo, user = world["tenant"], world["todo"], world["user"]
    earlier = world["before"]
    request = RestoreRequest(f"exchange:{user}", run_id=world["first"]["run_id"], whole=True, category=TASK,
                             destination="new-folder", destination_name="Restored tasks")  # fmt: skip
    before_ids = {t["id"] for t in todo.state(user)["tasks"]}
    tenant.sim.control.set_faults({"kind": "reset_response", "ratio": 0.25, "user": user})
    try:
        report = restore(tenant.services, request)
        again = restore(tenant.services, request)
    finally:
        tenant.sim.control.clear_faults()
    assert (report.restored, report.failed) == (len(earlier), 0), report.failures
    assert tenant.sim.control.stats()["resets"] > 0
    assert (again.restored, again.skipped, again.failed) == (0, len(earlier), 0), again.failures
    state = todo.state(user)
    target = [t["id"] for t in state["lists"] if t["displayName"] == "Restored tasks"]
    assert len(target) == 1
    new = [t for t in state["tasks"] if t["id"] not in before_ids]
    assert all(t["list_id"] == target[0] for t in new)
    assert sorted(json.dumps(_seen(t), sort_keys=True) for t in new) == sorted(
        json.dumps(_seen(t), sort_keys=True) for t in earlier.values())  # fmt: skip


def test_a_download_and_an_export_parse_back(world: dict[str, Any]):
    tenant, user, rich = world["tenant"], world["user"], world["rich"]
    resource, run = f"exchange:{user}", world["first"]["run_id"]
    download = open_download(tenant.services, resource, rich["id"], run_id=run, category=TASK)
    assert download.filename.endswith(".json") and download.media_type == "application/json"
    task = json.loads(b"".join(download.chunks))
    assert task["checklistItems"] == rich["checklistItems"] and task["linkedResources"] == rich["linkedResources"]
    got = [hashlib.sha256(base64.b64decode(a["contentBytes"])).hexdigest() for a in task["attachments"]]
    assert got == [a["sha256"] for a in rich["attachments"]]

    out = io.BytesIO()
    counts = open_zip(tenant.services, resource, run_id=run, category=TASK).write_to(out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    files = [n for n in archive.namelist() if n != "manifest.json"]
    assert counts["items"] == len(files) == len(world["before"]) and not counts["failed"]
    by_list = {n.split("/")[0] for n in files}
    assert by_list == {"Tasks", "Errands"}
    titles = sorted(json.loads(archive.read(n))["title"] for n in files)
    assert titles == sorted(t["task"]["title"] for t in world["before"].values())


def test_a_task_that_fails_is_held_then_read_by_id_under_its_list_and_captured(world: dict[str, Any]):
    tenant, todo, user = world["tenant"], world["todo"], world["user"]
    errands = next(t["id"] for t in todo.state(user)["lists"] if t["displayName"] == "Errands")
    late = todo.add_task(user, {"title": "Held for a run"}, task_list=errands, checklist=["only step"])
    tenant.sim.control.set_faults({"kind": "not_found", "user": user, "item": late["id"], "endpoint": "todo_checklist"})
    held_run = tenant.backup()
    assert held_run["status"] == "partial", held_run  # its checklist answered 404 while the task is there
    held = [h for h in tenant.services.quarantine.held(f"exchange:{user}") if h.item_id == late["id"]]
    assert [(h.category, h.container_id) for h in held] == [(TASK, errands)]
    assert late["id"] not in _as_of(world, held_run)

    captured_run = tenant.backup()  # delta lists nothing new: the held task is read by id under its list
    assert captured_run["status"] == "succeeded", captured_run
    assert not [h for h in tenant.services.quarantine.held(f"exchange:{user}") if h.item_id == late["id"]]
    version = _as_of(world, captured_run)[late["id"]]
    assert version.folder_id == errands and _stored(world, version)["checklistItems"] == late["checklistItems"]


def test_an_expired_task_delta_link_falls_back_to_a_full_round_that_catches_the_missed_delete(world: dict[str, Any]):
    tenant, todo, user = world["tenant"], world["todo"], world["user"]
    victim = world["added"]["id"]
    blobs = tenant.blob_count()
    tenant.sim.control.expire_delta_tokens(user)
    todo.delete_task(user, victim)
    run = tenant.backup()
    assert run["status"] == "succeeded", run
    assert (run["items"], run["removed"]) == (0, 1), run  # everything re-listed is recognised; the delete caught
    assert victim not in _as_of(world, run) and victim in _as_of(world, world["second"])
    assert tenant.blob_count() == blobs  # nothing stored twice


def test_an_attachment_of_3_mb_or_more_is_backed_up_and_named_as_omitted_by_a_restore(world: dict[str, Any]):
    tenant, todo, user = world["tenant"], world["todo"], world["user"]
    big = bytes(range(256)) * (13 * 1024)  # 3.25 MiB: Graph takes only smaller ones in a POST, app-only
    task = todo.add_task(user, {"title": "With a big file"}, checklist=["check it"],
                         attachment={"name": "big.bin", "contentType": "application/octet-stream",
                                     "contentBytes": base64.b64encode(big).decode()})  # fmt: skip
    run = tenant.backup()
    version = _as_of(world, run)[task["id"]]
    (meta,) = json.loads(version.extra)["attachments"]
    assert meta["sha256"] == hashlib.sha256(big).hexdigest() and tenant.services.content.read(meta["sha256"]) == big
    request = RestoreRequest(f"exchange:{user}", run_id=run["run_id"], item_ids=(task["id"],), category=TASK,
                             conflict="keep-both")  # fmt: skip
    report = restore(tenant.services, request)
    assert (report.restored, report.failed) == (1, 0) and report.items[0]["attachments_omitted"] == "big.bin"
    back = next(t for t in todo.state(user)["tasks"] if t["id"] == report.items[0]["new_id"])
    assert back["attachments"] == [] and [c["displayName"] for c in back["checklistItems"]] == ["check it"]
