"""Restores through the API end to end: 202 + status URL, the restore orchestration run for real, the status polled
to completion, and what came back equal to the original as Graph reports it in the simulated tenant."""

from __future__ import annotations

import hashlib

from devenv.message_fidelity import differences, snapshot
from tests.api.harness import Api


def _messages(api: Api, user: str) -> list[dict]:
    return next(u for u in api.tenant.sim.control.state()["users"] if u["id"] == user)["messages"]


def _start(client, body: dict) -> str:
    response = client.post("/api/v1/restores", json=body)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == accepted["status_url"] == f"/api/v1/restores/{accepted['id']}"
    assert accepted["status"] == "accepted"
    return accepted["status_url"]


def test_an_operator_restores_a_deleted_message_as_it_was(fresh_api: Api):
    api = fresh_api
    user = api.tenant.mailboxes()[0]["id"]
    victim = _messages(api, user)[0]
    original = snapshot(api.tenant.services.graph, api.tenant.sim.control, user, victim["id"])
    api.tenant.sim.control.delete_message(user, victim["id"])

    with api.operator() as operator:
        status_url = _start(operator, {"resource": f"exchange:{user}", "item_ids": [victim["id"]]})
        job = api.wait_for_restore(operator, status_url)

    assert job["status"] == "succeeded", job
    assert job["progress"]["parts"] == job["progress"]["parts_done"] == 1
    assert (job["progress"]["restored"], job["progress"]["skipped"], job["progress"]["failed"]) == (1, 0, 0)
    assert job["failures"] == []
    new_id = job["items"][0]["new_id"]
    assert differences(original, snapshot(api.tenant.services.graph, api.tenant.sim.control, user, new_id)) == []
    restored = next(m for m in _messages(api, user) if m["id"] == new_id)
    assert restored["folder_id"] == victim["folder_id"]
    entries = [e for e in api.audit() if e["detail"] == job["id"] or e.get("action") == "restore.finished"]
    assert {e["result"] for e in entries if e["action"] == "restore"} == {"accepted"}
    finished = [e for e in entries if e["action"] == "restore.finished"]
    assert finished and finished[0]["counts"]["restored"] == 1


def test_a_folder_restores_into_a_new_folder_of_another_mailbox(fresh_api: Api):
    api = fresh_api
    source, target = (u["id"] for u in api.tenant.mailboxes()[:2])
    inbox = [m for m in _messages(api, source) if m["folder_path"].startswith("/Inbox")]
    body = {"resource": f"exchange:{source}", "folder": "Inbox", "destination": "new-folder",
            "destination_name": "From the help desk", "target_resource": f"exchange:{target}"}  # fmt: skip
    with api.operator() as operator:
        job = api.wait_for_restore(operator, _start(operator, body))
    assert job["status"] == "succeeded", job
    assert job["progress"]["restored"] == len(inbox)
    copied = [m for m in _messages(api, target) if m["folder_path"].startswith("/From the help desk/")]
    assert sorted(m["internetMessageId"] for m in copied) == sorted(m["internetMessageId"] for m in inbox)


def test_a_user_restores_their_own_deleted_file_byte_identical(fresh_api: Api):
    api = fresh_api
    user = api.tenant.mailboxes()[0]["id"]
    drive = api.tenant.sim.control.drive(user)
    file = next(i for i in drive["items"] if not i["folder"] and i["size"] > 0)
    content = api.tenant.sim.control.drive_item_content(drive["id"], file["id"])
    api.tenant.sim.control.delete_drive_item(drive["id"], file["id"])

    with api.user(user) as me:
        found = me.get(f"/api/v1/resources/onedrive:{user}/items", params={"name": file["name"]}).json()["items"]
        key = f"{drive['id']}/{file['id']}"  # drive items are known by drive and item id
        assert key in [i["id"] for i in found]
        job = api.wait_for_restore(me, _start(me, {"resource": f"onedrive:{user}", "item_ids": [key]}))
        assert job["status"] == "succeeded", job
        assert job["requester"]["oid"] == user

    now = api.tenant.sim.control.drive(user)
    back = [i for i in now["items"] if i["path"] == file["path"]]
    assert len(back) == 1
    assert api.tenant.sim.control.drive_item_content(drive["id"], back[0]["id"]) == content
    assert hashlib.sha256(content).hexdigest() == job["items"][0]["sha256"]


def test_a_user_cannot_read_someone_elses_restore_job(fresh_api: Api):
    api = fresh_api
    me, other = (u["id"] for u in api.tenant.mailboxes()[:2])
    victim = _messages(api, other)[0]
    with api.operator() as operator:
        status_url = _start(operator, {"resource": f"exchange:{other}", "item_ids": [victim["id"]]})
        api.wait_for_restore(operator, status_url)
    with api.user(me) as user:
        assert user.get(status_url).status_code == 403
        assert user.get("/api/v1/restores").json()["items"] == []
    with api.user(other) as owner:  # not the requester either: only operators see other people's jobs
        assert owner.get(status_url).status_code == 403
