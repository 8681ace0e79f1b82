"""Run ids for any time a caller may ask about, and run statuses that never call an empty run a success."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from core.planning import FIRST_RUN_ID, LAST_RUN_ID, new_run_id, run_time, summarize


def test_run_ids_of_extreme_times_still_sort_with_every_run_id():
    """Issue 11 item 11: times near year 1 or 9999 overflowed, and years below 1000 sorted after every run."""
    real = new_run_id(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    assert new_run_id(datetime(999, 6, 1, tzinfo=UTC)) == "09990601T000000000000Z" < real
    assert new_run_id(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == FIRST_RUN_ID < real
    assert new_run_id(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1)))) == LAST_RUN_ID > real
    assert run_time(FIRST_RUN_ID) == datetime(1, 1, 1, tzinfo=UTC)


def test_a_run_that_backed_up_nothing_is_not_succeeded():
    """Issue 11 item 10d: a run whose every resource was skipped (no mailbox) counted as succeeded."""
    skipped = {"resource": "exchange:a", "status": "skipped"}
    assert summarize("r", [skipped])["status"] == "skipped"
    assert summarize("r", [skipped, {"resource": "exchange:b", "status": "succeeded"}])["status"] == "succeeded"
    assert summarize("r", [skipped, {"resource": "exchange:c", "status": "failed"}])["status"] == "failed"
    assert summarize("r", [])["status"] == "succeeded"
