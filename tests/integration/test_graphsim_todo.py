"""The simulator's Microsoft To Do over real loopback HTTPS, as the Graph docs describe it: task lists with the
default one, tasks addressed under their list, paged task delta with @removed, checklist items, linked resources,
small attachments only, read-only properties ignored, open extensions expanded, no To Do without a mailbox."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphsim.process import SimulatorProcess, start_simulator
from graphsim.todo.control_client import TodoControl
from tests.integration.test_graphsim import MsalAuth, tls
from tests.integration.test_graphsim_pim import run_round


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-todo"), users=1, messages=1, seed=13, drive_files=0,
                         sites=0, contacts=0, events=0, tasks=7) as process:  # fmt: skip
        yield process


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=30) as client:
        yield client


def _users(sim: SimulatorProcess) -> tuple[str, str]:
    users = sim.control.state()["users"]
    with_mailbox = next(u["id"] for u in users if u["has_mailbox"])
    without = next(u["id"] for u in users if not u["has_mailbox"])
    return with_mailbox, without


def _lists(graph: httpx.Client, uid: str) -> dict[str, dict[str, Any]]:
    return {t["displayName"]: t for t in graph.get(f"/users/{uid}/todo/lists").json()["value"]}


def test_lists_tasks_and_their_children(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid, nobody = _users(sim)
    lists = _lists(graph, uid)
    assert set(lists) == {"Tasks", "Errands"} and lists["Tasks"]["wellknownListName"] == "defaultList"
    default, errands = lists["Tasks"]["id"], lists["Errands"]["id"]
    page = graph.get(f"/users/{uid}/todo/lists/{default}/tasks", params={"$top": "2"}).json()
    assert len(page["value"]) == 2 and "@odata.nextLink" in page
    task = page["value"][0]
    assert {"createdDateTime", "lastModifiedDateTime", "@odata.etag", "status", "importance"} <= set(task)
    assert graph.get(f"/users/{uid}/todo/lists/{errands}/tasks/{task['id']}").status_code == 404  # not its list
    state = TodoControl(sim.base_url, sim.ca_file)
    try:
        rich = next(t for t in state.state(uid)["tasks"] if t["checklistItems"] and t["attachments"])
    finally:
        state.close()
    base = f"/users/{uid}/todo/lists/{rich['list_id']}/tasks/{rich['id']}"
    assert graph.get(f"{base}/checklistItems").json()["value"] == rich["checklistItems"]
    attachment = graph.get(f"{base}/attachments").json()["value"][0]
    assert "contentBytes" not in attachment
    raw = graph.get(f"{base}/attachments/{attachment['id']}/$value").content
    assert base64.b64decode(graph.get(f"{base}/attachments/{attachment['id']}").json()["contentBytes"]) == raw
    no_todo = graph.get(f"/users/{nobody}/todo/lists")
    assert no_todo.status_code == 404 and no_todo.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


def test_create_ignores_read_only_properties_and_keeps_links_and_extensions(graph: httpx.Client,
                                                                            sim: SimulatorProcess) -> None:  # fmt: skip
    uid, _ = _users(sim)
    default = _lists(graph, uid)["Tasks"]["id"]
    body = {"title": "Made here", "createdDateTime": "2001-01-01T00:00:00Z", "status": "completed",
            "completedDateTime": {"dateTime": "2026-04-01T10:00:00", "timeZone": "UTC"},
            "linkedResources": [{"webUrl": "https://x.example/1", "applicationName": "X", "displayName": "One"}],
            "extensions": [{"@odata.type": "#microsoft.graph.openTypeExtension", "extensionName": "com.example.t",
                            "k": "v"}]}  # fmt: skip
    made = graph.post(f"/users/{uid}/todo/lists/{default}/tasks", json=body)
    assert made.status_code == 201, made.text
    task = made.json()
    assert not task["createdDateTime"].startswith("2001") and task["linkedResources"][0]["displayName"] == "One"
    assert task["completedDateTime"]["dateTime"].startswith("2026-04-01T10:00:00")
    url = f"/users/{uid}/todo/lists/{default}/tasks/{task['id']}"
    expanded = graph.get(url, params={"$expand": "extensions"}).json()
    assert expanded["extensions"][0]["extensionName"] == "com.example.t" and "extensions" not in graph.get(url).json()
    assert expanded["extensions"][0]["id"] == "Microsoft.OutlookServices.OpenTypeExtension.com.example.t"
    other = "extensions($filter=id eq 'Microsoft.OutlookServices.OpenTypeExtension.other')"
    assert graph.get(url, params={"$expand": other}).json()["extensions"] == []
    item = graph.post(f"{url}/checklistItems", json={"displayName": "step", "isChecked": True}).json()
    assert item["isChecked"] is True and "checkedDateTime" in item
    big = base64.b64encode(b"x" * (3 * 1024 * 1024)).decode()
    refused = graph.post(f"{url}/attachments", json={"@odata.type": "#microsoft.graph.taskFileAttachment",
                                                     "name": "big.bin", "contentBytes": big})  # fmt: skip
    assert refused.status_code == 413


def test_task_delta_pages_and_reports_changes_and_removals(graph: httpx.Client, sim: SimulatorProcess) -> None:
    uid, _ = _users(sim)
    errands = _lists(graph, uid)["Errands"]["id"]
    url = f"/users/{uid}/todo/lists/{errands}/tasks/delta"
    first, link = run_round(graph, url, page_size=1)
    assert first and all("@removed" not in t for t in first)
    again, link = run_round(graph, link.removeprefix(f"{sim.base_url}/v1.0"), page_size=1)
    assert again == []
    gone, kept = first[0]["id"], first[-1]["id"]
    assert graph.delete(f"/users/{uid}/todo/lists/{errands}/tasks/{gone}").status_code == 204
    if kept != gone:
        patched = graph.patch(f"/users/{uid}/todo/lists/{errands}/tasks/{kept}", json={"title": "Renamed"})
        assert patched.status_code == 200
    changes, _ = run_round(graph, link.removeprefix(f"{sim.base_url}/v1.0"), page_size=1)
    assert {"id": gone, "@removed": {"reason": "deleted"}} in changes
    if kept != gone:
        assert any(c.get("title") == "Renamed" for c in changes)
