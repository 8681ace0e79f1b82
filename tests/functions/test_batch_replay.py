"""Replay the backup's fan-out nodes (backup_fanout) and batches (backup_batch) through azure-functions-durable's
replay engine with hand-built histories, and check the actions they ask for and the output they return."""

from __future__ import annotations

import pytest

from blueprints.backup import backup_batch, backup_fanout
from core.planning import count_results, failed_result
from tests.functions.backup_replay import LIST, RETRY, RUN_ID, SCHEMAS, counts_of, ok, reference
from tests.functions.durable_history import (
    CALL_ACTIVITY_WITH_RETRY,
    History,
    replay,
)

FANOUT_KEYS = [f"exchange:u{n}" for n in range(23)]  # 12 batches of 2
FANOUT_KEYS = [f"exchange:u{n}" for n in range(23)]  # 12 batches of 2


def fanout_history(first: int, count: int, width: int = 3) -> History:
    node = {**reference(FANOUT_KEYS, 2, width), "first": first, "count": count}
    return History("backup_fanout", node, instance_id=f"backup-{RUN_ID}-{first:05d}-{count}")


def test_a_fanout_node_splits_its_range_again_and_adds_up_its_children():
    history = fanout_history(0, 9)  # 9 batches, 3 children of 3 batches each: fanout nodes again
    result = replay(backup_fanout, history)
    assert [(a["functionName"], a["input"]["first"], a["input"]["count"]) for a in result.actions] == [
        ("backup_fanout", 0, 3), ("backup_fanout", 3, 3), ("backup_fanout", 6, 3)
    ]  # fmt: skip

    ids = [history.sub_orchestration_created("backup_fanout", a["input"], a["instanceId"]) for a in result.actions]
    history.new_episode().sub_orchestration_completed(ids[0], counts_of(*[ok(k) for k in FANOUT_KEYS[:6]]))
    history.sub_orchestration_completed(ids[2], counts_of(*[ok(k, 2) for k in FANOUT_KEYS[12:18]]))
    history.sub_orchestration_failed(ids[1], "Orchestrator function 'backup_fanout' failed", "x")
    result = replay(backup_fanout, history)

    assert result.is_done
    assert result.output == {**count_results([]), "resources": 18, "succeeded": 12, "failed": 6, "items": 18,
                             "bytes": 1800}  # fmt: skip
    assert result.custom_status == {"run_id": RUN_ID, "batches": 9, "resources": 18, "failed": 6}


def test_a_fanout_node_of_a_few_batches_starts_the_batches_themselves():
    result = replay(backup_fanout, fanout_history(9, 3))
    assert [(a["functionName"], a["input"], a["instanceId"]) for a in result.actions] == [
        ("backup_batch", {"run_id": RUN_ID, "list": LIST, "batch": n}, f"backup-{RUN_ID}-{n:05d}") for n in (9, 10, 11)
    ]


# --------------------------------------------------------------------------------------------------- backup_batch

BATCH_KEYS = ["exchange:a", "exchange:b", "exchange:c"]
BATCH = {"run_id": RUN_ID, "list": LIST, "batch": 4}


def batch_history(schema: int = 0) -> tuple[History, list[int]]:
    history = History("backup_batch", BATCH, instance_id="b-0", schema=schema)
    read_id = history.task_scheduled("batch_resources", BATCH)
    history.new_episode().task_completed(read_id, BATCH_KEYS)
    ids = [history.task_scheduled("backup_resource", {"run_id": RUN_ID, "resource": key}) for key in BATCH_KEYS]
    return history, ids


@pytest.mark.parametrize("schema", SCHEMAS)
def test_batch_reads_its_keys_then_schedules_one_retried_activity_per_resource(schema):
    history = History("backup_batch", BATCH, schema=schema)
    result = replay(backup_batch, history)
    assert result.actions == [
        {"actionType": CALL_ACTIVITY_WITH_RETRY, "functionName": "batch_resources", "input": BATCH,
         "retryOptions": RETRY}
    ]  # fmt: skip

    read_id = history.task_scheduled("batch_resources", BATCH)
    history.new_episode().task_completed(read_id, BATCH_KEYS)
    result = replay(backup_batch, history)
    assert not result.is_done
    assert result.actions[1:] == [
        {
            "actionType": CALL_ACTIVITY_WITH_RETRY,
            "functionName": "backup_resource",
            "input": {"run_id": RUN_ID, "resource": key},
            "retryOptions": RETRY,
        }
        for key in BATCH_KEYS
    ]


def test_a_batch_whose_keys_cannot_be_read_fails():
    history = History("backup_batch", BATCH)
    read_id = history.task_scheduled("batch_resources", BATCH)
    history.new_episode()
    history.retried_activity_exhausted(read_id, "batch_resources", BATCH, 3, "StorageError: table unreachable")
    result = replay(backup_batch, history)
    assert result.error and "StorageError" in result.error


@pytest.mark.parametrize("schema", SCHEMAS)
def test_batch_returns_the_counts_of_its_results(schema):
    history, ids = batch_history(schema)
    history.new_episode().task_completed(ids[2], ok("exchange:c", 3))
    history.new_episode().task_completed(ids[0], ok("exchange:a", 1)).task_completed(ids[1], ok("exchange:b", 2))
    result = replay(backup_batch, history)

    assert result.is_done
    assert result.output == counts_of(ok("exchange:a", 1), ok("exchange:b", 2), ok("exchange:c", 3))
    assert (result.output["resources"], result.output["succeeded"], result.output["items"]) == (3, 3, 6)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_exhausted_activity_is_counted_failed_and_siblings_are_kept(schema):
    history, ids = batch_history(schema)
    history.new_episode().task_completed(ids[0], ok("exchange:a", 4))
    history.retried_activity_exhausted(
        ids[1], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"}, 3, "GraphServerError: 503"
    )
    result = replay(backup_batch, history)

    # b has failed for good, c is still running: the batch waits for c and asks for nothing new
    assert not result.is_done
    assert result.error is None
    assert len(result.actions) == 4

    history.new_episode().task_completed(ids[2], ok("exchange:c", 6))
    result = replay(backup_batch, history)

    assert result.is_done
    assert result.error is None
    assert result.output == counts_of(ok("exchange:a", 4), failed_result("exchange:b", ""), ok("exchange:c", 6))
    status = result.custom_status
    assert (status["run_id"], status["batch"], status["resources"], status["failed"]) == (RUN_ID, 4, 3, 1)
    assert len(status["errors"]) == 1 and status["errors"][0].startswith("exchange:b: ")
    assert "GraphServerError: 503" in status["errors"][0]
    assert len(result.actions) == 4


def test_failure_after_siblings_finished_completes_in_the_same_episode():
    history, ids = batch_history()
    history.new_episode().task_completed(ids[0], ok("exchange:a")).task_completed(ids[2], ok("exchange:c"))
    history.retried_activity_exhausted(ids[1], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"}, 3, "X")
    result = replay(backup_batch, history)

    assert result.is_done
    assert (result.output["succeeded"], result.output["failed"]) == (2, 1)


def test_every_resource_failing_still_completes_the_batch():
    history, ids = batch_history()
    history.new_episode()
    for key, first_id in zip(BATCH_KEYS, ids, strict=True):
        history.retried_activity_exhausted(first_id, "backup_resource", {"run_id": RUN_ID, "resource": key}, 3, key)
    result = replay(backup_batch, history)

    assert result.is_done
    assert (result.output["resources"], result.output["failed"]) == (3, 3)
    assert [k in e for k, e in zip(BATCH_KEYS, result.custom_status["errors"], strict=True)] == [True] * 3


def test_a_retry_that_succeeds_keeps_the_result():
    history, ids = batch_history()
    history.new_episode().task_failed(ids[1], "GraphTransportError", "connection reset")
    timer_id = history.timer_created(5)
    history.new_episode(5).timer_fired(timer_id)
    retry_id = history.task_scheduled("backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"})
    history.new_episode().task_completed(retry_id, ok("exchange:b", 9))
    history.task_completed(ids[0], ok("exchange:a")).task_completed(ids[2], ok("exchange:c"))
    result = replay(backup_batch, history)

    assert result.is_done
    assert result.output == counts_of(ok("exchange:a"), ok("exchange:b", 9), ok("exchange:c"))


def test_a_resource_between_retries_is_still_waited_for():
    history, ids = batch_history()
    history.new_episode().task_completed(ids[0], ok("exchange:a")).task_completed(ids[2], ok("exchange:c"))
    history.task_failed(ids[1], "GraphTransportError", "attempt 1")
    timer_id = history.timer_created(5)
    history.new_episode(5).timer_fired(timer_id)
    result = replay(backup_batch, history)

    assert not result.is_done and result.error is None and len(result.actions) == 4


def test_library_task_all_fails_fast_which_is_why_batches_settle_each_task():
    """Characterises azure-functions-durable 1.7.0: task_all fails as soon as one child fails, while siblings are
    still pending. A batch that simply yielded task_all would fail, and with it the whole run."""
    from azure.durable_functions import Orchestrator

    from blueprints.backup import RESOURCE_RETRY

    def naive_batch(context):
        keys = yield context.call_activity_with_retry("batch_resources", RESOURCE_RETRY, context.get_input())
        tasks = [
            context.call_activity_with_retry("backup_resource", RESOURCE_RETRY, {"run_id": RUN_ID, "resource": key})
            for key in keys
        ]
        return (yield context.task_all(tasks))

    history, ids = batch_history()
    history.new_episode().task_completed(ids[0], ok("exchange:a"))
    history.retried_activity_exhausted(ids[1], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"}, 3, "X")
    with pytest.raises(Exception, match=r"\$OutOfProcData\$"):
        Orchestrator.create(naive_batch)(history.context_json())  # exchange:c is still pending here


def test_a_sibling_still_retrying_when_another_fails_for_good_is_kept():
    history, ids = batch_history()
    history.new_episode().task_failed(ids[2], "GraphTransportError", "attempt 1")  # c: first attempt fails
    c_timer = history.timer_created(5)
    history.retried_activity_exhausted(ids[0], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:a"}, 3, "A")
    history.timer_fired(c_timer)
    c_retry = history.task_scheduled("backup_resource", {"run_id": RUN_ID, "resource": "exchange:c"})
    result = replay(backup_batch, history)
    assert not result.is_done and result.error is None

    history.new_episode().task_completed(ids[1], ok("exchange:b")).task_completed(c_retry, ok("exchange:c", 2))
    result = replay(backup_batch, history)

    assert result.is_done and result.error is None
    assert (result.output["succeeded"], result.output["failed"], result.output["items"]) == (2, 1, 1 + 2)
    assert [e.split(":", 2)[:2] for e in result.custom_status["errors"]] == [["exchange", "a"]]
