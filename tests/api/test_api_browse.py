"""Every read endpoint over real HTTP: who am I, resources, points, tree, search with continuation tokens, download,
export, runs, backups started and polled, the audit log, and the OpenAPI document."""

from __future__ import annotations

import email
import io
import time
import zipfile

from tests.api.harness import Api


def _user(api: Api) -> str:
    return api.tenant.mailboxes()[0]["id"]


def test_openapi_describes_every_route(api: Api):
    import httpx

    document = httpx.get(f"{api.url}/api/v1/openapi.json").json()  # public: it holds no data
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    assert paths >= {
        "/api/v1/me", "/api/v1/resources", "/api/v1/resources/{resource}/points", "/api/v1/resources/{resource}/tree",
        "/api/v1/resources/{resource}/items", "/api/v1/resources/{resource}/download",
        "/api/v1/resources/{resource}/export", "/api/v1/restores", "/api/v1/restores/{job_id}", "/api/v1/backups",
        "/api/v1/backups/current", "/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/audit", "/api/v1/dashboard",
    }  # fmt: skip
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    restore = document["components"]["schemas"]["RestoreBody"]
    assert restore["additionalProperties"] is False


def test_points_tree_and_search_with_continuation(api: Api):
    user = _user(api)
    resource = f"exchange:{user}"
    live = next(u for u in api.tenant.sim.control.state()["users"] if u["id"] == user)["messages"]
    with api.operator() as client:
        points = client.get(f"/api/v1/resources/{resource}/points").json()["items"]
        assert [p["status"] for p in points] == ["succeeded"]
        run_id = points[0]["run_id"]

        top = client.get(f"/api/v1/resources/{resource}/tree", params={"run_id": run_id}).json()
        assert "Inbox" in {f["name"] for f in top["folders"]}
        inbox = client.get(f"/api/v1/resources/{resource}/tree", params={"path": "Inbox"}).json()
        assert {i["id"] for i in inbox["items"]} == {m["id"] for m in live if m["folder_path"] == "/Inbox"}

        seen, token, pages = [], None, 0
        while True:
            params = {"page_size": 5, **({"continuation": token} if token else {})}
            page = client.get(f"/api/v1/resources/{resource}/items", params=params).json()
            seen.extend(i["id"] for i in page["items"])
            pages += 1
            token = page["continuation"]
            if not token:
                break
        assert pages >= 3
        assert sorted(seen) == sorted(m["id"] for m in live)  # no duplicates, no gaps

        subject = live[0]["subject"]
        found = client.get(f"/api/v1/resources/{resource}/items", params={"subject": subject[:12]}).json()["items"]
        assert live[0]["id"] in {i["id"] for i in found}
        assert all(subject[:12].lower() in i["subject"].lower() for i in found)


def test_download_and_export_are_streamed_and_audited(api: Api):
    user = _user(api)
    resource = f"exchange:{user}"
    message = next(u for u in api.tenant.sim.control.state()["users"] if u["id"] == user)["messages"][0]
    mime = api.tenant.sim.control.message_mime(user, message["id"])
    with api.operator() as client:
        response = client.get(f"/api/v1/resources/{resource}/download", params={"item_id": message["id"]})
        assert response.status_code == 200
        assert response.content == mime
        assert response.headers["content-type"].startswith("message/rfc822")
        assert response.headers["content-disposition"].startswith("attachment;")
        assert email.message_from_bytes(response.content)["Message-ID"]

        exported = client.get(f"/api/v1/resources/{resource}/export", params={"folder": "Inbox"})
        assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
        inbox = [m for m in next(u for u in api.tenant.sim.control.state()["users"] if u["id"] == user)["messages"]
                 if m["folder_path"].startswith("/Inbox")]  # fmt: skip
        assert len([n for n in names if n.endswith(".eml")]) == len(inbox)
    actions = {(e["action"], e["resource"], e["result"]) for e in api.audit()}
    assert ("download", resource, "accepted") in actions and ("export", resource, "accepted") in actions


def test_runs_and_an_on_demand_backup(api: Api):
    user = _user(api)
    with api.admin() as admin:
        before = admin.get("/api/v1/runs").json()["items"]
        started = admin.post("/api/v1/backups", json={"resources": [f"exchange:{user}"]})
        assert started.status_code == 202, started.text
        again = admin.post("/api/v1/backups", json={})
        assert again.status_code in (202, 409)  # 409 while the first is still running
        deadline = time.monotonic() + 120
        while True:
            status = admin.get(started.headers["location"]).json()
            if status["runtimeStatus"] not in ("Running", "Pending"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert status["runtimeStatus"] == "Completed", status
        api.server.orchestrations.wait_idle()
        after = admin.get("/api/v1/runs").json()["items"]
        assert len(after) > len(before)
        newest = admin.get(f"/api/v1/runs/{after[0]['run_id']}").json()
        assert newest["status"] == "succeeded"
        bad = admin.post("/api/v1/backups", json={"resources": ["not a key"]})
        assert bad.status_code == 422


def test_audit_pages_newest_first(api: Api):
    with api.admin() as admin:
        first = admin.get("/api/v1/audit", params={"limit": 2}).json()
        assert len(first["items"]) == 2 and first["continuation"]
        second = admin.get("/api/v1/audit", params={"limit": 2, "continuation": first["continuation"]}).json()
        assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
        times = [e["at"] for e in first["items"] + second["items"]]
        assert times == sorted(times, reverse=True)


def test_a_folder_lists_its_items_page_by_page(api: Api):
    user = _user(api)
    resource = f"exchange:{user}"
    live = next(u for u in api.tenant.sim.control.state()["users"] if u["id"] == user)["messages"]
    inbox = {m["id"] for m in live if m["folder_path"] == "/Inbox"}
    assert len(inbox) > 2  # so it takes several pages
    with api.operator() as client:
        seen, token = [], None
        while True:
            params = {"path": "Inbox", "page_size": 2, **({"continuation": token} if token else {})}
            page = client.get(f"/api/v1/resources/{resource}/tree", params=params).json()
            assert "Projects" in {f["name"] for f in page["folders"]}  # subfolders on every page
            seen.extend(i["id"] for i in page["items"])
            token = page["continuation"]
            if not token:
                break
    assert len(seen) == len(set(seen)) and set(seen) == inbox
