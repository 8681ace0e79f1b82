"""The scheduled verification's and purge's histories stay under a fixed bound however many resources there are:
the plan stores the resource list (core/storage/run_resources.py) and returns its reference, batches read their
keys and return counts, and more batches than BACKUP_FANOUT_WIDTH go through verify_fanout / purge_fanout nodes.
Run end to end by devenv.durable_local with the real orchestrators and the real batch-read and finish activities
(and the purge's blob sweep and erasure step) against Azurite; the per-resource activities are stand-ins (a
verification of 400 backed-up mailboxes would take minutes), and so is the plan's half that finds the resources:
the stand-in stores its keys through the same helper the real plan calls (blueprints.fan_in.store_list)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from blueprints.fan_in import store_list
from blueprints.purge import PURGE_INSTANCE
from blueprints.services import provider
from blueprints.verify import VERIFY_INSTANCE
from core import verify as verify_cases
from core.bootstrap import Services
from core.lifecycle import purge as purge_cases
from core.storage.purge_log import COUNTS as PURGE_COUNTS
from core.verify import COUNTS as VERIFY_COUNTS
from core.verify import ResourceVerification
from devenv.durable_local import LocalResult, run_orchestration
from tests.conftest import isolated_storage
from tests.integration.tenant import host_services, open_tenant

BATCH_SIZE, WIDTH = 5, 4
SMALL, LARGE = 80, 400  # 16 batches: 4 fan-out nodes of 4; 80 batches: nodes of 64 and 16 batches, a tree of depth 3


@pytest.fixture(scope="module")
def services(tmp_path_factory, azurite) -> Iterator[Services]:
    settings = {"BACKUP_BATCH_SIZE": str(BATCH_SIZE), "BACKUP_FANOUT_WIDTH": str(WIDTH),
                "VERIFY_SAMPLE_PERCENT": "50", "PURGE_GRACE_HOURS": "0"}  # fmt: skip
    state = tmp_path_factory.mktemp("list-history-bound") / "sim"
    tenant = open_tenant(state, isolated_storage(azurite), settings, users=1, messages=0, contacts=0, events=0,
                         tasks=0, archive_messages=0)  # fmt: skip
    try:
        with host_services(tenant) as built:
            yield built
    finally:
        tenant.close()


def number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


class StandIns:
    """`count` resources; numbers 13 and 47 raise on every attempt (the same two at every size: what fails is named
    in the record, bounded but not constant); the batch read of `lost_batch` always fails."""

    def __init__(self, count: int, lost_batch: int | None = None) -> None:
        self.keys = [f"exchange:user-{n}" for n in range(count)]
        self.attempts: Counter[str] = Counter()
        self.lost_batch = lost_batch
        self._lock = threading.Lock()

    def plan(self, lists_of, id_key: str, **extra):
        def plan(payload: dict) -> dict:
            services = provider.get()
            return {**store_list(lists_of(services), payload[id_key], self.keys, services.settings), **extra}

        return plan

    def reader(self, real):
        def read(payload: dict) -> list[str]:
            if payload["batch"] == self.lost_batch:
                raise ConnectionError("table unreachable")
            return real._function.get_user_function()(payload)

        return read

    def resource(self, result_of):
        def run(payload: dict) -> dict:
            key = payload["resource"]
            with self._lock:
                self.attempts[key] += 1
            if self.raises(key):
                raise ConnectionError(f"worker lost on {key}")
            return result_of(key)

        return run

    @staticmethod
    def raises(key: str) -> bool:
        return number(key) in (13, 47)

    def kept(self) -> list[str]:
        """The keys whose batch was read."""
        return [k for i, k in enumerate(self.keys) if i // BATCH_SIZE != self.lost_batch]


def verified(key: str) -> dict:
    n = number(key)
    return ResourceVerification(key, versions=n % 7, blobs=n % 5, checked=n % 3, bytes=10 * n).to_dict()


def purged(key: str) -> dict:
    n = number(key)
    return {**dict.fromkeys(PURGE_COUNTS, 0), "resources": 1, "points": n % 3, "versions": n % 4, "marked": n % 2}


def verify(count: int, lost_batch: int | None = None) -> tuple[LocalResult, StandIns]:
    from blueprints.verify import verify_batch_resources

    stand_ins = StandIns(count, lost_batch)
    activities = {"verify_plan": stand_ins.plan(lambda s: s.runs.verify_lists, "verification_id", fraction=0.5),
                  "verify_batch_resources": stand_ins.reader(verify_batch_resources),
                  "verify_resource": stand_ins.resource(verified)}  # fmt: skip
    result = run_orchestration("verify_orchestrator", {"trigger": "schedule"}, activities, max_parallel=4,
                               instance_id=VERIFY_INSTANCE, retry_delay_scale=0)  # fmt: skip
    assert result.runtime_status == "Completed", result.error
    return result, stand_ins


def purge(count: int, lost_batch: int | None = None) -> tuple[LocalResult, StandIns]:
    from blueprints.purge import purge_batch_resources

    stand_ins = StandIns(count, lost_batch)
    activities = {"purge_plan": stand_ins.plan(lambda s: s.runs.purge_lists, "purge_id"),
                  "purge_batch_resources": stand_ins.reader(purge_batch_resources),
                  "purge_resource": stand_ins.resource(purged)}  # fmt: skip
    result = run_orchestration("purge_orchestrator", {"trigger": "schedule"}, activities, max_parallel=4,
                               instance_id=PURGE_INSTANCE, retry_delay_scale=0)  # fmt: skip
    assert result.runtime_status == "Completed", result.error
    return result, stand_ins


def assert_bounded(small: LocalResult, large: LocalResult) -> None:
    # the parent holds the plan, at most WIDTH children and the finish (the purge: its sweep too) at both sizes
    assert len(large.history) <= len(small.history) + 2 * 2, (len(small.history), len(large.history))
    assert large.history_bytes <= small.history_bytes * 1.1, (small.history_bytes, large.history_bytes)
    named = set(re.findall(r"exchange:user-\d+", json.dumps(large.history)))
    assert named == {"exchange:user-13", "exchange:user-47"}  # only the failed ones, named: no list, a reference
    # no orchestration holds more than WIDTH children or BATCH_SIZE activities (+ episodes, the read, retries)
    bound = 4 + 3 * max(WIDTH, BATCH_SIZE + 1) + 2 * 3
    assert max(small.max_history, large.max_history) <= bound + 3 * 2 * 3, (small.max_history, large.max_history)
    assert large.max_history_bytes <= small.max_history_bytes * 1.25, (small.max_history_bytes, large.max_history_bytes)
    assert large.max_history_bytes < 16_000


def test_the_verification_counts_every_result_through_the_tree_and_its_history_does_not_grow(services: Services):
    small, _ = verify(SMALL)
    large, stand_ins = verify(LARGE)

    output, recorded = large.output, services.runs.verifications.latest(1)[0]
    expected = verify_cases.add_up(
        [verify_cases.failed_resource(k, "lost") if stand_ins.raises(k) else verified(k) for k in stand_ins.keys]
    )
    assert recorded["verification_id"] == output["verification_id"] and recorded["sample"] == 0.5
    assert {k: recorded[k] for k in ("resources", *VERIFY_COUNTS)} == {
        k: expected[k] for k in ("resources", *VERIFY_COUNTS)
    }
    assert recorded["unreadable"] == sum(map(stand_ins.raises, stand_ins.keys)) > 0 and output["status"] == "problems"
    assert [p["resource"] for p in recorded["problems"]] == [k for k in stand_ins.keys if stand_ins.raises(k)]
    assert stand_ins.attempts == {k: 3 if stand_ins.raises(k) else 1 for k in stand_ins.keys}  # none lost or repeated
    assert large.sub_orchestrations == 80 + 2 + 4 + 16 + 4  # batches; nodes of 64 and 16; of 16 (4); of 4 (16 + 4)
    assert services.runs.verify_lists.forget(output["verification_id"]) == 0  # verify_finish removed the list
    assert_bounded(small, large)


def test_the_purge_counts_every_result_through_the_tree_and_its_history_does_not_grow(services: Services):
    small, _ = purge(SMALL)
    large, stand_ins = purge(LARGE)

    output, recorded = large.output, services.runs.purges.latest(1)[0]
    parts = [purge_cases.failed_resource(k, "lost") if stand_ins.raises(k) else purged(k) for k in stand_ins.keys]
    expected = purge_cases.add_up(parts)
    assert recorded["purge_id"] == output["purge_id"] and recorded["status"] == "partial"
    for key in ("resources", "failed", "points", "versions", "marked"):
        assert recorded[key] == expected[key], key
    assert recorded["error"].startswith("exchange:user-13: ")
    assert stand_ins.attempts == {k: 3 if stand_ins.raises(k) else 1 for k in stand_ins.keys}
    assert services.runs.purge_lists.forget(output["purge_id"]) == 0  # purge_finish removed the list
    assert_bounded(small, large)


def test_a_batch_whose_keys_cannot_be_read_counts_its_resources_and_the_others_go_on(services: Services):
    _, stand_ins = purge(SMALL, lost_batch=6)  # batch 6: in the second fan-out node, resources 30-34

    recorded = services.runs.purges.latest(1)[0]
    kept = stand_ins.kept()
    assert set(stand_ins.attempts) == set(kept) and len(kept) == SMALL - BATCH_SIZE
    assert recorded["resources"] == SMALL
    assert recorded["failed"] == BATCH_SIZE + sum(map(stand_ins.raises, kept))
    assert recorded["points"] == sum(purged(k)["points"] for k in kept if not stand_ins.raises(k))
    assert f"{BATCH_SIZE} resources: batch failed: " in recorded["error"]

    _, stand_ins = verify(SMALL, lost_batch=6)
    recorded = services.runs.verifications.latest(1)[0]
    assert (recorded["resources"], recorded["unreadable"]) == (SMALL, BATCH_SIZE + sum(map(stand_ins.raises, kept)))
    assert any(p["detail"].startswith(f"{BATCH_SIZE} resources: batch failed: ") for p in recorded["problems"])
