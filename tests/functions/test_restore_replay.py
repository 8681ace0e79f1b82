"""Replay the real restore orchestrators (restore_orchestrator, restore_batch) through azure-functions-durable's replay
engine with hand-built histories, and check the actions they ask for and the output they return."""

from __future__ import annotations

import pytest

from api.orchestrations import restore_instance_id
from blueprints.restore import restore_batch, restore_orchestrator
from core.restore_plan import MAX_PARTS, PART_BATCH_SIZE
from tests.functions.durable_history import (
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_SUB_ORCHESTRATOR,
    History,
    replay,
)

JOB = "r20261122T062100-0a1b2c3d"
INSTANCE = restore_instance_id(JOB)
RUN_ID = "20261122T060000000000Z"
FOLDER = "Restored 2026-11-22 062100 UTC"
PLAN_RETRY = {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3}
FINISH_RETRY = {"firstRetryIntervalInMilliseconds": 10000, "maxNumberOfAttempts": 5}
SCHEMAS = [0, 1, 2]
ZERO = {"restored": 0, "skipped": 0, "failed": 0}


def calls(result) -> list[tuple[int, str]]:
    return [(a["actionType"], a["functionName"]) for a in result.actions]


def started(schema: int = 0) -> tuple[History, int]:
    history = History("restore_orchestrator", {"job_id": JOB}, instance_id=INSTANCE, schema=schema)
    return history, history.task_scheduled("plan_restore", {"job_id": JOB})


def planned(parts: int, schema: int = 0, batch_size: int = PART_BATCH_SIZE) -> History:
    history, plan_id = started(schema)
    plan = {"job_id": JOB, "run_id": RUN_ID, "parts": parts, "batch_size": batch_size, "items": parts * 100,
            "destination_name": FOLDER}  # fmt: skip
    history.new_episode().task_completed(plan_id, plan)
    return history


def batch_input(part_list: list[int], parts: int) -> dict:
    return {"job_id": JOB, "run_id": RUN_ID, "parts": parts, "destination_name": FOLDER, "part_list": part_list}


def batches_created(history: History, batches: list[list[int]], parts: int) -> list[int]:
    return [
        history.sub_orchestration_created("restore_batch", batch_input(batch, parts), f"{INSTANCE}-{index:05d}")
        for index, batch in enumerate(batches)
    ]


def finished(history: History, payload: dict, status: str) -> History:
    finish_id = history.task_scheduled("finish_restore", payload)
    summary = {"job_id": JOB, "status": status, **payload["totals"], "failed_parts": len(payload["failed_parts"])}
    return history.new_episode().task_completed(finish_id, summary)


# ---------------------------------------------------------------------------------------- restore_orchestrator


def test_first_episode_plans_the_job_with_retry():
    result = replay(restore_orchestrator, History("restore_orchestrator", {"job_id": JOB}, instance_id=INSTANCE))

    assert not result.is_done
    assert result.actions == [
        {
            "actionType": CALL_ACTIVITY_WITH_RETRY,
            "functionName": "plan_restore",
            "input": {"job_id": JOB},
            "retryOptions": PLAN_RETRY,
        }
    ]
    assert result.custom_status == {"job_id": JOB, "stage": "planning"}


def test_a_part_size_in_the_input_reaches_the_plan():
    history = History("restore_orchestrator", {"job_id": JOB, "part_size": 7}, instance_id=INSTANCE)
    result = replay(restore_orchestrator, history)
    assert result.actions[0]["input"] == {"job_id": JOB, "part_size": 7}


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_plan_with_no_parts_finishes_the_job_as_failed_without_fanning_out(schema):
    history, plan_id = started(schema)
    refused = {"job_id": JOB, "run_id": "", "parts": 0, "batch_size": 50, "error": "not in the backup: x"}
    history.new_episode().task_completed(plan_id, refused)
    result = replay(restore_orchestrator, history)

    assert calls(result) == [(CALL_ACTIVITY_WITH_RETRY, "plan_restore"), (CALL_ACTIVITY_WITH_RETRY, "finish_restore")]
    payload = result.actions[-1]["input"]
    assert payload == {"job_id": JOB, "totals": ZERO, "failed_parts": [], "error": "not in the backup: x"}
    assert result.actions[-1]["retryOptions"] == FINISH_RETRY

    result = replay(restore_orchestrator, finished(history, payload, "failed"))
    assert result.is_done and result.output["status"] == "failed"
    assert result.custom_status == {"job_id": JOB, "stage": "completed", "status": "failed", "parts": 0}
    assert not [a for a in result.actions if a["actionType"] == CALL_SUB_ORCHESTRATOR]


def test_planning_that_fails_for_good_still_finishes_the_job():
    history, plan_id = started()
    history.new_episode()
    history.retried_activity_exhausted(plan_id, "plan_restore", {"job_id": JOB}, 3, "StorageError: table down")
    result = replay(restore_orchestrator, history)

    assert calls(result)[-1] == (CALL_ACTIVITY_WITH_RETRY, "finish_restore")
    error = result.actions[-1]["input"]["error"]
    assert error.startswith("planning failed") and "table down" in error


@pytest.mark.parametrize("schema", SCHEMAS)
def test_parts_fan_out_in_batches_of_sub_orchestrations(schema):
    result = replay(restore_orchestrator, planned(120, schema))

    assert not result.is_done
    subs = result.actions[1:]
    assert [(a["actionType"], a["functionName"]) for a in subs] == [(CALL_SUB_ORCHESTRATOR, "restore_batch")] * 3
    assert [a["instanceId"] for a in subs] == [f"{INSTANCE}-{i:05d}" for i in range(3)]
    assert [a["input"] for a in subs] == [
        batch_input(list(range(0, 50)), 120),
        batch_input(list(range(50, 100)), 120),
        batch_input(list(range(100, 120)), 120),
    ]
    status = result.custom_status
    assert (status["stage"], status["parts"], status["batches"], status["run_id"]) == ("restoring", 120, 3, RUN_ID)


def test_the_parent_history_is_bounded_by_batches_not_parts():
    result = replay(restore_orchestrator, planned(MAX_PARTS))
    subs = [a for a in result.actions if a["actionType"] == CALL_SUB_ORCHESTRATOR]
    assert len(subs) == MAX_PARTS // PART_BATCH_SIZE == 10
    assert max(len(a["input"]["part_list"]) for a in subs) == PART_BATCH_SIZE
    assert sorted(p for a in subs for p in a["input"]["part_list"]) == list(range(MAX_PARTS))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fan_in_adds_up_the_parts_and_finishes(schema):
    history = planned(120, schema)
    ids = batches_created(history, [list(range(0, 50)), list(range(50, 100)), list(range(100, 120))], 120)
    history.new_episode().sub_orchestration_completed(ids[2], {"totals": {**ZERO, "restored": 20}, "failed_parts": []})
    history.new_episode().sub_orchestration_completed(
        ids[0], {"totals": {"restored": 45, "skipped": 4, "failed": 1}, "failed_parts": []}
    )
    history.sub_orchestration_completed(
        ids[1], {"totals": {**ZERO, "restored": 49}, "failed_parts": [{"part": 77, "error": "boom"}]}
    )
    result = replay(restore_orchestrator, history)

    payload = result.actions[-1]["input"]
    assert result.actions[-1]["functionName"] == "finish_restore"
    assert payload == {
        "job_id": JOB,
        "totals": {"restored": 114, "skipped": 4, "failed": 1},
        "failed_parts": [{"part": 77, "error": "boom"}],
    }
    assert result.custom_status == {"job_id": JOB, "stage": "finishing", "run_id": RUN_ID, "parts": 120,
                                    "failed_parts": 1, "restored": 114, "skipped": 4, "failed": 1}  # fmt: skip

    result = replay(restore_orchestrator, finished(history, payload, "partial"))
    assert result.is_done and result.output["status"] == "partial"
    assert result.custom_status["stage"] == "completed" and result.custom_status["status"] == "partial"
    assert len(result.actions) == 5  # plan, 3 batches, finish: nothing new on the last episode


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_failed_batch_fails_only_its_parts(schema):
    history = planned(3, schema, batch_size=2)
    ids = batches_created(history, [[0, 1], [2]], 3)
    history.new_episode().sub_orchestration_failed(ids[0], "Orchestrator function 'restore_batch' failed", "x")
    result = replay(restore_orchestrator, history)
    assert not result.is_done and result.error is None and len(result.actions) == 3  # the other batch still runs

    history.new_episode().sub_orchestration_completed(ids[1], {"totals": {**ZERO, "restored": 5}, "failed_parts": []})
    result = replay(restore_orchestrator, history)
    payload = result.actions[-1]["input"]
    assert payload["totals"] == {**ZERO, "restored": 5}
    assert [f["part"] for f in payload["failed_parts"]] == [0, 1]
    assert all(f["error"].startswith("batch failed") for f in payload["failed_parts"])


def test_finish_is_retried_until_it_succeeds():
    history = planned(1)
    (batch_id,) = batches_created(history, [[0]], 1)
    history.new_episode().sub_orchestration_completed(batch_id, {"totals": {**ZERO, "restored": 3}, "failed_parts": []})
    payload = {"job_id": JOB, "totals": {**ZERO, "restored": 3}, "failed_parts": []}
    finish_id = history.task_scheduled("finish_restore", payload)
    history.new_episode().task_failed(finish_id, "StorageError", "table unavailable")
    timer_id = history.timer_created(10)
    history.new_episode(10).timer_fired(timer_id)
    result = replay(restore_orchestrator, history)
    assert not result.is_done and result.error is None

    retry_id = history.task_scheduled("finish_restore", payload)
    history.new_episode().task_completed(retry_id, {"job_id": JOB, "status": "succeeded", "restored": 3})
    result = replay(restore_orchestrator, history)
    assert result.is_done and result.output == {"job_id": JOB, "status": "succeeded", "restored": 3}


def test_replay_is_deterministic():
    history = planned(120)
    batches_created(history, [list(range(0, 50)), list(range(50, 100)), list(range(100, 120))], 120)
    assert replay(restore_orchestrator, history).state == replay(restore_orchestrator, history).state


# ------------------------------------------------------------------------------------------------ restore_batch


def part_input(part: int, parts: int = 9) -> dict:
    return {"job_id": JOB, "part": part, "parts": parts, "run_id": RUN_ID, "destination_name": FOLDER}


def batch_history(parts: list[int], schema: int = 0) -> tuple[History, list[int]]:
    history = History("restore_batch", batch_input(parts, 9), instance_id=f"{INSTANCE}-00000", schema=schema)
    return history, [history.task_scheduled("restore_part", part_input(part)) for part in parts]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_batch_runs_one_activity_per_part_without_retries(schema):
    result = replay(restore_batch, History("restore_batch", batch_input([3, 4, 5], 9), schema=schema))

    assert not result.is_done
    assert result.actions == [
        {"actionType": CALL_ACTIVITY, "functionName": "restore_part", "input": part_input(p)} for p in (3, 4, 5)
    ]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_failed_part_does_not_fail_its_siblings(schema):
    history, ids = batch_history([3, 4, 5], schema)
    history.new_episode().task_failed(ids[1], "Activity function 'restore_part' failed: GraphServerError: 503", "")
    result = replay(restore_batch, history)
    assert not result.is_done and result.error is None and len(result.actions) == 3  # no retry was scheduled

    history.new_episode().task_completed(ids[2], {"restored": 7, "skipped": 1, "failed": 0})
    history.task_completed(ids[0], {"restored": 9, "skipped": 0, "failed": 2})
    result = replay(restore_batch, history)

    assert result.is_done and result.error is None
    assert result.output["totals"] == {"restored": 16, "skipped": 1, "failed": 2}
    (failure,) = result.output["failed_parts"]
    assert failure["part"] == 4 and "GraphServerError: 503" in failure["error"]
    assert result.custom_status == {"job_id": JOB, "parts": 3, "failed_parts": 1}
    assert len(result.actions) == 3


def test_every_part_failing_still_completes_the_batch():
    history, ids = batch_history([0, 1])
    history.new_episode().task_failed(ids[0], "X", "").task_failed(ids[1], "Y", "")
    result = replay(restore_batch, history)
    assert result.is_done
    assert result.output == {"totals": ZERO, "failed_parts": [{"part": 0, "error": "X"}, {"part": 1, "error": "Y"}]}


# --------------------------------------------------------------------------------------------------- indexing
