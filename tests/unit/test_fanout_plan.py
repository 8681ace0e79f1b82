"""The backup fan-out tree (core.planning.plan_fanout) and the counts batches return instead of their results."""

from __future__ import annotations

import pytest

from core.planning import add_counts, count_results, failed_result, plan_fanout, resources_in, summarize, summary_of


def leaves(first: int, count: int, width: int) -> tuple[list[int], int, int]:
    """(every batch the tree over this range reaches, in order; the most children any node has; the depth)."""
    reached: list[int] = []
    most, depth = 0, 0
    children = plan_fanout(first, count, width)
    most = len(children)
    for start, span in children:
        if span == 1:
            reached.append(start)
            depth = max(depth, 1)
        else:
            below, widest, deeper = leaves(start, span, width)
            reached += below
            most, depth = max(most, widest), max(depth, deeper + 1)
    return reached, most, depth


@pytest.mark.parametrize(("batches", "width", "depth"), [(1, 50, 1), (50, 50, 1), (51, 50, 2), (400, 50, 2),
                                                          (2_500, 50, 2), (2_501, 50, 3), (1_000, 2, 10)])  # fmt: skip
def test_every_batch_is_reached_once_and_no_orchestration_has_more_than_width_children(batches, width, depth):
    reached, most, found_depth = leaves(0, batches, width)
    assert reached == list(range(batches))
    assert most <= width
    assert found_depth == depth


def test_ranges_span_powers_of_the_width():
    assert plan_fanout(0, 400, 50) == [(n * 50, 50) for n in range(8)]
    assert plan_fanout(0, 12, 2) == [(0, 8), (8, 4)]
    assert plan_fanout(8, 4, 2) == [(8, 2), (10, 2)]
    assert plan_fanout(0, 51, 50) == [(0, 50), (50, 1)]
    assert plan_fanout(0, 0, 50) == []
    with pytest.raises(ValueError):
        plan_fanout(0, 3, 1)


def test_resources_in_a_range_of_batches():
    # 23 resources in batches of 2: 12 batches, the last holding one
    assert resources_in(0, 12, 23, 2) == 23
    assert resources_in(11, 1, 23, 2) == 1
    assert resources_in(9, 3, 23, 2) == 5
    assert resources_in(0, 1, 23, 2) == 2


def test_counts_added_up_give_the_summary_of_every_result():
    results = [
        {"resource": "a", "status": "succeeded", "items": 3, "bytes": 30, "removed": 1, "failed_items": 0},
        {"resource": "b", "status": "partial", "items": 2, "bytes": 20, "removed": 0, "failed_items": 1},
        failed_result("c", "gone"),
        {"resource": "d", "status": "skipped", "items": 0, "bytes": 0, "removed": 0, "failed_items": 0},
        {"resource": "e", "status": "strange"},  # an unknown status counts as failed
    ]
    parts = [count_results(results[:2]), count_results(results[2:3]), count_results(results[3:])]
    assert summary_of("r1", add_counts(parts)) == summarize("r1", results)
    assert summary_of("r1", add_counts([])) == summarize("r1", [])
    assert add_counts([{"resources": 4, "failed": 4}])["failed"] == 4  # a lost batch: counts only
