from datetime import UTC, datetime, timedelta

import pytest

from core.planning import new_run_id, plan_batches, run_time, summarize


def test_batches_are_bounded_and_keep_order():
    keys = [f"exchange:{i}" for i in range(7)]
    batches = plan_batches(keys, 3)
    assert batches == [keys[0:3], keys[3:6], keys[6:7]]
    assert plan_batches([], 3) == []
    with pytest.raises(ValueError):
        plan_batches(keys, 0)


def test_run_ids_sort_in_time_order_and_round_trip():
    t0 = datetime(2026, 11, 22, 6, 0, 0, 123456, tzinfo=UTC)
    ids = [new_run_id(t0 + timedelta(microseconds=n * 997)) for n in range(50)]
    assert ids == sorted(ids)
    assert run_time(ids[0]) == t0


def test_summary_counts_and_status():
    results = [
        {"resource": "a", "status": "succeeded", "items": 3, "bytes": 10, "removed": 1, "failed_items": 0},
        {"resource": "b", "status": "partial", "items": 2, "bytes": 5, "removed": 0, "failed_items": 1},
        {"resource": "c", "status": "failed", "items": 0, "bytes": 0, "removed": 0, "failed_items": 0},
        {"resource": "d", "status": "skipped"},
    ]
    summary = summarize("r1", results)
    assert summary["resources"] == 4
    assert (summary["succeeded"], summary["partial"], summary["failed"], summary["skipped"]) == (1, 1, 1, 1)
    assert (summary["items"], summary["bytes"], summary["removed"], summary["failed_items"]) == (5, 15, 1, 1)
    assert summary["status"] == "partial"
    assert summarize("r", [results[0], results[3]])["status"] == "succeeded"
    assert summarize("r", [results[2]])["status"] == "failed"
