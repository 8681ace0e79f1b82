"""One delta engine (core/delta/): the delta annotations are followed in exactly one module, links are sent as
received, and every kind stores content through one path that counts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.delta.content import store_content
from core.delta.rounds import follow_round
from core.errors import MalformedResponse
from core.models import BackupReport
from core.storage.content_store import Spool, StoredContent

CORE = Path(__file__).resolve().parents[2] / "core"
ENGINE = "delta/rounds.py"
# the Graph client's plain listing pager (`iter_pages`): it follows nextLink of non-delta listings, never a round
LISTING_PAGER = "graph/client.py"


def _modules_with(text: str) -> set[str]:
    return {p.relative_to(CORE).as_posix() for p in CORE.rglob("*.py") if text in p.read_text(encoding="utf-8")}


def test_delta_rounds_are_followed_in_exactly_one_module():
    assert _modules_with("@odata.deltaLink") == {ENGINE}
    assert _modules_with("@odata.nextLink") - {LISTING_PAGER} == {ENGINE}
    assert "deltaLink" not in (CORE / LISTING_PAGER).read_text(encoding="utf-8")


def test_content_is_stored_and_counted_in_one_place():
    """No workload module stores content itself: they all go through core.delta.content.store_content."""
    workloads = CORE / "workloads"
    offenders = set()
    for path in workloads.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "report.add(bytes" in text or "deduplicated=1" in text or "content.put(" in text:
            offenders.add(path.relative_to(CORE).as_posix())
    assert offenders == set()


class _Graph:
    """A recording fake: answers the pages given, by URL."""

    def __init__(self, pages: dict[str, dict]) -> None:
        self.pages = pages
        self.requests: list[tuple[str, dict | None, dict]] = []

    def get_json(self, url: str, *, params: dict | None = None, headers: dict | None = None) -> dict:
        self.requests.append((url, params, dict(headers or {})))
        return self.pages[url]

    def url(self, url: str) -> str:
        return url


def test_a_round_sends_links_as_received_and_the_query_only_first():
    next_link = "https://graph/next?$skiptoken=a%2Fb&x=1"
    delta_link = "https://graph/delta?$skiptoken=opaque%3D%3D"  # a deltaLink may carry $skiptoken
    graph = _Graph({
        "drives/d/root/delta": {"value": [{"id": "1"}], "@odata.nextLink": next_link},
        next_link: {"value": [], "@odata.nextLink": delta_link + "&more"},
        delta_link + "&more": {"value": [{"id": "2"}], "@odata.deltaLink": delta_link},
    })  # fmt: skip
    pages: list[list] = []
    got = follow_round(graph, "drives/d/root/delta", params={"$top": "5"}, headers={"Prefer": "p"},
                       on_page=pages.append)  # fmt: skip
    assert got == delta_link
    assert pages == [[{"id": "1"}], [], [{"id": "2"}]]  # handed over in order, empty pages too
    assert [r[0] for r in graph.requests] == ["drives/d/root/delta", next_link, delta_link + "&more"]
    assert [r[1] for r in graph.requests] == [{"$top": "5"}, None, None]
    assert all(r[2] == {"Prefer": "p"} for r in graph.requests)


@pytest.mark.parametrize(
    "page", [{"@odata.deltaLink": "d"}, {"value": None, "@odata.nextLink": "n"}, {"value": [{"id": "1"}]}]
)
def test_a_page_without_values_or_without_a_link_is_malformed(page: dict):
    seen: list[list] = []
    with pytest.raises(MalformedResponse):
        follow_round(_Graph({"start": page}), "start", params=None, headers={}, on_page=seen.append)


class _Store:
    def __init__(self) -> None:
        self.stored: dict[str, tuple[bytes, str]] = {}

    def _put(self, data: bytes, sha: str, content_type: str) -> StoredContent:
        written = sha not in self.stored
        self.stored.setdefault(sha, (data, content_type))
        return StoredContent(sha, len(data), written)

    def put(self, spool: Spool, content_type: str = "application/octet-stream") -> StoredContent:
        return self._put(spool.reader().read(), spool.sha256, content_type)

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredContent:
        with Spool() as spool:
            spool.write(data)
            return self.put(spool, content_type)


def test_store_content_counts_new_bytes_or_a_deduplicated_item():
    store, report = _Store(), BackupReport("exchange:u")
    first = store_content(store, report, b'{"a":1}', "application/json")  # type: ignore[arg-type]
    with Spool() as spool:
        spool.write(b'{"a":1}')
        again = store_content(store, report, spool, "application/json")  # type: ignore[arg-type]
    assert (first.written, again.written, first.sha256) == (True, False, again.sha256)
    assert (report.bytes, report.deduplicated) == (7, 1)
    assert store.stored[first.sha256] == (b'{"a":1}', "application/json")


class _Log:
    def __init__(self) -> None:
        self.events: list[str] = []


class _DeltaState:
    def __init__(self, log: _Log) -> None:
        self.log = log

    def load(self, resource: str) -> dict:
        from core.storage.delta_state import DeltaState

        return {("k", "old"): DeltaState("k", "old", "link", "Old", "r0")}

    def save(self, resource: str, state) -> None:
        self.log.events.append(f"save {state.container_id} {state.delta_link}")


class _Quarantine:
    def __init__(self, log: _Log) -> None:
        self.log = log

    def hold(self, resource: str, category: str, key: str, container_id: str, error: str, run_id: str) -> None:
        self.log.events.append(f"hold {key}")

    def release(self, resource: str, category: str, key: str, run_id: str, released_as: str = "") -> None:
        self.log.events.append(f"release {key} {released_as}")


class _Adapter:
    category, label, retry_outside = "k", "box", False

    def __init__(self, log: _Log) -> None:
        from core.storage.quarantine import HeldItem

        self.log = log
        self.held = {"h": HeldItem("res", "k", "h", "a", "e", "r0", "r0", 1)}
        self.lost = 0  # catalog changes dropped by failed commits (CatalogWriter.dropped)
        self.fail_flush = False

    def record(self, containers) -> None:
        self.log.events.append("record")

    def known(self, states) -> dict[str, str]:
        return {cid: s.container_path for (_, cid), s in states.items()}

    def run_round(self, container, state):
        from core.delta.lifecycle import Failure, RoundDone, Settlement

        if container.id == "bad":
            raise RuntimeError("boom")
        if container.id.startswith("lost"):  # its changes were written; a commit of the writer failed meanwhile
            self.lost += 3
            raise RuntimeError("catalog transaction failed")
        self.log.events.append(f"round {container.id}")
        failures = [Failure("f", "k", container.id, RuntimeError("x"))]
        return RoundDone(f"delta-{container.id}", True, set(), {"f"}, Settlement(failures))

    def end_unseen(self, container, seen) -> None:
        self.log.events.append(f"end unseen {container.id}")

    def read_held(self, item) -> dict | None:
        self.log.events.append(f"read {item.item_id}")
        return None

    def apply_held(self, read, unread):
        from core.delta.lifecycle import Settlement

        return Settlement(released=[(k, "deleted") for k in read])

    def end_container(self, container):
        from core.delta.lifecycle import Settlement

        self.log.events.append(f"end {container.id} {container.path}")
        return Settlement()

    def flush(self) -> None:
        self.log.events.append("flush")
        if self.fail_flush:
            self.fail_flush = False
            self.lost += 5
            raise RuntimeError("storage unreachable")

    def dropped(self) -> int:
        return self.lost


def test_the_lifecycle_saves_each_link_last_and_one_container_failing_stops_no_other():
    from core.delta.containers import Container
    from core.delta.lifecycle import Resource, run_category

    log, report = _Log(), BackupReport("res")
    where = Resource("res", "r1", report, _DeltaState(log), _Quarantine(log))  # type: ignore[arg-type]
    containers = [Container("bad", "Bad", "", "Bad"), Container("a", "A", "", "A")]
    run_category(where, _Adapter(log), containers)  # type: ignore[arg-type]
    assert log.events == [
        "record",
        "round a",
        "end unseen a",
        "flush",
        "hold f",
        "save a delta-a",  # after its round's catalog changes were flushed and its failure held
        "read h",
        "flush",
        "release h deleted",  # released only once what it stands for is committed
        "end old Old",  # known before, no longer listed
        "flush",
        "flush",
    ]
    assert [f["item"] for f in report.failures] == ["box Bad"]


def _boxes(*ids: str) -> list:
    from core.delta.containers import Container

    return [Container(i, i.upper(), "", i.upper()) for i in ids]


def _run(log: _Log, adapter: _Adapter, containers: list, clock=None) -> BackupReport:
    from core.delta.lifecycle import Resource, run_category

    report = BackupReport("res")
    where = Resource("res", "r1", report, _DeltaState(log), _Quarantine(log))  # type: ignore[arg-type]
    if clock is not None:
        where.clock = clock
    run_category(where, adapter, containers)  # type: ignore[arg-type]
    return report


def _until_held_retry(events: list[str]) -> list[str]:
    """What the rounds did: the events before the held items' retry (or, none to retry, the removed container's end)."""
    return events[: events.index("read h" if "read h" in events else "end old Old")]


def test_rounds_are_committed_together_and_each_link_is_saved_after_the_commit_in_order():
    log = _Log()
    _run(log, _Adapter(log), _boxes("a", "b", "c"))
    assert _until_held_retry(log.events) == [
        "record",
        "round a", "end unseen a", "round b", "end unseen b", "round c", "end unseen c",
        "flush",  # one commit for the three rounds' catalog changes
        "hold f", "save a delta-a", "hold f", "save b delta-b", "hold f", "save c delta-c",
    ]  # fmt: skip


def test_at_most_hold_rounds_rounds_wait_for_one_commit():
    from core.delta.lifecycle import HOLD_ROUNDS

    log = _Log()
    ids = [f"c{n:03}" for n in range(2 * HOLD_ROUNDS + 3)]
    _run(log, _Adapter(log), _boxes(*ids))
    events = _until_held_retry(log.events)
    flushes = [n for n, e in enumerate(events) if e == "flush"]
    assert len(flushes) == 3  # HOLD_ROUNDS, HOLD_ROUNDS, then the last 3
    for flush, first, count in ((flushes[0], 0, HOLD_ROUNDS), (flushes[1], HOLD_ROUNDS, HOLD_ROUNDS)):
        saved = [e for e in events[flush:] if e.startswith("save")][:count]
        assert saved == [f"save {i} delta-{i}" for i in ids[first : first + count]]  # right after their commit
        before = events[:flush]
        assert f"round {ids[first + count - 1]}" in before and f"round {ids[first + count]}" not in before


def test_rounds_are_not_held_longer_than_hold_rounds_s():
    from core.delta.lifecycle import HOLD_ROUNDS_S

    log, now = _Log(), [0.0]

    def clock() -> float:
        now[0] += HOLD_ROUNDS_S / 2 + 0.1  # each reading later: the second round is past the bound of the first
        return now[0]

    _run(log, _Adapter(log), _boxes("a", "b", "c", "d"), clock)
    assert _until_held_retry(log.events) == [
        "record",
        "round a", "end unseen a", "round b", "end unseen b", "flush",
        "hold f", "save a delta-a", "hold f", "save b delta-b",
        "round c", "end unseen c", "round d", "end unseen d", "flush",
        "hold f", "save c delta-c", "hold f", "save d delta-d",
    ]  # fmt: skip


def test_a_failed_commit_saves_no_link_of_the_rounds_it_held_nor_of_later_ones():
    log = _Log()
    adapter = _Adapter(log)
    adapter.fail_flush = True  # the first commit fails: storage unreachable
    from core.delta.lifecycle import HOLD_ROUNDS

    ids = [f"c{n:03}" for n in range(HOLD_ROUNDS + 1)]
    report = _run(log, adapter, _boxes(*ids))
    events = _until_held_retry(log.events)
    assert events.count("flush") == 2
    assert not [e for e in events if e.startswith(("save", "hold"))]  # the next commit lands, yet moves nothing
    assert sorted(f["item"] for f in report.failures) == sorted(f"box {i.upper()}" for i in ids)
    assert all("storage unreachable" in f["error"] for f in report.failures[:-1])
    assert "catalog commit" in report.failures[-1]["error"]


def test_once_a_commit_of_the_category_lost_changes_no_link_of_it_moves_in_the_run():
    log = _Log()
    report = _run(log, _Adapter(log), _boxes("a", "b", "lost", "d"))
    events = _until_held_retry(log.events)
    assert not [e for e in events if e.startswith(("save", "hold"))]  # a, b: theirs may be lost; d: the folders'
    assert [f["item"] for f in report.failures] == ["box LOST", "box A", "box B", "box D"]
    assert all("catalog commit" in f["error"] for f in report.failures[1:])


class _Writer:
    """One catalog writer shared by a group's adapters: a commit only when something is buffered."""

    def __init__(self, log: _Log) -> None:
        self.log, self.pending, self.lost, self.fail = log, 0, 0, False

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, 0
        self.log.events.append("commit")
        if self.fail:
            self.lost += pending
            raise RuntimeError("storage unreachable")


class _Grouped(_Adapter):
    """A category of a group: its record and rounds write to the shared writer."""

    def __init__(self, log: _Log, writer: _Writer, category: str, label: str) -> None:
        super().__init__(log)
        self.writer, self.category, self.label = writer, category, label
        self.held = {} if category != "k" else self.held

    def record(self, containers) -> None:
        self.log.events.append(f"record {self.category}")
        self.writer.pending += 1

    def run_round(self, container, state):
        done = super().run_round(container, state)
        self.writer.pending += 1
        return done

    def end_container(self, container):
        from core.delta.lifecycle import Settlement

        self.log.events.append(f"end {self.category} {container.path}")
        return Settlement()

    def flush(self) -> None:
        self.writer.flush()

    def dropped(self) -> int:
        return self.writer.lost


def _group(log: _Log, writer: _Writer, report: BackupReport):
    from core.delta.lifecycle import CategoryGroup, Resource

    where = Resource("res", "r1", report, _DeltaState(log), _Quarantine(log))  # type: ignore[arg-type]
    return CategoryGroup(where), _Grouped(log, writer, "k", "box"), _Grouped(log, writer, "j", "list")


def test_a_group_of_categories_is_one_commit_then_each_rounds_settlement_then_each_categorys_end():
    log, report = _Log(), BackupReport("res")
    writer = _Writer(log)
    group, mail, lists = _group(log, writer, report)
    group.run(mail, _boxes("a", "b"))  # type: ignore[arg-type]
    group.run(lists, _boxes("x"))  # type: ignore[arg-type]
    assert "commit" not in log.events and not [e for e in log.events if e.startswith("save")]  # all still held
    group.close()
    assert log.events == [
        "record k", "round a", "end unseen a", "round b", "end unseen b",
        "record j", "round x", "end unseen x",
        "commit",  # one for both categories' rows, their containers' versions first
        "hold f", "save a delta-a", "hold f", "save b delta-b", "hold f", "save x delta-x",  # in order, after it
        "read h", "release h deleted", "end k Old",  # then each category's end: the first's held items, removals
        "end j Old",
    ]  # fmt: skip
    assert not report.failures and not group.lost


def test_a_failed_group_commit_moves_no_link_of_any_of_its_categories():
    log, report = _Log(), BackupReport("res")
    writer = _Writer(log)
    writer.fail = True
    group, mail, lists = _group(log, writer, report)
    group.run(mail, _boxes("a"))  # type: ignore[arg-type]
    group.run(lists, _boxes("x"))  # type: ignore[arg-type]
    group.close()
    assert log.events.count("commit") == 1
    assert not [e for e in log.events if e.startswith(("save", "hold"))]
    assert [f["item"] for f in report.failures] == ["box A", "list X"] and group.lost


def test_a_groups_categories_may_run_in_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    log, report = _Log(), BackupReport("res")
    group, mail, lists = _group(log, _Writer(log), report)
    boxes = {"m": [f"m{n}" for n in range(10)], "l": [f"l{n}" for n in range(10)]}
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(group.run, mail, _boxes(*boxes["m"])), pool.submit(group.run, lists, _boxes(*boxes["l"]))]
        for future in done:
            future.result()
    group.close()
    saved = [e for e in log.events if e.startswith("save")]
    assert sorted(saved) == sorted(f"save {c} delta-{c}" for c in boxes["m"] + boxes["l"])  # every round's link
    assert log.events.count("commit") == 1 and log.events.index("commit") < log.events.index(saved[0])
    assert not report.failures
