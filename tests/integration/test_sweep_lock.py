"""The blob sweep and a backup never cross (core/storage/sweep_lock.py, core/lifecycle/removal.py): while a backup
run is in progress no blob is deleted (every one deferred, to the next purge); a backup that starts while a sweep
holds the lock waits until it is released, or until the lock goes stale (a sweep that died)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.bootstrap import Services
from core.lifecycle.removal import remove_blobs
from core.planning import new_run_id
from core.storage import sweep_lock
from core.storage.content_store import blob_name
from core.storage.sweep_lock import LOCK_PK, LOCK_RK, fresh_holder
from tests.integration.purge_runs import fresh_services
from tests.integration.tenant import Tenant, surface_tenant_fixture

tenant = surface_tenant_fixture("sweep-lock", users=1)


@pytest.fixture
def services(tenant: Tenant, azurite) -> Iterator[Services]:
    with fresh_services(tenant, azurite) as built:  # a storage slice of its own per test
        yield built


def _exists(services: Services, sha: str) -> bool:
    return services.content._container.get_blob_client(blob_name(sha)).exists()


def test_no_blob_is_deleted_while_a_backup_runs_and_all_go_once_it_has_finished(services: Services):
    stored = [services.content.put_bytes(f"orphan {n}".encode()).sha256 for n in range(3)]
    later = datetime.now(UTC) + timedelta(days=2)  # past the blobs' IMMUTABILITY_DAYS
    run_id = new_run_id(datetime.now(UTC))
    services.runs.start(run_id, "schedule")  # a Durable run: no owner, running until it finishes
    waiting = remove_blobs(services, stored, later)
    assert (waiting.deferred, waiting.removed, waiting.done) == (3, 0, [])
    assert all(_exists(services, sha) for sha in stored)
    services.runs.finish(run_id, {"status": "succeeded"})
    done = remove_blobs(services, stored, later)
    assert (done.removed, done.deferred, sorted(done.done)) == (3, 0, sorted(stored)) and done.bytes > 0
    assert not any(_exists(services, sha) for sha in stored)
    again = remove_blobs(services, stored, later)  # idempotent: gone is gone, counted once
    assert (again.removed, again.gone) == (0, 3)
    assert fresh_holder(services.runs.sweep_lock("x")._table) == ""  # released


def test_a_backup_start_waits_for_a_sweep_holding_the_lock(services: Services):
    lock = services.runs.sweep_lock("purge")
    assert lock.acquire()
    assert not services.runs.sweep_lock("erasure-1").acquire()  # one sweep at a time
    released = threading.Event()

    def release() -> None:
        released.set()  # before the release: a start that returns has seen it
        lock.release()

    threading.Timer(1.5, release).start()
    services.runs.start(new_run_id(datetime.now(UTC)), "cli")
    assert released.is_set()  # it waited for the release


def test_a_stale_lock_holds_nobody_up(services: Services):
    table = services.runs.sweep_lock("purge")._table
    stale = (datetime.now(UTC) - sweep_lock.STALE_AFTER - timedelta(seconds=5)).isoformat()
    table.upsert_entity({"PartitionKey": LOCK_PK, "RowKey": LOCK_RK, "owner": "purge", "heartbeat_at": stale})
    assert fresh_holder(table) == ""  # a died sweep's lock holds nobody: a start does not wait for it
    services.runs.start(new_run_id(datetime.now(UTC)), "cli")
    assert services.runs.sweep_lock("erasure-2").acquire()  # a died sweep's lock is taken over
