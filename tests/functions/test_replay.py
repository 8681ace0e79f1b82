"""Replay the real orchestrators (backup_orchestrator, backup_batch) through azure-functions-durable's replay engine
with hand-built histories, and check the actions they ask for and the output they return."""

from __future__ import annotations

import pytest

from blueprints.backup import backup_orchestrator
from core.planning import failed_result, summarize
from tests.functions.backup_replay import (
    FINISH_RETRY,
    KEYS,
    LIST,
    RUN_ID,
    SCHEMAS,
    calls,
    counts_of,
    listed,
    ok,
    reference,
)
from tests.functions.durable_history import (
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_SUB_ORCHESTRATOR,
    History,
    replay,
)

# ------------------------------------------------------------------------------------------ backup_orchestrator


def started_run(schema: int = 0, input_: dict | None = None) -> History:
    """A run whose start_run activity has completed (batch size 50)."""
    history = History("backup_orchestrator", input_ or {"trigger": "schedule"}, schema=schema)
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": (input_ or {}).get("trigger")})
    history.new_episode().task_completed(start_id, {"run_id": RUN_ID, "batch_size": 50})
    return history


def discovered_run(schema: int = 0, keys: list[str] = KEYS, batch_size: int = 2, width: int = 50) -> History:
    history = started_run(schema)
    discover_id = history.task_scheduled("discover_resources", {"run_id": RUN_ID})
    history.new_episode().task_completed(discover_id, listed(keys, batch_size, width))
    return history


def batches_created(history: History, count: int) -> list[int]:
    return [
        history.sub_orchestration_created(
            "backup_batch", {"run_id": RUN_ID, "list": LIST, "batch": index}, f"backup-{RUN_ID}-{index:05d}"
        )
        for index in range(count)
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
def test_discovery_fans_out_one_sub_orchestration_per_batch_by_reference(schema):
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
    # the batches name their slice of the stored list; no resource key reaches the parent's history
    assert [a["input"] for a in sub_orchestrations] == [{"run_id": RUN_ID, "list": LIST, "batch": i} for i in range(3)]
    assert [a["instanceId"] for a in sub_orchestrations] == [f"backup-{RUN_ID}-{i:05d}" for i in range(3)]
    assert result.custom_status == {"run_id": RUN_ID, "stage": "backing_up", "resources": 5, "batches": 3}


def test_batch_count_is_bounded_by_batch_size():
    keys = [f"exchange:u{n}" for n in range(101)]
    result = replay(backup_orchestrator, discovered_run(keys=keys, batch_size=50))

    sub_orchestrations = [a for a in result.actions if a["actionType"] == CALL_SUB_ORCHESTRATOR]
    assert [a["input"]["batch"] for a in sub_orchestrations] == [0, 1, 2]


def test_more_batches_than_the_fanout_width_go_through_fanout_nodes():
    keys = [f"exchange:u{n}" for n in range(23)]  # 12 batches of 2, at most 3 children per orchestration
    result = replay(backup_orchestrator, discovered_run(keys=keys, batch_size=2, width=3))

    children = [a for a in result.actions if a["actionType"] == CALL_SUB_ORCHESTRATOR]
    assert [a["functionName"] for a in children] == ["backup_fanout"] * 2
    assert [(a["input"]["first"], a["input"]["count"]) for a in children] == [(0, 9), (9, 3)]
    assert children[0]["input"] == {**reference(keys, 2, 3), "first": 0, "count": 9}
    assert [a["instanceId"] for a in children] == [f"backup-{RUN_ID}-00000-9", f"backup-{RUN_ID}-00009-3"]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fan_in_finishes_the_run_with_the_summary(schema):
    history = discovered_run(schema)
    batch_ids = batches_created(history, 3)
    results = [
        [ok(KEYS[0], 3), ok(KEYS[1], 0, "partial")],
        [ok(KEYS[2], 5), {**failed_result(KEYS[3], "mailbox not found")}],
        [ok(KEYS[4], 7)],
    ]
    # completions arrive out of order and over two episodes; each batch returns its counts
    history.new_episode().sub_orchestration_completed(batch_ids[2], counts_of(*results[2]))
    history.new_episode().sub_orchestration_completed(batch_ids[0], counts_of(*results[0]))
    history.sub_orchestration_completed(batch_ids[1], counts_of(*results[1]))
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
    batches_created(history, 3)
    first = replay(backup_orchestrator, history)
    second = replay(backup_orchestrator, history)
    assert first.state == second.state


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_failed_batch_fails_only_its_resources(schema):
    history = discovered_run(schema)
    batch_ids = batches_created(history, 3)
    history.new_episode().sub_orchestration_failed(batch_ids[1], "Orchestrator function 'backup_batch' failed", "x")
    result = replay(backup_orchestrator, history)
    assert not result.is_done  # the other batches are still running: the failure did not end the run
    assert len(result.actions) == 5

    history.new_episode().sub_orchestration_completed(batch_ids[0], counts_of(ok(KEYS[0]), ok(KEYS[1])))
    history.sub_orchestration_completed(batch_ids[2], counts_of(ok(KEYS[4])))
    result = replay(backup_orchestrator, history)

    finish = result.actions[-1]
    assert finish["functionName"] == "finish_run"
    summary = finish["input"]["summary"]
    assert (summary["resources"], summary["succeeded"], summary["failed"], summary["status"]) == (5, 3, 2, "partial")


def test_a_failed_last_batch_counts_only_the_resources_it_held():
    history = discovered_run()  # 5 resources in batches of 2: the last batch holds one
    batch_ids = batches_created(history, 3)
    history.new_episode().sub_orchestration_completed(batch_ids[0], counts_of(ok(KEYS[0]), ok(KEYS[1])))
    history.sub_orchestration_completed(batch_ids[1], counts_of(ok(KEYS[2]), ok(KEYS[3])))
    history.sub_orchestration_failed(batch_ids[2], "Orchestrator function 'backup_batch' failed", "x")
    summary = replay(backup_orchestrator, history).actions[-1]["input"]["summary"]
    assert (summary["resources"], summary["succeeded"], summary["failed"]) == (5, 4, 1)


def test_discovery_errors_still_make_the_run_partial():
    history = started_run()
    discover_id = history.task_scheduled("discover_resources", {"run_id": RUN_ID})
    history.new_episode().task_completed(discover_id, listed(KEYS[:1], 2, errors={"teams": "GraphAuthError: 403"}))
    batch_id = batches_created(history, 1)[0]
    history.new_episode().sub_orchestration_completed(batch_id, counts_of(ok(KEYS[0])))
    summary = replay(backup_orchestrator, history).actions[-1]["input"]["summary"]
    assert summary["status"] == "partial" and "teams discovery failed" in summary["error"]


def test_explicit_resources_are_stored_and_skip_discovery():
    requested = ["exchange:alice", "exchange:bob", "exchange:carol"]
    history = History("backup_orchestrator", {"trigger": "http", "resources": requested})
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": "http"})
    history.new_episode().task_completed(start_id, {"run_id": RUN_ID, "batch_size": 2})
    result = replay(backup_orchestrator, history)
    assert calls(result) == [(CALL_ACTIVITY, "start_run"), (CALL_ACTIVITY, "store_resources")]
    assert result.actions[1]["input"] == {"run_id": RUN_ID, "resources": requested}

    store_id = history.task_scheduled("store_resources", {"run_id": RUN_ID, "resources": requested})
    history.new_episode().task_completed(store_id, listed(requested, 2))
    result = replay(backup_orchestrator, history)
    assert calls(result)[2:] == [(CALL_SUB_ORCHESTRATOR, "backup_batch"), (CALL_SUB_ORCHESTRATOR, "backup_batch")]
    assert [a["input"]["batch"] for a in result.actions[2:]] == [0, 1]
    assert result.actions[0]["input"] == {"run_id": RUN_ID, "trigger": "http"}


def test_requested_resources_that_cannot_be_stored_finish_the_run_as_failed():
    requested = ["exchange:alice"]
    history = History("backup_orchestrator", {"trigger": "http", "resources": requested})
    start_id = history.task_scheduled("start_run", {"run_id": RUN_ID, "trigger": "http"})
    history.new_episode().task_completed(start_id, {"run_id": RUN_ID, "batch_size": 2})
    store_id = history.task_scheduled("store_resources", {"run_id": RUN_ID, "resources": requested})
    history.new_episode().task_failed(store_id, "StorageError", "resource list of run not stored")
    result = replay(backup_orchestrator, history)
    summary = result.actions[-1]["input"]["summary"]
    assert calls(result)[-1] == (CALL_ACTIVITY_WITH_RETRY, "finish_run")
    assert summary["status"] == "failed" and "not stored" in summary["error"]


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


# -------------------------------------------------------------------------------------------------- backup_fanout
