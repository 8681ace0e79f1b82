"""The local runner with worker processes (BACKUP_LOCAL_PROCESSES > 1, core/resource_processes.py): each process
builds its own services and owns whole mailboxes; the results come back to the parent, which records the run and
calls the CLI's progress callbacks. A worker that dies fails only the resources it had started."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

from tests.integration.tenant import Tenant, open_tenant


def _tenant(tmp_path, storage_env, users: int, processes: int, **sim: object) -> Tenant:
    settings = {"BACKUP_LOCAL_PROCESSES": str(processes), "BACKUP_LOCAL_CONCURRENCY": str(2 * processes)}
    return open_tenant(tmp_path / "sim", storage_env, settings=settings, users=users, contacts=0, events=0, tasks=0,
                       archive_messages=0, **sim)  # fmt: skip


def _catalog_matches(tenant: Tenant, run_id: str) -> None:
    for user in tenant.mailboxes():
        assert tenant.catalog_messages(user["id"], run_id) == tenant.live_messages(user["id"]), user["id"]


def test_worker_processes_back_up_whole_mailboxes_and_the_parent_records_the_run(tmp_path, storage_env):
    tenant = _tenant(tmp_path, storage_env, users=5, processes=2, messages=12, seed=41)
    try:
        planned, seen, workers = [], [], []
        first = tenant.backup(on_plan=planned.append, on_resource=seen.append, on_workers=workers.extend)
        assert first["status"] == "succeeded", first
        mailboxes = tenant.mailboxes()
        assert first["resources"] == len(mailboxes) == planned[0]
        assert first["items"] == sum(len(u["messages"]) for u in mailboxes)
        assert sorted(r["resource"] for r in seen) == sorted(f"exchange:{u['id']}" for u in mailboxes)
        _catalog_matches(tenant, first["run_id"])
        assert tenant.services.runs.get(first["run_id"])["status"] == "succeeded"  # recorded by the parent

        assert len(workers) == 2 and len({w["pid"] for w in workers} | {os.getpid()}) == 3  # two other processes
        assert sum(w["resources"] for w in workers) == len(mailboxes)
        assert sum(w["written"]["blobs"] for w in workers) > 0
        assert all(w["graph"]["requests"] > 0 and w["peak_rss_bytes"] > 0 for w in workers if w["resources"])
        assert tenant.services.graph.stats().get("requests", 0) < sum(w["graph"]["requests"] for w in workers)

        user = mailboxes[0]["id"]
        added = tenant.sim.control.add_message(user, "inbox", subject="after the first run")
        second = tenant.backup()
        assert second["status"] == "succeeded" and second["items"] == 1, second
        assert added["id"] in tenant.catalog_messages(user, second["run_id"])
        _catalog_matches(tenant, second["run_id"])
    finally:
        tenant.close()


def test_a_worker_that_dies_fails_only_the_mailboxes_it_had_started(tmp_path, storage_env):
    tenant = _tenant(tmp_path, storage_env, users=4, processes=2, messages=40, seed=42, latency_ms=60)
    try:
        outcome: dict = {}
        run = threading.Thread(target=lambda: outcome.update(tenant.backup()))
        run.start()
        deadline = time.monotonic() + 60
        while len(tenant.sim.control.stats()["max_in_flight"]) < 4:  # every mailbox begun: two in each worker
            assert time.monotonic() < deadline, "the workers did not start backing up"
            time.sleep(0.02)
        victim = multiprocessing.active_children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        run.join(timeout=120)
        assert not run.is_alive()

        results = outcome["results"]
        assert len(results) == 4 and outcome["resources"] == 4  # every mailbox has an outcome
        failed = [r for r in results if r["status"] == "failed"]
        assert failed and all(f"worker process {victim.pid} exited with code -9" in r["error"] for r in failed)
        assert len(failed) == 2  # the two it had started (2 threads a worker); the other worker's two succeeded
        assert {r["status"] for r in results} - {"failed"} == {"succeeded"}
        assert tenant.services.runs.get(outcome["run_id"])["status"] == outcome["status"] != "succeeded"

        again = tenant.backup()  # the next run loses nothing
        assert again["status"] == "succeeded", again
        _catalog_matches(tenant, again["run_id"])
    finally:
        tenant.close()
