"""The simulator's OneDrive / SharePoint side over real loopback HTTPS with msal tokens: discovery, drive delta with
410 resync, 302 downloads with Range/expiry/drops, uploads (simple and sessions), conflicts, permissions, RU limits."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from graphsim.drives.content import QuickXorHash
from graphsim.process import SimulatorProcess, start_simulator
from tests.integration.test_graphsim import MsalAuth, tls

FRAGMENT = 320 * 1024


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-drives"), users=3, messages=2, seed=11,
                         drive_files=20, sites=3) as process:  # fmt: skip
        yield process


@pytest.fixture(scope="module")
def graph(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=tls(sim), auth=MsalAuth(sim), timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def cdn(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    """A client with no credentials, as a download to a pre-authenticated URL must be."""
    with httpx.Client(verify=tls(sim), timeout=30) as client:
        yield client


def user_drive(sim: SimulatorProcess, n: int = 0) -> dict[str, Any]:
    return [d for d in sim.control.drives_state()["drives"] if d["owner_kind"] == "user"][n]


def delta_round(graph: httpx.Client, url: str, top: int | None = None) -> tuple[list[dict[str, Any]], str, int]:
    items: list[dict[str, Any]] = []
    pages = 0
    params = {"$top": top} if top else None
    while True:
        response = graph.get(url, params=params if pages == 0 else None)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_discovery(sim: SimulatorProcess, graph: httpx.Client) -> None:
    users = sim.control.state()["users"]
    with_mailbox = [u for u in users if u["has_mailbox"]]
    drive = graph.get(f"/users/{with_mailbox[0]['id']}/drive").json()
    assert drive["driveType"] == "business" and drive["id"].startswith("b!") and drive["owner"]["user"]["id"]
    no_drive = graph.get(f"/users/{next(u for u in users if not u['has_mailbox'])['id']}/drive")
    assert no_drive.status_code == 404 and no_drive.json()["error"]["code"] == "ResourceNotFound"
    assert "mysite" in no_drive.json()["error"]["message"]
    sites, url = [], "/sites?search=*&$top=2"
    while url:
        body = graph.get(url).json()
        sites += body["value"]
        url = body.get("@odata.nextLink")
    assert len(sites) == 3 and all(len(s["id"].split(",")) == 3 and s["webUrl"] and s["displayName"] for s in sites)
    assert [s["id"] for s in graph.get("/sites/getAllSites").json()["value"]] == [s["id"] for s in sites]
    libraries = graph.get(f"/sites/{sites[1]['id']}/drives").json()["value"]
    assert {d["name"] for d in libraries} == {"Documents", "Project Files"}
    assert all(d["driveType"] == "documentLibrary" for d in libraries)
    root = graph.get(f"/drives/{drive['id']}/root").json()
    assert root["root"] == {} and root["folder"]["childCount"] > 0
    children, url = [], f"/drives/{drive['id']}/items/{root['id']}/children?$top=3"
    while url:
        body = graph.get(url).json()
        children += body["value"]
        url = body.get("@odata.nextLink")
    assert len(children) == root["folder"]["childCount"]
    # path addressing with awkward names
    state = sim.control.drive(drive["id"])
    odd = next(i for i in state["items"] if "%" in i["path"] and not i["folder"])
    by_path = graph.get(f"/drives/{drive['id']}/root:{quote(odd['path'])}:")
    assert by_path.status_code == 200 and by_path.json()["id"] == odd["id"]
    item = by_path.json()
    assert item["parentReference"]["path"].startswith("/drive/root:") and item["file"]["hashes"]["quickXorHash"]
    assert item["createdBy"]["user"]["displayName"] and item["fileSystemInfo"]["lastModifiedDateTime"]
    long_path = max((i["path"] for i in state["items"]), key=len)
    assert len(long_path) > 250
    assert graph.get(f"/drives/{drive['id']}/root:{quote(long_path)}").status_code == 200
    missing = graph.get(f"/drives/{drive['id']}/items/01NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"


def test_delta_full_then_incremental(sim: SimulatorProcess, graph: httpx.Client) -> None:
    drive = user_drive(sim, 1)
    did = drive["id"]
    items, delta_link, pages = delta_round(graph, f"/drives/{did}/root/delta", top=5)
    assert pages >= 5 and {i["id"] for i in items} == {i["id"] for i in drive["items"]}
    assert all("path" not in i["parentReference"] for i in items) and items[0]["id"] == drive["root_id"]
    # changes after the round: add, modify, rename, move, delete
    files = [i for i in drive["items"] if not i["folder"]]
    added = sim.control.add_drive_item(did, "new file.txt", parent="/Documents", size=1234)
    modified = sim.control.modify_drive_item(did, files[0]["id"], size=777)
    sim.control.rename_drive_item(did, files[1]["id"], "renamed #1.txt")
    moved = sim.control.move_drive_item(did, files[2]["id"], parent="/Photos")
    deleted = sim.control.delete_drive_item(did, files[3]["id"])
    changes, next_delta, _ = delta_round(graph, delta_link)
    by_id = {i["id"]: i for i in changes}
    assert added["id"] in by_id and by_id[added["id"]]["size"] == 1234
    assert by_id[modified["id"]]["size"] == 777
    assert by_id[files[1]["id"]]["name"] == "renamed #1.txt"
    photos = next(i for i in sim.control.drive(did)["items"] if i["path"] == "/Photos")
    assert by_id[moved["id"]]["parentReference"]["id"] == photos["id"]
    assert by_id[deleted[0]]["deleted"] == {"state": "deleted"} and "name" not in by_id[deleted[0]]
    assert drive["root_id"] in by_id  # parents of changed items come along
    assert all(i["id"] in by_id for i in changes)
    quiet, _, _ = delta_round(graph, next_delta)
    assert quiet == []
    latest = graph.get(f"/drives/{did}/root/delta", params={"token": "latest"}).json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    sim.control.add_drive_item(did, "after latest.bin", size=10)
    assert [i["name"] for i in delta_round(graph, latest["@odata.deltaLink"])[0] if "file" in i] == ["after latest.bin"]


def test_delta_410_resync(sim: SimulatorProcess, graph: httpx.Client) -> None:
    did = user_drive(sim, 2)["id"]
    first, delta_link, _ = delta_round(graph, f"/drives/{did}/root/delta", top=4)
    mid = graph.get(f"/drives/{did}/root/delta", params={"$top": 4}).json()["@odata.nextLink"]
    sim.control.expire_drive_delta_tokens(did)
    for url in (delta_link, mid):
        gone = graph.get(url)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "resyncChangesApplyDifferences"
        fresh, _, _ = delta_round(graph, gone.headers["Location"])
        assert {i["id"] for i in fresh} == {i["id"] for i in first}
    sim.control.expire_drive_delta_tokens(did, code="resyncChangesUploadDifferences")
    gone = graph.get(delta_link)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "resyncChangesUploadDifferences"


def test_download_redirect_range_expiry_and_drop(sim: SimulatorProcess, graph: httpx.Client, cdn: httpx.Client) -> None:
    drive = user_drive(sim, 0)
    item = sim.control.add_drive_item(drive["id"], "download me.bin", size=900_000)
    expected = sim.control.drive_item_content(drive["id"], item["id"])
    assert hashlib.sha256(expected).hexdigest() == item["sha256"]
    redirect = graph.get(f"/drives/{drive['id']}/items/{item['id']}/content")
    assert redirect.status_code == 302
    url = redirect.headers["Location"]
    assert cdn.get(url).content == expected
    part = cdn.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == expected[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(expected)}"
    # dropped mid-file, resumed by Range from a fresh URL
    sim.control.drop_download(after_bytes=300_000, item=item["id"])
    received = bytearray()
    with pytest.raises(httpx.HTTPError), cdn.stream("GET", url) as response:
        for piece in response.iter_bytes():
            received += piece
    assert 0 < len(received) <= 300_000
    fresh = graph.get(f"/drives/{drive['id']}/items/{item['id']}/content").headers["Location"]
    rest = cdn.get(fresh, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206 and bytes(received) + rest.content == expected
    # expiry
    sim.control.configure_drives(download_url_lifetime=0.3)
    try:
        short = graph.get(f"/drives/{drive['id']}/items/{item['id']}/content").headers["Location"]
        time.sleep(0.5)
        assert cdn.get(short).status_code == 401
    finally:
        sim.control.configure_drives(download_url_lifetime=600)
    stats = sim.control.drive_stats()
    assert stats["download_with_authorization"] == 0 and stats["download_dropped"] == 1
    assert stats["download_expired"] >= 1


def test_big_generated_file_streams_to_its_hash(sim: SimulatorProcess, graph: httpx.Client,
                                                cdn: httpx.Client) -> None:  # fmt: skip
    did = user_drive(sim, 0)["id"]
    size = 64 * 1024 * 1024
    big = sim.control.add_big_file(did, "big.vhd", size)
    meta = graph.get(f"/drives/{did}/items/{big['id']}").json()
    assert meta["size"] == size and meta["file"]["hashes"]["quickXorHash"] == big["quickXorHash"]
    sha, qx, total = hashlib.sha256(), QuickXorHash(), 0
    with cdn.stream("GET", meta["@microsoft.graph.downloadUrl"]) as response:
        for piece in response.iter_bytes(1 << 20):
            sha.update(piece)
            qx.update(piece)
            total += len(piece)
    assert total == size and sha.hexdigest() == big["sha256"] and qx.b64digest() == big["quickXorHash"]


def test_uploads_sessions_and_conflicts(sim: SimulatorProcess, graph: httpx.Client, cdn: httpx.Client) -> None:
    did = user_drive(sim, 2)["id"]
    root = sim.control.drive(did)["root_id"]
    folder = graph.post(
        f"/drives/{did}/items/{root}/children",
        json={"name": "Restored ü #1", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"},
    )
    assert folder.status_code == 201
    fid = folder.json()["id"]
    again = graph.post(f"/drives/{did}/items/{root}/children", json={"name": "Restored ü #1", "folder": {}})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nameAlreadyExists"
    small = graph.put(f"/drives/{did}/items/{fid}:/{quote('small 50%.txt')}:/content", content=b"hello world")
    assert small.status_code == 201 and small.json()["file"]["hashes"]["quickXorHash"] == "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
    replaced = graph.put(f"/drives/{did}/items/{small.json()['id']}/content", content=b"hello again")
    assert replaced.status_code == 200 and replaced.json()["id"] == small.json()["id"]
    # a session of 3 full fragments and a tail; the second fragment fails once and is resumed
    data = bytes(range(256)) * (3 * FRAGMENT // 256) + b"tail" * 1000
    session = graph.post(f"/drives/{did}/items/{fid}:/big upload.bin:/createUploadSession",
                         json={"item": {"@microsoft.graph.conflictBehavior": "fail", "fileSystemInfo": {
                             "lastModifiedDateTime": "2020-01-02T03:04:05Z"}}}).json()  # fmt: skip
    upload_url = session["uploadUrl"]

    def put(start: int, end: int) -> httpx.Response:
        return cdn.put(upload_url, content=data[start:end],
                       headers={"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})  # fmt: skip

    assert put(0, FRAGMENT).status_code == 202
    sim.control.fail_upload_fragment(item="big upload.bin")
    assert put(FRAGMENT, 2 * FRAGMENT).status_code == 500
    status = cdn.get(upload_url).json()
    assert status["nextExpectedRanges"][0].startswith(f"{FRAGMENT}-")
    assert put(2 * FRAGMENT, 3 * FRAGMENT).status_code == 416  # out of order
    assert put(FRAGMENT, FRAGMENT + 1000).status_code == 400  # not a 320 KiB multiple
    assert put(FRAGMENT, 3 * FRAGMENT).status_code == 202
    done = put(3 * FRAGMENT, len(data))
    assert done.status_code == 201, done.text
    assert done.json()["size"] == len(data)
    assert done.json()["fileSystemInfo"]["lastModifiedDateTime"] == "2020-01-02T03:04:05Z"
    assert sim.control.drive_item_content(did, done.json()["id"]) == data
    assert hashlib.sha256(data).hexdigest() == next(
        i["sha256"] for i in sim.control.drive(did)["items"] if i["id"] == done.json()["id"]
    )
    # conflicts for sessions: fail at creation, rename and replace at commit
    path = f"/drives/{did}/items/{fid}:/big upload.bin:/createUploadSession"
    failed = graph.post(path, json={"item": {"@microsoft.graph.conflictBehavior": "fail"}})
    assert failed.status_code == 409 and failed.json()["error"]["code"] == "nameAlreadyExists"
    for behaviour, name, code in (("rename", "big upload 1.bin", 201), ("replace", "big upload.bin", 200)):
        url = graph.post(path, json={"item": {"@microsoft.graph.conflictBehavior": behaviour}}).json()["uploadUrl"]
        result = cdn.put(url, content=b"xyz", headers={"Content-Range": "bytes 0-2/3"})
        assert result.status_code == code and result.json()["name"] == name
    # PATCH: rename, move and fileSystemInfo
    patched = graph.patch(f"/drives/{did}/items/{small.json()['id']}", json={"name": "moved.txt",
                          "parentReference": {"id": root}, "fileSystemInfo": {
                              "createdDateTime": "2019-05-06T07:08:09Z"}})  # fmt: skip
    assert patched.status_code == 200 and patched.json()["parentReference"]["id"] == root
    assert patched.json()["fileSystemInfo"]["createdDateTime"] == "2019-05-06T07:08:09Z"
    assert sim.control.drive_stats()["upload_with_authorization"] == 0


def test_permissions(sim: SimulatorProcess, graph: httpx.Client) -> None:
    drive = user_drive(sim, 0)
    photos = next(i for i in drive["items"] if i["path"] == "/Photos")
    perms = graph.get(f"/drives/{drive['id']}/items/{photos['id']}/permissions").json()["value"]
    link = next(p for p in perms if "link" in p)
    assert link["link"]["scope"] == "anonymous" and link["link"]["type"] == "edit" and link["roles"] == ["write"]
    owner = next(p for p in perms if p["roles"] == ["owner"])
    assert owner["grantedToV2"]["user"]["id"] == drive["owner_id"]
    shared = [graph.get(f"/drives/{drive['id']}/items/{i['id']}/permissions").json()["value"]
              for i in drive["items"] if not i["folder"]]  # fmt: skip
    assert any(any("grantedToV2" in p and p["roles"] == ["write"] for p in ps) for ps in shared)


def test_resource_unit_throttling(sim: SimulatorProcess, graph: httpx.Client) -> None:
    did = user_drive(sim, 0)["id"]
    sim.control.configure_drives(ru_budget=4, ru_window=1.0)
    try:
        answers = [graph.get(f"/drives/{did}/root") for _ in range(5)]
        throttled = answers[-1]
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
        assert throttled.json()["error"]["code"] == "activityLimitReached"
        time.sleep(float(throttled.headers["Retry-After"]))
        assert graph.get(f"/drives/{did}/root").status_code == 200
        time.sleep(1.0)
        assert graph.get(f"/drives/{did}/root/delta", params={"token": "latest"}).status_code == 200  # 1 RU
    finally:
        sim.control.configure_drives(ru_budget=None, ru_window=60)
    sim.control.throttle_storm(2, endpoint="drive_delta", retry_after="0.1")
    statuses = [graph.get(f"/drives/{did}/root/delta", params={"token": "latest"}).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert sim.control.stats()["by_kind"]["drive_delta"] >= 3 and sim.control.drive_stats()["ru_throttled"] == 1
