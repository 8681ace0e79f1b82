"""The progress line's total set once known (`Progress.plan`) and the per-item counting of restores and exports
(core/work_progress.py): what a restore selected counts once per item from any thread, nothing counts unwatched."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from core import work_progress
from core.progress import Progress
from core.restore_request import RestoreReport
from core.work_progress import ItemCounter, watching


def _bar() -> Progress:
    return Progress(0, "restore", enabled=False, unit="items")


def test_plan_sets_the_total_the_line_counts_against_with_an_eta():
    bar = _bar()
    assert "items" not in bar.line() and "ETA" not in bar.line()  # no total yet: no bar, no ETA
    bar.plan(4)
    bar.advance()
    line = bar.line()
    assert "1/4 items" in line and "ETA" in line, line
    bar.plan(6)  # a second category's selection added
    assert "1/6 items" in bar.line()
    for _ in range(5):
        bar.advance()
    assert "6/6 items" in bar.line() and "ETA" not in bar.line()


def test_plan_draws_on_an_enabled_line():
    stream = io.StringIO()
    bar = Progress(0, "export", enabled=True, stream=stream, unit="items", interval=3600)
    bar.plan(3)
    bar.close()
    assert "0/3 items" in stream.getvalue(), stream.getvalue()


def test_a_restore_counts_each_selected_item_once_and_the_bytes_of_those_restored():
    bar = _bar()
    counter = ItemCounter(bar)
    with watching(counter):
        work_progress.plan(3, lambda: {"a": 100, "b": 20, "c": 7})
        report = RestoreReport("exchange:u", "r1", "u", "")
    report.done({"item_id": "a"}, "new-a")
    report.done({"item_id": "a"}, "new-a")  # the same item again: still one
    report.skip({"item_id": "b"})
    report.done({"item_id": "root-brought-along"}, "x")  # not of the selection
    report.fail("completeMigration of channel 1", "boom")  # a step, not an item
    assert (bar.done, counter.bytes) == (2, 100)
    report.fail("c", "boom")
    assert bar.done == 3 and "3/3 items" in bar.line()
    assert counter.bytes == 100  # a skipped or failed item restored no bytes
    assert (report.restored, report.skipped, report.failed) == (3, 1, 2)  # the report itself counts as before
    assert "_watcher" not in report.to_dict()


def test_a_report_made_while_watched_is_heard_from_its_pool_threads():
    bar = _bar()
    with watching(ItemCounter(bar)):
        work_progress.plan(20, lambda: {str(n): 1 for n in range(20)})
        report = RestoreReport("exchange:u", "r1", "u", "")
    with ThreadPoolExecutor(4) as pool:  # a fresh context in each thread: only the captured watcher reaches it
        list(pool.map(lambda n: report.done({"item_id": str(n)}, f"new{n}"), range(20)))
    assert bar.done == 20


def test_unwatched_nothing_is_counted_and_a_selection_is_read_once():
    reads = []

    def select() -> list[int]:
        reads.append(1)
        return [1, 2, 3]

    assert list(work_progress.counted(select)) == [1, 2, 3] and len(reads) == 1
    work_progress.plan(3, lambda: (_ for _ in ()).throw(AssertionError("sizes built unwatched")))
    work_progress.finished("x")
    report = RestoreReport("exchange:u", "r1", "u", "")
    report.done({"item_id": "x"}, "y")
    assert report.restored == 1


def test_watched_an_export_selection_is_counted_first_then_every_item_counts():
    bar = Progress(0, "export", enabled=False, unit="items")
    with watching(ItemCounter(bar)):
        items = list(work_progress.counted(lambda: iter("abcde")))
        assert bar.total == 5 and bar.done == 0
        for item in items:
            work_progress.finished(item)
    assert "5/5 items" in bar.line()
