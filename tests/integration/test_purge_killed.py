"""A purge killed with SIGKILL at 10 random moments, and run again after each: every retained point still restores
byte-identical after every kill, and the last run leaves nothing expired and no blob nothing references. A moment is
a random number of storage requests into the purge (tests/integration/purge_driver.py kills itself just before
that request), so each kill lands between two storage operations wherever the purge's time goes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.lifecycle.purge_plan import plan_resource
from core.planning import run_time
from core.retention import Point, keep, parse_policy
from core.verify import verify
from tests.conftest import isolated_storage
from tests.integration.purge_runs import (
    LATER,
    fresh_services,
    referenced_blobs,
    restored_as_of,
    simulated_history,
    stored_blobs,
    usable_points,
)
from tests.integration.tenant import Tenant, open_tenant

REPO = Path(__file__).resolve().parents[2]
POLICY = "daily=5, weekly=3"
DAYS = [30, 26, 22, 19, 16, 13, 11, 9, 7, 6, 5, 4, 3, 2, 1, 0.5]
KILLS = 10


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange", "BACKUP_ARCHIVE_MAILBOXES": "false"}
    t = open_tenant(tmp_path_factory.mktemp("purge-kill") / "sim", isolated_storage(azurite), settings, users=1,
                    messages=6, seed=67, contacts=0, events=0, tasks=0)  # fmt: skip
    yield t
    t.close()


def _purge(env: dict[str, str], kill_before: int | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    extra = {"KILL_BEFORE_REQUEST": str(kill_before)} if kill_before else {}
    return subprocess.run([sys.executable, "-m", "tests.integration.purge_driver"], cwd=REPO, capture_output=True,
                          env={**clean, **env, **extra, "PYTHONPATH": str(REPO)}, text=True, timeout=300)  # fmt: skip


def test_a_purge_killed_at_random_moments_loses_no_retained_point_and_finishes_the_job(tenant, azurite):
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    settings = {"RETENTION_OVERRIDES": f"{resource} = {POLICY}", "PURGE_GRACE_HOURS": "0"}
    with fresh_services(tenant, azurite, **settings) as services:
        held = simulated_history(tenant, services, user, DAYS, seed=5, changes=8)
        expected = sorted(keep([Point(r, run_time(r), True) for r in held], parse_policy(POLICY), LATER))
        assert len(expected) >= 4, expected
        before = plan_resource(services, resource, LATER)
        assert len(before.expiring) >= 8 and len(before.expired) >= 20, (before.expiring, len(before.expired))
        storage = {
            "BACKUP_CONTAINER": services.settings.container,
            "BACKUP_TABLE_PREFIX": services.settings.table_prefix,
        }
        env = {**tenant.env, **storage, **settings, "IMMUTABILITY_DAYS": "1", "PURGE_AS_OF": LATER.isoformat()}

        rng, killed, progress = random.Random(2026), 0, []
        for _ in range(KILLS):
            done = _purge(env, kill_before=rng.randint(8, 90))
            assert done.returncode in (0, -9), done.stderr  # finished, or killed where it stood
            killed += done.returncode == -9
            points = usable_points(services, resource)
            assert set(expected) <= set(points)  # no retained point lost, and each restores byte for byte
            for run_id in expected:
                assert restored_as_of(tenant, services, user, run_id) == held[run_id], run_id
            assert verify(services, [resource])["status"] == "ok"  # every blob a remaining version needs is there
            progress.append(
                (len(points), len(list(services.catalog.all_versions(resource))), len(stored_blobs(services)))
            )
        assert killed >= 6, progress  # most kills landed inside a purge with work left to do
        assert len({p for p in progress}) >= 3, progress  # and the kills fell at different stages of it

        final = _purge(env)
        assert final.returncode == 0, final.stderr
        assert json.loads(final.stdout)["status"] == "succeeded"
        assert usable_points(services, resource) == expected
        after = plan_resource(services, resource, LATER, versions=True)
        assert after.expiring == [] and after.expired == []
        assert stored_blobs(services) == referenced_blobs(services)
        marks = services.runs.purge_marks
        assert marks.of("point") == {} and marks.of("version") == {} and marks.of("blob") == {}
