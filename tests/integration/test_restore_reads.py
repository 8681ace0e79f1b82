"""What a restore reads from the catalog, counted by the catalog itself (Catalog.reads: queries sent and rows
returned, by category), against Azurite and the Graph simulator: one selection per restore, kept with the job.

A one-message restore reads the same few rows whatever the size of the mailbox (the message and its folder by id
when it is selected, the message by id again when its part runs, the folder list once when the job finds its target
folders); a job in N parts reads the selection once (its parts together read each selected item once, by id) and
planning it again selects nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.restore import restore
from core.restore_job import finish_job, plan_job, run_part
from core.restore_plan import validate_restore
from core.restore_request import RestoreRequest
from core.storage.catalog import FOLDER
from core.storage.restore_jobs import _part_key, new_job_id
from core.workloads.base import Pick
from core.workloads.exchange.mail_backup import MAIL
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant

REQUESTER = {"oid": "11111111-2222-3333-4444-555555555555", "name": "operator@contoso.test", "roles": ["Restore.All"]}


@contextmanager
def _mailbox(tmp_path, storage_env, messages: int) -> Iterator[Tenant]:
    tenant = open_tenant(tmp_path / f"sim{messages}", storage_env, {"BACKUP_WORKLOADS": "exchange"}, users=1,
                         messages=messages, seed=5, contacts=0, events=0, drive_files=0, sites=0)  # fmt: skip
    try:
        assert tenant.backup()["status"] == "succeeded"
        yield tenant
    finally:
        tenant.close()


def _rows(tenant: Tenant) -> dict[str, int]:
    return tenant.services.catalog.reads.snapshot()["rows"]


def _record(tenant: Tenant, request: RestoreRequest) -> str:
    """Validate and record a job as the API does (api/routes_restores.py): the selection kept with it."""
    services = tenant.services
    validated = validate_restore(services, request)
    job_id = new_job_id()
    assert validated.selection is not None
    picks = [Pick.of(s) for s in validated.selection.items]
    services.restore_jobs.save_selection(job_id, validated.run_id, validated.items, picks)
    services.restore_jobs.create(job_id, request, REQUESTER)
    return job_id


def _run_job(tenant: Tenant, job_id: str, part_size: int | None = None) -> dict:
    services = tenant.services
    plan = plan_job(services, job_id, part_size)
    counts = [run_part(services, job_id, p, plan["parts"], plan["run_id"], plan["destination_name"])
              for p in range(plan["parts"])]  # fmt: skip
    totals = {k: sum(c[k] for c in counts) for k in ("restored", "skipped", "failed")}
    return finish_job(services, job_id, totals, [])


def _one_message(tenant: Tenant) -> dict[str, dict[str, int]]:
    """Catalog rows read by a one-message restore into a new folder: through a job (as the API records it), and
    on its own (as the CLI runs it)."""
    user = tenant.user(0)["id"]
    message = sorted(tenant.live_messages(user))[0]
    request = RestoreRequest(f"exchange:{user}", item_ids=(message,), destination="new-folder",
                             destination_name="One message")  # fmt: skip
    catalog = tenant.services.catalog
    catalog.reads.reset()
    summary = _run_job(tenant, _record(tenant, request))
    assert (summary["status"], summary["restored"], summary["parts"]) == ("succeeded", 1, 1), summary
    job = _rows(tenant)
    catalog.reads.reset()
    report = restore(tenant.services, RestoreRequest(f"exchange:{user}", item_ids=(message,), conflict="keep-both"))
    assert (report.restored, report.failed) == (1, 0), report.to_dict()
    return {"job": job, "cli": _rows(tenant)}


def test_a_one_message_restore_reads_the_same_few_rows_in_a_small_and_a_large_mailbox(tmp_path, azurite):
    read: dict[int, dict[str, dict[str, int]]] = {}
    folders: dict[int, int] = {}
    for size in (20, 60):
        with _mailbox(tmp_path, isolated_storage(azurite), size) as tenant:  # storage of its own: same user id
            user = tenant.user(0)["id"]
            assert len(tenant.live_messages(user)) == size
            run_id = tenant.services.runs.resolve_point(f"exchange:{user}")
            folders[size] = sum(1 for _ in tenant.services.catalog.as_of(f"exchange:{user}", FOLDER, run_id))
            read[size] = _one_message(tenant)
    for size in (20, 60):
        job, cli = read[size]["job"], read[size]["cli"]
        assert job.get(MAIL, 0) == 2, job  # selected by id at validation, loaded by id by its part: no scan
        assert cli.get(MAIL, 0) == 1, cli  # selected by id, restored from that
        # its folder by id when selected; the folder list once (top folders' well-known names) when the job or the
        # restore finds its target folders: bounded by the folders, not the messages
        assert job.get(FOLDER, 0) <= 1 + folders[size] and cli.get(FOLDER, 0) <= 1 + folders[size]
    assert read[20]["job"][MAIL] == read[60]["job"][MAIL] and read[20]["cli"][MAIL] == read[60]["cli"][MAIL]


def test_a_job_in_parts_reads_its_selection_once_and_each_item_once(tmp_path, storage_env):
    with _mailbox(tmp_path, storage_env, 60) as tenant:
        user = tenant.user(0)["id"]
        services = tenant.services
        catalog = services.catalog
        request = RestoreRequest(f"exchange:{user}", whole=True, destination="new-folder", destination_name="Parts")
        catalog.reads.reset()
        job_id = _record(tenant, request)
        selected = _rows(tenant)
        assert selected.get(MAIL, 0) == 60  # the one selection: a scan of the mailbox, at validation

        catalog.reads.reset()
        plan = plan_job(services, job_id, part_size=15)
        assert (plan["parts"], plan["items"]) == (4, 60), plan
        assert _rows(tenant).get(MAIL, 0) == 0  # planning splits the kept selection: it selects nothing
        catalog.reads.reset()
        again = plan_job(services, job_id, part_size=15)  # activities run at least once
        assert (again["parts"], again["run_id"]) == (4, plan["run_id"]) and _rows(tenant) == {}

        catalog.reads.reset()
        counts = [run_part(services, job_id, p, 4, plan["run_id"], plan["destination_name"]) for p in range(4)]
        parts = catalog.reads.snapshot()
        assert sum(c["restored"] for c in counts) == 60 and not any(c["failed"] for c in counts), counts
        assert parts["rows"] == {MAIL: 60}  # every item once, by id; the folders came with the job
        assert parts["queries"] == {MAIL: 60}

        summary = finish_job(services, job_id, {"restored": 60, "skipped": 0, "failed": 0}, [])
        assert (summary["status"], summary["parts"]) == ("succeeded", 4)
        job = services.restore_jobs.get(job_id)
        assert job["progress"] == {"parts": 4, "parts_done": 4, "restored": 60, "skipped": 0, "failed": 0}


def test_a_job_recorded_without_its_selection_selects_once_at_planning(tmp_path, storage_env):
    with _mailbox(tmp_path, storage_env, 20) as tenant:
        user = tenant.user(0)["id"]
        services = tenant.services
        job_id = new_job_id()
        services.restore_jobs.create(job_id, RestoreRequest(f"exchange:{user}", whole=True), REQUESTER)
        services.catalog.reads.reset()
        summary = _run_job(tenant, job_id, part_size=7)
        assert (summary["status"], summary["parts"], summary["skipped"]) == ("succeeded", 3, 20), summary
        assert _rows(tenant).get(MAIL, 0) == 20 + 20  # one scan at planning, each item once by its part


def test_a_part_run_again_never_restores_its_messages_twice(tmp_path, storage_env):
    """Activities run at least once: a part run again after it finished answers what it recorded; a part run again
    after a crash before it recorded (its messages in folders the job made) looks in those folders first."""
    with _mailbox(tmp_path, storage_env, 12) as tenant:
        user = tenant.user(0)["id"]
        services = tenant.services
        request = RestoreRequest(f"exchange:{user}", whole=True, destination="new-folder", destination_name="Again")
        job_id = _record(tenant, request)
        plan = plan_job(services, job_id, part_size=6)
        assert plan["parts"] == 2
        first = [run_part(services, job_id, p, 2, plan["run_id"], plan["destination_name"]) for p in range(2)]
        assert sum(c["restored"] for c in first) == 12
        restored = len(tenant.live_messages(user))

        again = run_part(services, job_id, 0, 2, plan["run_id"], plan["destination_name"])
        assert again == first[0]  # answered from its record: nothing sent to Graph

        table = services.restore_jobs._table  # a crash after the part restored, before it recorded: no record
        table.delete_entity(job_id, _part_key(1))
        crashed = run_part(services, job_id, 1, 2, plan["run_id"], plan["destination_name"])
        assert (crashed["restored"], crashed["skipped"], crashed["failed"]) == (0, first[1]["restored"], 0), crashed
        assert len(tenant.live_messages(user)) == restored  # not one message twice
