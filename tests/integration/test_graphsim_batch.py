"""The simulator's JSON batching (graphsim/batch.py) over loopback HTTPS, as https://learn.microsoft.com/graph/
json-batching documents it: at most 20 requests, one answer per request with its own status, dependsOn and 424,
inner requests throttled one by one (an inner 429 with its Retry-After), at most 4 of a batch at once for a
mailbox, and the stats telling round trips from the requests Graph counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphsim.process import SimulatorProcess, start_simulator
from tests.integration.test_graphsim import MsalAuth, tls


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-batch"), users=2, messages=4, seed=3) as process:
        yield process


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def clean(sim: SimulatorProcess) -> Iterator[None]:
    sim.control.clear_faults()
    sim.control.reset_stats()
    yield
    sim.control.clear_faults()


def _user(sim: SimulatorProcess) -> str:
    return str(sim.control.mailbox_users()[0]["id"])


def _batch(graph: httpx.Client, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    response = graph.post("/$batch", json={"requests": requests})
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_each_request_is_answered_on_its_own_and_counted_once(graph: httpx.Client, sim: SimulatorProcess) -> None:
    user = _user(sim)
    answers = _batch(graph, [
        {"id": "1", "method": "GET", "url": f"/users/{user}/mailFolders/inbox"},
        {"id": "2", "method": "GET", "url": f"users/{user}/mailFolders/no-such-folder"},
        {"id": "3", "method": "GET", "url": f"/users/{user}/mailFolders/delta",
         "headers": {"Prefer": "odata.maxpagesize=2"}},
    ])  # fmt: skip
    assert answers["1"]["status"] == 200 and answers["1"]["body"]["displayName"] == "Inbox"
    assert answers["2"]["status"] == 404 and answers["2"]["body"]["error"]["code"]
    page = answers["3"]["body"]
    assert answers["3"]["status"] == 200 and len(page["value"]) == 2 and "@odata.nextLink" in page  # Prefer honoured
    direct = graph.get(page["@odata.nextLink"])  # links handed out inside a batch work outside it
    assert direct.status_code == 200
    stats = sim.control.stats()
    assert stats["by_kind"]["batch"] == 1 and stats["batched"] == 3
    assert stats["http"] == stats["total"] - 3 == 1 + 1 + stats["by_kind"]["token"]  # the envelope and the GET


def test_more_than_20_requests_or_a_malformed_batch_is_refused_whole(graph: httpx.Client, sim: SimulatorProcess):
    user = _user(sim)
    many = [{"id": str(n), "method": "GET", "url": f"/users/{user}/mailFolders/inbox"} for n in range(21)]
    too_many = graph.post("/$batch", json={"requests": many})
    assert too_many.status_code == 400 and "20" in too_many.json()["error"]["message"]
    twice = graph.post("/$batch", json={"requests": [many[0], many[0]]})
    absolute = graph.post("/$batch", json={"requests": [{**many[0], "url": f"{sim.base_url}/v1.0/me"}]})
    unknown = graph.post("/$batch", json={"requests": [{**many[0], "dependsOn": ["9"]}]})
    assert {twice.status_code, absolute.status_code, unknown.status_code} == {400}
    assert sim.control.stats()["batched"] == 0  # nothing of a refused batch was carried out


def test_a_failed_dependency_answers_424_and_is_not_carried_out(graph: httpx.Client, sim: SimulatorProcess):
    user = _user(sim)
    answers = _batch(graph, [
        {"id": "a", "method": "GET", "url": f"/users/{user}/mailFolders/no-such-folder"},
        {"id": "b", "method": "GET", "url": f"/users/{user}/mailFolders/inbox", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": f"/users/{user}/mailFolders/inbox"},
        {"id": "d", "method": "GET", "url": f"/users/{user}/mailFolders/drafts", "dependsOn": ["c"]},
    ])  # fmt: skip
    assert [answers[i]["status"] for i in "abcd"] == [404, 424, 200, 200]
    assert sim.control.stats()["batched"] == 3  # b never ran


def test_inner_requests_are_throttled_one_by_one(graph: httpx.Client, sim: SimulatorProcess) -> None:
    user = _user(sim)
    sim.control.throttle_storm(1, status=429, retry_after="2", user=user, endpoint="folders")
    sim.control.configure(latency_ms=100)  # eight slow requests to one mailbox in one batch
    try:
        answers = _batch(graph, [{"id": str(n), "method": "GET", "url": f"/users/{user}/mailFolders/inbox"}
                                 for n in range(8)])  # fmt: skip
    finally:
        sim.control.configure(latency_ms=0)
    statuses = sorted(a["status"] for a in answers.values())
    assert statuses == [200] * 7 + [429]  # the one the fault hit; the mailbox's 4 concurrent never exceeded
    throttled = next(a for a in answers.values() if a["status"] == 429)
    assert {k.lower(): v for k, v in throttled["headers"].items()}["retry-after"] == "2"
    assert sim.control.stats()["max_in_flight"][user] == 4
