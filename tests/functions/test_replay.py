"""Replay the real orchestrators (backup_orchestrator, backup_batch) through azure-functions-durable's replay engine
with hand-built histories, and check the actions they ask for and the output they return."""

from __future__ import annotations

import pytest

from blueprints.backup import backup_batch, backup_orchestrator
from core.planning import failed_result, new_run_id, summarize
from tests.functions.durable_history import (
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_SUB_ORCHESTRATOR,
    START,
    History,
    replay,
)

RUN_ID = new_run_id(START)
RETRY = {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3}
FINISH_RETRY = {"firstRetryIntervalInMilliseconds": 10000, "maxNumberOfAttempts": 5}
KEYS = [f"exchange:user-{n}" for n in range(5)]
SCHEMAS = [0, 1, 2]  # replay schema V1 (nested action lists), V2 and V3 (WhenAll compound actions)


def ok(key: str, items: int = 1, status: str = "succeeded") -> dict:
    return {"resource": key, "status": status, "items": items, "bytes": 100 * items, "removed": 0, "failed_items": 0}


def calls(result) -> list[tuple[int, str]]:
    return [(a["actionType"], a["functionName"]) for a in result.actions]


# ------------------------------------------------------------------------------------------ backup_orchestrator


def started_run(schema: int = 0, input_: dict | None = None) -> History:
    """A run whose start_run activity has completed (batch size 50)."""
    history = History("backup_orchestrator", input_ or {"trigger": "schedule"}, schema=schema)
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": (input_ or {}).get("trigger")})
    history.new_episode().task_completed(start_id, {"run_id": RUN_ID, "batch_size": 50})
    return history


def discovered_run(schema: int = 0, keys: list[str] = KEYS, batch_size: int = 2) -> History:
    history = started_run(schema)
    discover_id = history.task_scheduled("discover_resources", {"run_id": RUN_ID})
    history.new_episode().task_completed(discover_id, {"run_id": RUN_ID, "resources": keys, "batch_size": batch_size})
    return history


def batches_created(history: History, batches: list[list[str]]) -> list[int]:
    return [
        history.sub_orchestration_created(
            "backup_batch", {"run_id": RUN_ID, "resources": batch}, f"backup-{RUN_ID}-{index:05d}"
        )
        for index, batch in enumerate(batches)
    ]


BATCHES = [KEYS[0:2], KEYS[2:4], KEYS[4:5]]


@pytest.mark.parametrize("trigger", ["schedule", "http"])
def test_first_episode_schedules_start_run_only(trigger):
    result = replay(backup_orchestrator, History("backup_orchestrator", {"trigger": trigger}))

    assert not result.is_done
    assert result.actions == [
        {"actionType": CALL_ACTIVITY, "functionName": "start_run", "input": {"run_id": RUN_ID, "trigger": trigger}}
    ]
    assert result.custom_status == {"run_id": RUN_ID, "stage": "starting"}


def test_run_id_comes_from_the_first_episode_clock_not_later_ones():
    history = started_run()
    history.new_episode(seconds=3600)  # a later episode an hour on must not change the run id
    result = replay(backup_orchestrator, history)

    assert result.actions[1] == {
        "actionType": CALL_ACTIVITY,
        "functionName": "discover_resources",
        "input": {"run_id": RUN_ID},
    }
    assert result.custom_status == {"run_id": RUN_ID, "stage": "discovering"}


@pytest.mark.parametrize("schema", SCHEMAS)
def test_discovery_fans_out_one_sub_orchestration_per_batch(schema):
    result = replay(backup_orchestrator, discovered_run(schema))

    assert not result.is_done
    assert calls(result) == [
        (CALL_ACTIVITY, "start_run"),
        (CALL_ACTIVITY, "discover_resources"),
        (CALL_SUB_ORCHESTRATOR, "backup_batch"),
        (CALL_SUB_ORCHESTRATOR, "backup_batch"),
        (CALL_SUB_ORCHESTRATOR, "backup_batch"),
    ]
    sub_orchestrations = result.actions[2:]
    assert [a["input"] for a in sub_orchestrations] == [{"run_id": RUN_ID, "resources": batch} for batch in BATCHES]
    assert [a["instanceId"] for a in sub_orchestrations] == [f"backup-{RUN_ID}-{i:05d}" for i in range(3)]
    assert result.custom_status == {"run_id": RUN_ID, "stage": "backing_up", "resources": 5, "batches": 3}


def test_batch_count_is_bounded_by_batch_size():
    keys = [f"exchange:u{n}" for n in range(101)]
    result = replay(backup_orchestrator, discovered_run(keys=keys, batch_size=50))

    sub_orchestrations = [a for a in result.actions if a["actionType"] == CALL_SUB_ORCHESTRATOR]
    assert [len(a["input"]["resources"]) for a in sub_orchestrations] == [50, 50, 1]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fan_in_finishes_the_run_with_the_summary(schema):
    history = discovered_run(schema)
    batch_ids = batches_created(history, BATCHES)
    results = [
        [ok(KEYS[0], 3), ok(KEYS[1], 0, "partial")],
        [ok(KEYS[2], 5), {**failed_result(KEYS[3], "mailbox not found")}],
        [ok(KEYS[4], 7)],
    ]
    # completions arrive out of order and over two episodes
    history.new_episode().sub_orchestration_completed(batch_ids[2], results[2])
    history.new_episode().sub_orchestration_completed(batch_ids[0], results[0])
    history.sub_orchestration_completed(batch_ids[1], results[1])
    result = replay(backup_orchestrator, history)

    expected = summarize(RUN_ID, [r for batch in results for r in batch])
    assert expected["resources"] == 5 and expected["status"] == "partial" and expected["items"] == 15
    assert not result.is_done
    assert result.actions[-1] == {
        "actionType": CALL_ACTIVITY_WITH_RETRY,
        "functionName": "finish_run",
        "input": {"run_id": RUN_ID, "summary": expected},
        "retryOptions": FINISH_RETRY,
    }
    status = result.custom_status
    assert (status["stage"], status["batches"], status["resources"]) == ("finishing", 3, 5)
    assert (status["succeeded"], status["partial"], status["failed"]) == (3, 1, 1)
    assert {k: v for k, v in status.items() if k in expected and k != "status"} == {
        k: expected[k] for k in status if k in expected and k != "status"
    }

    finish_id = history.task_scheduled("finish_run", {"run_id": RUN_ID, "summary": expected})
    history.new_episode().task_completed(finish_id, {"run_id": RUN_ID, "status": "partial"})
    result = replay(backup_orchestrator, history)

    assert result.is_done
    assert result.output == expected
    assert len(result.actions) == 6  # start, discover, 3 batches, finish: nothing new on the last episode
    assert result.custom_status["stage"] == "completed"
    assert result.custom_status["status"] == "partial"


def test_replay_is_deterministic():
    history = discovered_run()
    batches_created(history, BATCHES)
    first = replay(backup_orchestrator, history)
    second = replay(backup_orchestrator, history)
    assert first.state == second.state


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_failed_batch_fails_only_its_resources(schema):
    history = discovered_run(schema)
    batch_ids = batches_created(history, BATCHES)
    history.new_episode().sub_orchestration_failed(batch_ids[1], "Orchestrator function 'backup_batch' failed", "x")
    result = replay(backup_orchestrator, history)
    assert not result.is_done  # the other batches are still running: the failure did not end the run
    assert len(result.actions) == 5

    history.new_episode().sub_orchestration_completed(batch_ids[0], [ok(KEYS[0]), ok(KEYS[1])])
    history.sub_orchestration_completed(batch_ids[2], [ok(KEYS[4])])
    result = replay(backup_orchestrator, history)

    finish = result.actions[-1]
    assert finish["functionName"] == "finish_run"
    summary = finish["input"]["summary"]
    assert (summary["resources"], summary["succeeded"], summary["failed"], summary["status"]) == (5, 3, 2, "partial")


def test_explicit_resources_skip_discovery():
    requested = ["exchange:alice", "exchange:bob", "exchange:carol"]
    history = History("backup_orchestrator", {"trigger": "http", "resources": requested})
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": "http"})
    history.new_episode().task_completed(start_id, {"run_id": RUN_ID, "batch_size": 2})
    result = replay(backup_orchestrator, history)

    assert calls(result) == [
        (CALL_ACTIVITY, "start_run"),
        (CALL_SUB_ORCHESTRATOR, "backup_batch"),
        (CALL_SUB_ORCHESTRATOR, "backup_batch"),
    ]
    assert [a["input"]["resources"] for a in result.actions[1:]] == [requested[:2], requested[2:]]
    assert result.actions[0]["input"] == {"run_id": RUN_ID, "trigger": "http"}


def test_nothing_to_back_up_still_finishes_the_run():
    history = discovered_run(keys=[])
    result = replay(backup_orchestrator, history)

    expected = summarize(RUN_ID, [])
    assert calls(result)[-1] == (CALL_ACTIVITY_WITH_RETRY, "finish_run")
    assert result.actions[-1]["input"] == {"run_id": RUN_ID, "summary": expected}
    finish_id = history.task_scheduled("finish_run", result.actions[-1]["input"])
    history.new_episode().task_completed(finish_id, {"run_id": RUN_ID, "status": "succeeded"})
    result = replay(backup_orchestrator, history)
    assert result.is_done and result.output == expected


def test_a_failed_discovery_finishes_the_run_as_failed_instead_of_leaving_it_running():
    history = started_run()
    discover_id = history.task_scheduled("discover_resources", {"run_id": RUN_ID})
    history.new_episode().task_failed(discover_id, "GraphAuthError", "no Graph token: invalid_client")
    result = replay(backup_orchestrator, history)

    assert calls(result)[-1] == (CALL_ACTIVITY_WITH_RETRY, "finish_run")
    summary = result.actions[-1]["input"]["summary"]
    assert summary["status"] == "failed" and "discovery failed" in summary["error"]
    assert "invalid_client" in summary["error"]
    finish_id = history.task_scheduled("finish_run", result.actions[-1]["input"])
    history.new_episode().task_completed(finish_id, {"run_id": RUN_ID, "status": "failed"})
    result = replay(backup_orchestrator, history)
    assert result.is_done and result.output == summary


def test_a_failed_start_run_fails_the_orchestration():
    history = History("backup_orchestrator", {"trigger": "schedule"})
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": "schedule"})
    history.new_episode().task_failed(start_id, "ConfigError", "setting GRAPH_TENANT_ID is required")
    result = replay(backup_orchestrator, history)

    assert result.error and "ConfigError" in result.error
    assert not result.is_done


# --------------------------------------------------------------------------------------------------- backup_batch

BATCH_KEYS = ["exchange:a", "exchange:b", "exchange:c"]


def batch_history(schema: int = 0) -> tuple[History, list[int]]:
    history = History("backup_batch", {"run_id": RUN_ID, "resources": BATCH_KEYS}, instance_id="b-0", schema=schema)
    ids = [history.task_scheduled("backup_resource", {"run_id": RUN_ID, "resource": key}) for key in BATCH_KEYS]
    return history, ids


@pytest.mark.parametrize("schema", SCHEMAS)
def test_batch_schedules_one_retried_activity_per_resource(schema):
    result = replay(backup_batch, History("backup_batch", {"run_id": RUN_ID, "resources": BATCH_KEYS}, schema=schema))

    assert not result.is_done
    assert result.actions == [
        {
            "actionType": CALL_ACTIVITY_WITH_RETRY,
            "functionName": "backup_resource",
            "input": {"run_id": RUN_ID, "resource": key},
            "retryOptions": RETRY,
        }
        for key in BATCH_KEYS
    ]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_batch_returns_every_result_in_resource_order(schema):
    history, ids = batch_history(schema)
    history.new_episode().task_completed(ids[2], ok("exchange:c", 3))
    history.new_episode().task_completed(ids[0], ok("exchange:a", 1)).task_completed(ids[1], ok("exchange:b", 2))
    result = replay(backup_batch, history)

    assert result.is_done
    assert result.output == [ok("exchange:a", 1), ok("exchange:b", 2), ok("exchange:c", 3)]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_exhausted_activity_becomes_a_failed_result_and_siblings_are_kept(schema):
    history, ids = batch_history(schema)
    history.new_episode().task_completed(ids[0], ok("exchange:a", 4))
    history.retried_activity_exhausted(
        ids[1], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"}, 3, "GraphServerError: 503"
    )
    result = replay(backup_batch, history)

    # b has failed for good, c is still running: the batch waits for c and asks for nothing new
    assert not result.is_done
    assert result.error is None
    assert len(result.actions) == 3

    history.new_episode().task_completed(ids[2], ok("exchange:c", 6))
    result = replay(backup_batch, history)

    assert result.is_done
    assert result.error is None
    a, b, c = result.output
    assert a == ok("exchange:a", 4)
    assert c == ok("exchange:c", 6)
    assert {k: v for k, v in b.items() if k != "error"} == {
        k: v for k, v in failed_result("exchange:b", "").items() if k != "error"
    }
    assert "GraphServerError: 503" in b["error"]
    assert result.custom_status == {"run_id": RUN_ID, "resources": 3, "failed": 1}
    assert len(result.actions) == 3


def test_failure_after_siblings_finished_completes_in_the_same_episode():
    history, ids = batch_history()
    history.new_episode().task_completed(ids[0], ok("exchange:a")).task_completed(ids[2], ok("exchange:c"))
    history.retried_activity_exhausted(ids[1], "backup_resource", {"run_id": RUN_ID, "resource": "exchange:b"}, 3, "X")
    result = replay(backup_batch, history)

    assert result.is_done
    assert [r["status"] for r in result.output] == ["succeeded", "failed", "succeeded"]


def test_every_resource_failing_still_completes_the_batch():
    history, ids = batch_history()
    history.new_episode()
    for key, first_id in zip(BATCH_KEYS, ids, strict=True):
        history.retried_activity_exhausted(first_id, "backup_resource", {"run_id": RUN_ID, "resource": key}, 3, key)
    result = replay(backup_batch, history)

    assert result.is_done
    assert [(r["resource"], r["status"]) for r in result.output] == [(k, "failed") for k in BATCH_KEYS]
    assert [k in r["error"] for k, r in zip(BATCH_KEYS, result.output, strict=True)] == [True] * 3


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
    assert result.output == [ok("exchange:a"), ok("exchange:b", 9), ok("exchange:c")]


def test_a_resource_between_retries_is_still_waited_for():
    history, ids = batch_history()
    history.new_episode().task_completed(ids[0], ok("exchange:a")).task_completed(ids[2], ok("exchange:c"))
    history.task_failed(ids[1], "GraphTransportError", "attempt 1")
    timer_id = history.timer_created(5)
    history.new_episode(5).timer_fired(timer_id)
    result = replay(backup_batch, history)

    assert not result.is_done and result.error is None and len(result.actions) == 3


def test_library_task_all_fails_fast_which_is_why_batches_settle_each_task():
    """Characterises azure-functions-durable 1.7.0: task_all fails as soon as one child fails, while siblings are
    still pending. A batch that simply yielded task_all would fail, and with it the whole run."""
    from azure.durable_functions import Orchestrator

    from blueprints.backup import RESOURCE_RETRY

    def naive_batch(context):
        batch = context.get_input()
        tasks = [
            context.call_activity_with_retry("backup_resource", RESOURCE_RETRY, {"run_id": RUN_ID, "resource": key})
            for key in batch["resources"]
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
    assert [(r["resource"], r["status"]) for r in result.output] == [
        ("exchange:a", "failed"),
        ("exchange:b", "succeeded"),
        ("exchange:c", "succeeded"),
    ]
    assert result.output[2]["items"] == 2
