"""Replay the real orchestrators (backup_orchestrator, backup_batch) through azure-functions-durable's replay engine
with hand-built histories, and check the actions they ask for and the output they return."""

from __future__ import annotations

import pytest

from blueprints.backup import backup_batch, backup_fanout, backup_orchestrator
from core.backup_start import BACKUP_INSTANCE
from core.planning import count_results, failed_result, new_run_id, summarize
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

LIST = "0123456789ab"  # the stored list's id, as store_resource_list returns it


def listed(keys: list[str], batch_size: int, width: int = 50, errors: dict | None = None) -> dict:
    """What discover_resources / store_resources return: the stored list's reference and counts."""
    found = {"run_id": RUN_ID, "list": LIST, "resources": len(keys), "batches": -(-len(keys) // batch_size),
             "batch_size": batch_size, "fanout_width": width}  # fmt: skip
    return {**found, "discovery_errors": errors} if errors else found


def reference(keys: list[str], batch_size: int = 2, width: int = 50) -> dict:
    """The run reference a backup_fanout node gets (before its first / count)."""
    return {"list": LIST, "resources": len(keys), "batch_size": batch_size, "fanout_width": width,
            "run_id": RUN_ID, "root": BACKUP_INSTANCE}  # fmt: skip


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


def counts_of(*results: dict) -> dict:
    return count_results(results)


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
