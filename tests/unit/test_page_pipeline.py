"""The pages of a delta round in flight (core/delta/pipeline.py): applied in order, at most `depth` outstanding, and
after a page fails to apply, none after it is applied."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from core.delta.pipeline import InFlight, PagePipeline, SubmittedPage


class RecordedPage:
    """A page that records what the pipeline did with it."""

    def __init__(self, name: str, log: list[str], fails: bool = False) -> None:
        self.name, self.log, self.fails = name, log, fails

    def finish(self) -> None:
        self.log.append(f"apply {self.name}")
        if self.fails:
            raise RuntimeError(f"{self.name} cannot be applied")

    def discard(self) -> None:
        self.log.append(f"discard {self.name}")


def test_pages_are_applied_in_order_with_at_most_depth_outstanding():
    log: list[str] = []
    pipeline = PagePipeline(depth=2)
    outstanding = []
    for n in range(1, 6):
        pipeline.add(RecordedPage(f"p{n}", log))
        outstanding.append(len(pipeline))
    assert outstanding == [1, 2, 2, 2, 2]  # the next page is read while two pages' downloads run
    assert log == ["apply p1", "apply p2", "apply p3"]
    pipeline.drain()
    assert log == [f"apply p{n}" for n in range(1, 6)] and len(pipeline) == 0


def test_after_a_page_fails_to_apply_the_pages_behind_it_are_discarded_not_applied():
    log: list[str] = []
    pipeline = PagePipeline(depth=2)
    pipeline.add(RecordedPage("p1", log, fails=True))
    pipeline.add(RecordedPage("p2", log))
    with pytest.raises(RuntimeError, match="p1"):
        pipeline.add(RecordedPage("p3", log))
    assert log == ["apply p1", "discard p2", "discard p3"]
    pipeline.drain()  # nothing left to apply
    assert len(log) == 3


def done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def test_a_download_is_shared_by_a_later_page_only_for_the_same_change():
    in_flight = InFlight()
    first = in_flight.track("m1", "ck1", done("content of ck1"))
    applied: list[dict] = []
    page = SubmittedPage({"m1": first}, [{"id": "m1"}, {"id": "m2", "@removed": {}}], in_flight, applied.append)
    assert in_flight.is_pending("m1") and in_flight.is_pending("m2")  # both named by a page not yet applied
    assert in_flight.shared("m1", "ck1") is first
    assert in_flight.shared("m1", "ck2") is None  # another change: a download of its own
    page.finish()
    assert applied == [{"m1": "content of ck1"}]
    assert not in_flight.is_pending("m1") and not in_flight.is_pending("m2")
    assert in_flight.shared("m1", "ck1") is None  # applied: the index knows it now
