"""The simulator's SharePoint lists over real loopback HTTPS with msal tokens: the lists of a site (libraries
included, system lists only on request), columns, items with their fields, read-only fields refused, versions,
list creation, and list item delta (paging, changes, deletions as a `deleted` facet, 410 with a fresh start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from graphsim.lists.control_client import ListControl
from graphsim.process import SimulatorProcess, start_simulator
from tests.integration.test_graphsim import MsalAuth, tls


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-lists"), users=2, messages=1, seed=5, drive_files=2,
                         sites=1, contacts=0, events=0, list_items=5) as process:  # fmt: skip
        yield process


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def control(sim: SimulatorProcess) -> Iterator[ListControl]:
    client = ListControl(sim.base_url, sim.ca_file)
    yield client
    client.close()


@pytest.fixture(scope="module")
def site(control: ListControl) -> str:
    return next(iter(control.state()))


def lists_url(site: str) -> str:
    return f"sites/{quote(site, safe=',')}/lists"


def by_name(graph: httpx.Client, site: str, name: str) -> dict[str, Any]:
    return next(x for x in graph.get(lists_url(site)).json()["value"] if x["displayName"] == name)


def delta_round(graph: httpx.Client, url: str, params: dict[str, str] | None) -> tuple[list[dict], str, int]:
    entries: list[dict] = []
    pages = 0
    while True:
        body = graph.get(url, params=params if pages == 0 else None).json()
        pages += 1
        entries += body["value"]
        if "@odata.deltaLink" in body:
            return entries, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_lists_of_a_site_include_libraries_and_hide_system_lists(graph: httpx.Client, site: str):
    listed = graph.get(lists_url(site)).json()["value"]
    templates = {x["displayName"]: x["list"]["template"] for x in listed}
    assert templates["Equipment"] == "genericList" and templates["Issues"] == "issueTracking"
    assert "documentLibrary" in templates.values()  # the drive surface's libraries are lists too
    assert "User Information List" not in templates  # a system list: only with $select=system
    with_system = graph.get(lists_url(site), params={"$select": "id,displayName,list,system"}).json()["value"]
    hidden = next(x for x in with_system if x["displayName"] == "User Information List")
    assert hidden["list"]["hidden"] is True and "system" in hidden


def test_columns_items_fields_and_read_only_fields(graph: httpx.Client, site: str):
    equipment = by_name(graph, site, "Equipment")
    url = f"{lists_url(site)}/{equipment['id']}"
    columns = {c["name"]: c for c in graph.get(f"{url}/columns").json()["value"]}
    assert columns["Created"]["readOnly"] and columns["Author"]["readOnly"] and not columns["Quantity"]["readOnly"]
    assert {"number", "choice", "dateTime", "boolean", "personOrGroup"} <= {k for c in columns.values() for k in c}
    items = graph.get(f"{url}/items", params={"$expand": "fields"}).json()["value"]
    assert len(items) == 5 and all("OwnerLookupId" in i["fields"] for i in items)
    assert "fields" not in graph.get(f"{url}/items").json()["value"][0]
    refused = graph.patch(f"{url}/items/1/fields", json={"Created": "2020-01-01T00:00:00Z"})
    assert refused.status_code == 400 and "read-only" in refused.json()["error"]["message"]
    assert graph.patch(f"{url}/items/1/fields", json={"Nope": 1}).status_code == 400
    assert graph.patch(f"{url}/items/1/fields", json={"Category": "Spaceship"}).status_code == 400
    changed = graph.patch(f"{url}/items/1/fields", json={"Quantity": 99, "Notes": None})
    assert changed.status_code == 200 and changed.json()["Quantity"] == 99 and "Notes" not in changed.json()
    versions = graph.get(f"{url}/items/1/versions", params={"$expand": "fields"}).json()["value"]
    assert [v["id"] for v in versions] == ["2.0", "1.0"] and versions[0]["fields"]["Quantity"] == 99
    assert "fields" not in graph.get(f"{url}/items/1/versions").json()["value"][0]
    created = graph.post(f"{url}/items", json={"fields": {"Title": "New", "InService": True}})
    assert created.status_code == 201 and created.json()["fields"]["Title"] == "New"
    assert graph.delete(f"{url}/items/{created.json()['id']}").status_code == 204
    assert graph.get(f"{url}/items/{created.json()['id']}").status_code == 404


def test_create_list_brings_template_columns_and_refuses_a_used_title(graph: httpx.Client, site: str):
    body = {"displayName": "Books", "columns": [{"name": "PageCount", "number": {}}],
            "list": {"template": "issueTracking"}}  # fmt: skip
    created = graph.post(lists_url(site), json=body)
    assert created.status_code == 201, created.text
    names = {c["name"] for c in created.json()["columns"]}
    assert {"Title", "Status", "AssignedTo", "PageCount", "Created"} <= names
    assert graph.post(lists_url(site), json=body).status_code == 409
    column = graph.post(f"{lists_url(site)}/{created.json()['id']}/columns", json={"name": "Isbn", "text": {}})
    assert column.status_code == 201
    assert graph.post(f"{lists_url(site)}/{created.json()['id']}/columns", json={"name": "Isbn"}).status_code == 409


def test_list_item_delta_pages_changes_deletions_and_resync(control: ListControl, graph: httpx.Client, site: str):
    issues = by_name(graph, site, "Issues")
    url = f"{lists_url(site)}/{issues['id']}/items/delta"
    entries, link, pages = delta_round(graph, url, {"$expand": "fields", "$top": "2"})
    assert pages == 3 and len(entries) == 5 and all("fields" in e for e in entries)
    assert "token=" in link and "$expand" not in link  # the query lives in the opaque token
    control.edit_item(site, issues["id"], "2", {"Status": "Closed"})
    control.delete_item(site, "Issues", "3")  # by title too
    added = control.add_item(site, issues["id"], {"Title": "Fresh", "Priority": "(3) Low"})
    entries, link2, _ = delta_round(graph, link, None)
    by_id = {e["id"]: e for e in entries}
    assert set(by_id) == {"2", "3", added["id"]}
    assert by_id["2"]["fields"]["Status"] == "Closed" and by_id["3"]["deleted"] == {"state": "deleted"}
    assert delta_round(graph, link2, None)[0] == []
    latest = graph.get(url, params={"token": "latest"}).json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    assert control.expire_delta_tokens() >= 4
    gone = graph.get(link2)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "resyncChangesApplyDifferences"
    fresh, _, _ = delta_round(graph, gone.headers["Location"], None)
    assert len(fresh) == 5 and all("fields" in e for e in fresh)  # 5 live: one deleted, one added
