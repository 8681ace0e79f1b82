"""Restore jobs end to end: a job recorded as the API records it, carried out by the real restore orchestrators
(replayed by devenv.durable_local) with the real activities against Azurite and the Graph simulator, split into
parts that run at the same time and must still land in one destination folder, each message once, not a draft."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from api.orchestrations import restore_instance_id
from core.errors import InvalidRequestError, NotFoundError
from core.planning import run_time
from core.restore_plan import validate_restore
from core.restore_request import RestoreRequest
from core.storage.restore_jobs import new_job_id
from devenv.durable_local import LocalResult, run_orchestration
from tests.integration.tenant import Tenant, host_services, open_tenant

REQUESTER = {"oid": "11111111-2222-3333-4444-555555555555", "name": "operator@contoso.test", "roles": ["Restore.All"]}


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    """Two mailboxes and OneDrives, backed up once; the activities' services are built for it."""
    t = open_tenant(tmp_path / "sim", storage_env, {"BACKUP_WORKLOADS": "exchange,onedrive"}, users=2, messages=60,
                    seed=41, contacts=0, events=0, drive_files=30, sites=0)  # fmt: skip
    try:
        with host_services(t):
            run = t.backup()
            assert run["status"] == "succeeded", run
            yield t
    finally:
        t.close()


def _job(tenant: Tenant, request: RestoreRequest) -> str:
    job_id = new_job_id()
    tenant.services.restore_jobs.create(job_id, request, REQUESTER)
    return job_id


def _run(job_id: str, part_size: int | None = None, **kwargs: Any) -> LocalResult:
    payload: dict[str, Any] = {"job_id": job_id} | ({"part_size": part_size} if part_size else {})
    return run_orchestration("restore_orchestrator", payload, instance_id=restore_instance_id(job_id), **kwargs)


def _user_state(tenant: Tenant, user_id: str) -> dict:
    return next(u for u in tenant.sim.control.state()["users"] if u["id"] == user_id)


def _audit(tenant: Tenant, job_id: str) -> dict:
    entries, _ = tenant.services.audit.list()
    (entry,) = [e for e in entries if e["action"] == "restore.finished" and e["detail"] == job_id]
    return entry


def test_a_mail_folder_restore_in_parts_lands_once_in_one_folder_as_it_was(tenant: Tenant):
    source, other = tenant.user(0)["id"], tenant.user(1)["id"]
    wanted = [m for m in _user_state(tenant, source)["messages"] if m["folder_path"].startswith("/Inbox")]
    part_size = math.ceil(len(wanted) / 4)
    request = RestoreRequest(f"exchange:{source}", folder="Inbox", destination="new-folder", target_owner=other)
    assert validate_restore(tenant.services, request, part_size).parts == 4
    before = {m["id"] for m in _user_state(tenant, other)["messages"]}
    job_id = _job(tenant, request)

    result = _run(job_id, part_size)

    assert result.runtime_status == "Completed", result.error
    assert result.output["status"] == "succeeded", result.output
    assert (result.output["restored"], result.output["parts"]) == (len(wanted), 4)
    state = _user_state(tenant, other)
    restored_roots = [f for f in state["folders"] if f["path"].count("/") == 1 and "Restored " in f["path"]]
    assert len(restored_roots) == 1, restored_roots  # four parts at once, one 'Restored ...' folder
    root = restored_roots[0]["path"]
    below = Counter(f["path"] for f in state["folders"] if f["path"].startswith(root + "/"))
    assert below == Counter(f"{root}{p}" for p in ("/Inbox", "/Inbox/Projects", "/Inbox/Projects/2026"))
    landed = [m for m in state["messages"] if m["id"] not in before]
    assert len(landed) == len(wanted)  # no duplicates
    assert Counter((m["folder_path"], m["internetMessageId"]) for m in landed) == Counter(
        (root + m["folder_path"], m["internetMessageId"]) for m in wanted
    )
    assert not any(m["isDraft"] for m in landed)

    job = tenant.services.restore_jobs.get(job_id)
    assert job["status"] == "succeeded" and job["parts"] == 4
    assert job["progress"] == {"parts": 4, "parts_done": 4, "restored": len(wanted), "skipped": 0, "failed": 0}
    assert job["destination_folder"] == root.lstrip("/")
    entry = _audit(tenant, job_id)
    assert (entry["result"], entry["resource"], entry["actor"]) == ("succeeded", request.resource, REQUESTER["oid"])
    assert entry["counts"]["restored"] == len(wanted) and entry["point"] == job["run_id"]
    assert result.sub_orchestrations == 1 and result.activities == 1 + 4 + 1
    assert result.max_history <= 40


def test_a_drive_folder_restore_in_parts_is_byte_identical(tenant: Tenant):
    user = tenant.user(0)["id"]
    drive = tenant.sim.control.drive(user)
    files = {i["path"]: i["sha256"] for i in drive["items"] if not i["folder"] and i["path"].startswith("/Documents/")}
    assert len(files) >= 6
    request = RestoreRequest(f"onedrive:{user}", folder="Documents", destination="new-folder")
    job_id = _job(tenant, request)

    result = _run(job_id, part_size=2)

    assert result.runtime_status == "Completed", result.error
    parts = math.ceil(len(files) / 2)
    assert result.output == {"job_id": job_id, "status": "succeeded", "run_id": result.output["run_id"],
                             "parts": parts, "restored": len(files), "skipped": 0, "failed": 0,
                             "failed_parts": 0}  # fmt: skip
    items = tenant.sim.control.drive(user)["items"]
    roots = [i for i in items if i["folder"] and i["path"].count("/") == 1 and i["path"].startswith("/Restored ")]
    assert len(roots) == 1, roots
    root = roots[0]["path"]
    landed = {i["path"].removeprefix(root): i["sha256"] for i in items if i["path"].startswith(root + "/")
              and not i["folder"]}  # fmt: skip
    assert landed == files
    folders = Counter(i["path"] for i in items if i["folder"] and i["path"].startswith(root + "/"))
    assert set(folders.values()) == {1}
    progress = tenant.services.restore_jobs.get(job_id)["progress"]
    assert (progress["parts"], progress["parts_done"], progress["restored"]) == (parts, parts, len(files))


def test_a_part_that_fails_leaves_its_siblings_and_the_job_is_partial(tenant: Tenant):
    from blueprints.restore import restore_part

    user = tenant.user(1)["id"]
    wanted = [m for m in _user_state(tenant, user)["messages"] if m["folder_path"].startswith("/Inbox")]
    job_id = _job(tenant, RestoreRequest(f"exchange:{user}", folder="Inbox", destination="new-folder"))
    real = restore_part._function.get_user_function()
    attempts: Counter[int] = Counter()

    def part_one_dies(payload: dict) -> dict:
        attempts[payload["part"]] += 1
        if payload["part"] == 1:
            raise ConnectionError("worker lost")
        return real(payload)

    result = _run(job_id, math.ceil(len(wanted) / 3), activities={"restore_part": part_one_dies})

    assert result.runtime_status == "Completed", result.error
    assert attempts == {0: 1, 1: 1, 2: 1}  # never retried
    assert (result.output["status"], result.output["failed_parts"]) == ("partial", 1)
    job = tenant.services.restore_jobs.get(job_id)
    assert job["status"] == "partial" and job["progress"]["parts_done"] == 3
    assert [e["part"] for e in job["part_errors"]] == [1] and "worker lost" in job["part_errors"][0]["error"]
    assert 0 < job["progress"]["restored"] < len(wanted)
    assert _audit(tenant, job_id)["result"] == "partial"


def test_an_invalid_job_finishes_failed_without_writing_to_the_tenant(tenant: Tenant):
    user = tenant.user(0)["id"]
    job_id = _job(tenant, RestoreRequest(f"exchange:{user}", item_ids=("AAMk-no-such-message",)))
    state_before, drives_before = tenant.sim.control.state(), tenant.sim.control.drives_state()
    tenant.sim.control.reset_stats()

    result = _run(job_id)

    assert result.runtime_status == "Completed", result.error
    assert result.output["status"] == "failed" and result.sub_orchestrations == 0
    stats = tenant.sim.control.stats()["by_kind"]
    assert sum(stats[k] for k in ("create", "drive_create", "upload", "upload_session", "pim_create")) == 0
    assert tenant.sim.control.state() == state_before and tenant.sim.control.drives_state() == drives_before
    job = tenant.services.restore_jobs.get(job_id)
    assert job["status"] == "failed" and "AAMk-no-such-message" in job["error"]
    assert job["progress"]["parts_done"] == 0
    entry = _audit(tenant, job_id)
    assert entry["result"] == "failed" and entry["actor_name"] == REQUESTER["name"]


def test_validation_checks_everything_before_anything_is_written(tenant: Tenant):
    user, other = tenant.user(0)["id"], tenant.user(1)["id"]
    tenant.sim.control.create_folder(user, "Empty")
    run = tenant.backup()
    services = tenant.services
    first_run = services.runs.resolve_point(f"exchange:{user}")
    tenant.sim.control.reset_stats()
    state_before = tenant.sim.control.state()
    nobody = "00000000-0000-0000-0000-000000000000"
    refused = [
        (RestoreRequest(f"exchange:{user}", item_ids=("AAMk-nope",)), NotFoundError, "not in the backup"),
        (RestoreRequest(f"exchange:{user}", folder="Inbox/Nope"), NotFoundError, "no folder"),
        (RestoreRequest(f"exchange:{user}", whole=True, run_id="20000101T000000000000Z"), NotFoundError, "run"),
        (RestoreRequest(f"exchange:{user}", whole=True, at=run_time(first_run).replace(year=2000)), NotFoundError,
         "before the first backup"),
        (RestoreRequest(f"exchange:{user}", whole=True, conflict="replace"), InvalidRequestError, "conflict"),
        (RestoreRequest(f"exchange:{user}", folder="Empty"), InvalidRequestError, "nothing to restore"),
        (RestoreRequest(f"exchange:{user}", whole=True, target_owner=nobody), NotFoundError, "no user"),
        (RestoreRequest(f"exchange:{user}", whole=True, target_owner=f"onedrive:{other}"), InvalidRequestError,
         "same workload"),
        (RestoreRequest(f"onedrive:{user}", whole=True, target_owner=nobody), NotFoundError, "no OneDrive"),
        (RestoreRequest(f"onedrive:{user}", item_ids=("nope/nope",)), NotFoundError, "not in the backup"),
    ]  # fmt: skip
    for request, error, message in refused:
        with pytest.raises(error, match=message):
            validate_restore(services, request)
    assert tenant.sim.control.stats()["by_kind"]["create"] == 0
    assert tenant.sim.control.state() == state_before

    mailbox = validate_restore(services, RestoreRequest(f"exchange:{user}", whole=True, target_owner=other))
    messages = len(_user_state(tenant, user)["messages"])
    assert (mailbox.run_id, mailbox.items, mailbox.parts) == (run["run_id"], messages, 1)
    split = validate_restore(services, RestoreRequest(f"exchange:{user}", whole=True), part_size=7)
    assert split.parts == math.ceil(messages / 7)
    to_other = RestoreRequest(f"onedrive:{user}", whole=True, target_owner=f"onedrive:{other}")
    files = [i for i in tenant.sim.control.drive(user)["items"] if not i["folder"]]
    assert validate_restore(services, to_other).items == len(files)


def test_a_mail_job_finds_its_target_folders_once_and_its_parts_ask_graph_nothing_about_them(tenant: Tenant):
    """Issue 10, requests per message: planning finds or makes the whole target tree and keeps it with the job; each
    part then costs one create per message (and one per attachment) and nothing else: no user check, no folder
    listing or create, no key read of a folder the job made."""
    from core.restore_job import plan_job, run_part

    source, other = tenant.user(0)["id"], tenant.user(1)["id"]
    wanted = [m for m in _user_state(tenant, source)["messages"] if m["folder_path"].startswith("/Inbox")]
    request = RestoreRequest(f"exchange:{source}", item_ids=tuple(m["id"] for m in wanted), destination="new-folder",
                             target_owner=other)  # fmt: skip
    job_id = _job(tenant, request)
    plan = plan_job(tenant.services, job_id, part_size=math.ceil(len(wanted) / 3))
    assert plan["parts"] == 3, plan
    folders = tenant.services.restore_jobs.folders(job_id)
    assert folders is not None and all(made for _, made in folders.values())
    assert sorted(p for p in folders if p) == sorted({m["folder_path"].lstrip("/") for m in wanted})

    control = tenant.sim.control
    control.reset_stats()
    counts = [run_part(tenant.services, job_id, part, 3, plan["run_id"], plan["destination_name"]) for part in range(3)]
    assert sum(c["restored"] for c in counts) == len(wanted) and not any(c["failed"] for c in counts)
    by_kind = {kind: n for kind, n in control.stats()["by_kind"].items() if n and kind != "token"}
    assert set(by_kind) <= {"create", "pim_create"} and by_kind["create"] == len(wanted), by_kind  # + attachments
    again = plan_job(tenant.services, job_id, part_size=math.ceil(len(wanted) / 3))  # activities run at least once
    assert (again["parts"], again["destination_name"]) == (3, plan["destination_name"])
    assert tenant.services.restore_jobs.folders(job_id) == folders
