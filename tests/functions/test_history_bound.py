"""The backup orchestrations' histories stay under a fixed bound however many resources a run has: the resource
list is stored (core/storage/run_resources.py) and passed by reference, batches return counts, and more batches than
BACKUP_FANOUT_WIDTH go through a tree of backup_fanout orchestrations. Run end to end by devenv.durable_local with
the real orchestrators and the real start_run, batch_resources and finish_run activities against Azurite; the
resources' own backups are stand-ins (a run of 2,000 mailboxes against the simulator would take minutes), and so is
discovery's Graph half: the stand-in stores its keys through the same use case the real activity calls."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from blueprints.services import provider
from core import backup as use_cases
from core.bootstrap import Services
from core.planning import failed_result, plan_fanout, summarize
from devenv.durable_local import LocalResult, run_orchestration
from tests.conftest import isolated_storage
from tests.integration.tenant import host_services, open_tenant

BATCH_SIZE, WIDTH = 5, 4


@pytest.fixture(scope="module")
def services(tmp_path_factory, azurite) -> Iterator[Services]:
    """The host's services for a small simulated tenant (only its sign-in is used: the backups are stand-ins)."""
    settings = {"BACKUP_BATCH_SIZE": str(BATCH_SIZE), "BACKUP_FANOUT_WIDTH": str(WIDTH)}
    state = tmp_path_factory.mktemp("history-bound") / "sim"
    tenant = open_tenant(state, isolated_storage(azurite), settings, users=1, messages=0, contacts=0, events=0,
                         tasks=0, archive_messages=0)  # fmt: skip
    try:
        with host_services(tenant) as built:
            yield built
    finally:
        tenant.close()


def result_of(key: str) -> dict:
    """What the stand-in backup of resource number n returns: mostly succeeded, some partial, some failed."""
    n = int(key.rsplit("-", 1)[1])
    status = "failed" if n % 7 == 3 else "partial" if n % 5 == 1 else "succeeded"
    return {"resource": key, "status": status, "items": n % 11, "bytes": 100 * (n % 11), "removed": n % 2,
            "failed_items": int(status == "partial")}  # fmt: skip


class StandIns:
    """Discovery of `count` resources and their backups; resources numbered 97k + 13 raise on every attempt."""

    def __init__(self, count: int) -> None:
        self.keys = [f"exchange:user-{n}" for n in range(count)]
        self.attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def discover(self, payload: dict) -> dict:
        listed = use_cases.store_resource_list(provider.get(), payload["run_id"], self.keys)
        return {"run_id": payload["run_id"], **listed, "discovery_errors": {}}

    def backup(self, payload: dict) -> dict:
        key = payload["resource"]
        with self._lock:
            self.attempts[key] += 1
        if self.raises(key):
            raise ConnectionError(f"worker lost backing up {key}")
        return result_of(key)

    @staticmethod
    def raises(key: str) -> bool:
        return int(key.rsplit("-", 1)[1]) % 97 == 13

    def expected(self) -> list[dict]:
        return [failed_result(k, "lost") if self.raises(k) else result_of(k) for k in self.keys]


def run(count: int) -> tuple[LocalResult, StandIns]:
    stand_ins = StandIns(count)
    activities = {"discover_resources": stand_ins.discover, "backup_resource": stand_ins.backup}
    result = run_orchestration("backup_orchestrator", {"trigger": "schedule"}, activities, max_parallel=4,
                               retry_delay_scale=0)  # fmt: skip
    assert result.runtime_status == "Completed", result.error
    return result, stand_ins


def orchestrations_below(first: int, count: int, width: int) -> int:
    """How many sub-orchestrations the fan-out over these batches starts: batches and backup_fanout nodes."""
    return sum(1 if span == 1 else 1 + orchestrations_below(start, span, width)
               for start, span in plan_fanout(first, count, width))  # fmt: skip


def test_a_run_of_1000_resources_counts_every_result_through_the_fanout_tree(services: Services):
    result, stand_ins = run(1_000)

    summary = result.output
    expected = summarize(summary["run_id"], stand_ins.expected())
    assert summary == expected
    assert (summary["resources"], summary["status"]) == (1_000, "partial")
    assert summary["failed"] == sum(1 for r in stand_ins.expected() if r["status"] == "failed") > 0
    # each resource backed up once, a raising one three times (RESOURCE_RETRY), none forgotten or repeated
    assert stand_ins.attempts == {k: 3 if stand_ins.raises(k) else 1 for k in stand_ins.keys}
    # 200 batches, and above them the tree: 4 nodes (64, 64, 64, 8 batches), then nodes of 16, 4
    assert result.sub_orchestrations == orchestrations_below(0, 200, WIDTH) == 200 + 4 + 12 + 2 + 48
    recorded = services.runs.get(summary["run_id"])
    assert {k: recorded[k] for k in ("status", "resources", "succeeded", "partial", "failed", "items")} == {
        k: expected[k] for k in ("status", "resources", "succeeded", "partial", "failed", "items")
    }
    assert services.runs.resource_lists.forget(summary["run_id"]) == 0  # finish_run removed the stored list


def test_no_history_grows_with_the_resources(services: Services):
    small, _ = run(80)  # 16 batches: 4 fan-out nodes of 4
    large, _ = run(1_000)  # 200 batches: 12.5 times as many resources, a tree of depth 4

    # the parent holds start, discovery, at most WIDTH children and the finish: the same at both sizes
    assert len(large.history) <= len(small.history) + 2 * 2  # an episode more or less (completions may coincide)
    assert large.history_bytes <= small.history_bytes * 1.1, (small.history_bytes, large.history_bytes)
    # no orchestration of the run holds more than WIDTH children or BATCH_SIZE activities (+ episodes, + 1 read),
    # at either size: the bound does not depend on the resources. (Not small <= large: how many completions one
    # episode takes in depends on timing, so the longest history of a run moves by an episode's 2 events or so.)
    bound = 4 + 3 * max(WIDTH, BATCH_SIZE + 1) + 2 * 3  # starts and ends, each child 2-3 events, retried ones' timers
    assert max(small.max_history, large.max_history) <= bound + 3 * 2 * 3, (small.max_history, large.max_history)
    assert large.max_history_bytes <= small.max_history_bytes * 1.25, (
        small.max_history_bytes,
        large.max_history_bytes,
    )
    assert large.max_history_bytes < 16_000
