"""The ransomware signal over the API: the points listing and the resources listing name the last clean point, the
dashboard shows the flag, and a restore given no point uses the last clean one and says so, unless asked for the
suspicious one (tests/integration/ransomware_days.py makes the attack)."""

from __future__ import annotations

from tests.api.harness import Api
from tests.integration.ransomware_days import busy_days_then_encrypt


def test_the_api_names_the_last_clean_point_and_restores_default_to_it(fresh_api: Api):
    api = fresh_api
    user = api.tenant.mailboxes()[0]["id"]
    resource = f"onedrive:{user}"
    drive = api.tenant.sim.control.drive(user)["id"]
    attack = busy_days_then_encrypt(api.tenant, drive, resources=[resource])
    attacked, previous = attack.attacked["run_id"], attack.normal[-1]["run_id"]
    victim = next(h for h in attack.hit if h["was"] in attack.ids)

    with api.operator() as operator:
        listing = operator.get(f"/api/v1/resources/{resource}/points").raise_for_status().json()
        assert listing["last_clean_point"] == previous
        assert [p["suspicious"] for p in listing["items"]][-2:] == [False, True]
        assert any("ransomware extension" in r for r in listing["items"][-1]["suspicious_reasons"])
        assert listing["items"][-1]["signals"]["renamed"] >= 20
        row = next(r for r in operator.get("/api/v1/resources").json()["items"] if r["resource"] == resource)
        assert (row["last_suspicious"], row["last_clean_point"]) == (True, previous)

        body = {"resource": resource, "item_ids": [f"{drive}/{victim['id']}"], "destination": "new-folder"}
        accepted = operator.post("/api/v1/restores", json=body)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["run_id"] == previous and attacked in accepted.json()["point_note"]
        job = api.wait_for_restore(operator, accepted.json()["status_url"])
        assert job["status"] == "succeeded" and job["progress"]["restored"] == 1, job

        forced = operator.post("/api/v1/restores", json={**body, "use_suspicious": True}).json()
        assert (forced["run_id"], forced["point_note"]) == (attacked, "")
        pinned = operator.post("/api/v1/restores", json={**body, "run_id": "last-clean"}).json()
        assert pinned["run_id"] == previous
        for started in (forced, pinned):  # both run to the end (new folders of their own)
            assert api.wait_for_restore(operator, started["status_url"])["status"] == "succeeded"

    with api.admin() as admin:
        data = admin.get("/api/v1/dashboard/data").raise_for_status().json()
        row = next(r for r in data["resources"] if r["resource"] == resource)
        assert row["suspicious"] is True and row["last_clean_run_id"] == previous
        page = admin.get("/api/v1/dashboard").text
        assert f"suspicious · last clean: run {previous}" in page

    # a false positive cleared: only an administrator may, with a reason; the point is clean again, and audited
    clear = f"/api/v1/resources/{resource}/points/{attacked}/clear-suspicious"
    with api.operator() as operator:
        assert operator.post(clear, json={"reason": "checked"}).status_code == 403
    with api.admin() as admin:
        assert admin.post(clear, json={"reason": " "}).status_code == 422  # a reason is required
        cleared = admin.post(clear, json={"reason": "planned archive of old files"})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["suspicious"] is False and cleared.json()["suspicious_reasons"]  # what was flagged stays
        assert cleared.json()["suspicious_cleared"]["reason"] == "planned archive of old files"
        listing = admin.get(f"/api/v1/resources/{resource}/points").json()
        assert listing["last_clean_point"] == attacked
        again = admin.post(clear, json={"reason": "again"})
        assert again.status_code == 400 and "not flagged" in again.json()["detail"]
        audit = admin.get("/api/v1/audit").json()["items"]
        results = {(e["action"], e["result"]) for e in audit if e["resource"] == resource}
        assert {("signal.clear", "succeeded"), ("signal.clear", "denied")} <= results, results
    window = api.tenant.services.runs.baselines.window(resource)
    assert attacked in {str(e["run"]) for e in window}  # the baseline learnt the busy day
