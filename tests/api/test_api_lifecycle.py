"""Legal holds and erasures over HTTP (api/routes_lifecycle.py), Backup.Admin only: a hold placed, listed, shown in
the resource listing and released, each audited with the caller; a hold on a resource without a backup is a 404; an
erasure planned (its code), refused with a wrong code (400) or while held (409, naming the hold), then carried out
and listed; operators, self-service users and app-only tokens without a role get 403 (audited)."""

from __future__ import annotations

from tests.api.harness import Api

GHOST = "exchange:00000000-0000-0000-0000-00000000dead"


def test_holds_through_the_api_are_admin_only_audited_and_shown(api: Api):
    user = api.tenant.user(0)["id"]
    mailbox = f"exchange:{user}"
    with api.admin() as admin:
        placed = admin.put(f"/api/v1/resources/{mailbox}/hold", json={"reason": "Matter 7"})
        assert placed.status_code == 200, placed.text
        assert placed.json()["reason"] == "Matter 7" and placed.json()["placed_by"] == "admin@contoso.test"
        assert admin.get("/api/v1/holds").json()["items"] == [placed.json()]
        rows = {r["resource"]: r for r in admin.get("/api/v1/resources").json()["items"]}
        assert rows[mailbox]["hold"]["reason"] == "Matter 7"
        assert rows[f"onedrive:{user}"]["hold"] is None
        assert 'title="Matter 7 (by admin@contoso.test' in admin.get("/api/v1/dashboard").text  # beside the resource
        missing = admin.put(f"/api/v1/resources/{GHOST}/hold", json={"reason": "x"})
        assert missing.status_code == 404 and "no backup of" in missing.json()["detail"]
        assert admin.put(f"/api/v1/resources/{mailbox}/hold", json={"reason": ""}).status_code == 422
        assert admin.put(f"/api/v1/resources/{mailbox}/hold", json={"why": "x"}).status_code == 422
        assert admin.delete(f"/api/v1/resources/{GHOST}/hold").status_code == 404
    with api.operator() as operator:
        refused = (
            ("GET", "/api/v1/holds"),
            ("DELETE", f"/api/v1/resources/{mailbox}/hold"),
            ("GET", "/api/v1/erasures"),
        )
        for method, path in refused:
            assert operator.request(method, path).status_code == 403, path
        assert operator.put(f"/api/v1/resources/{mailbox}/hold", json={"reason": "x"}).status_code == 403
        assert operator.post("/api/v1/erasures", json={"user": user}).status_code == 403
        assert "hold" not in operator.get("/api/v1/resources").json()["items"][0]  # the matter is not theirs to see
    with api.user(user) as me:  # not even over their own data
        assert me.delete(f"/api/v1/resources/{mailbox}/hold").status_code == 403
    with api.admin() as admin:
        released = admin.delete(f"/api/v1/resources/{mailbox}/hold")
        assert released.status_code == 200 and released.json()["reason"] == "Matter 7"
        assert admin.get("/api/v1/holds").json()["items"] == []
    audit = api.audit()
    changes = [e for e in audit if e["action"] in ("hold.place", "hold.release") and e["result"] == "succeeded"]
    assert [e["action"] for e in changes] == ["hold.release", "hold.place"]
    place = changes[1]
    assert place["actor_name"] == "admin@contoso.test" and place["detail"] == "Matter 7" and place["roles"]
    denied = [e for e in audit if e["result"] == "denied" and e["action"] in ("hold.place", "erasure", "holds.read")]
    assert denied and all(e["status"] == 403 for e in denied)


def test_an_erasure_through_the_api_is_planned_refused_then_carried_out(api: Api):
    services = api.tenant.services
    user = api.tenant.user(2)["id"]
    with api.admin() as admin:
        plan = admin.post("/api/v1/erasures", json={"user": user})
        assert plan.status_code == 200, plan.text
        code = plan.json()["code"]
        assert {r["resource"] for r in plan.json()["resources"]} == {f"exchange:{user}", f"onedrive:{user}"}
        wrong = admin.post("/api/v1/erasures", json={"user": user, "confirm": "0000000000"})
        assert wrong.status_code == 400 and "does not match the plan" in wrong.json()["detail"]
        assert admin.put(f"/api/v1/resources/exchange:{user}/hold", json={"reason": "Matter 9"}).status_code == 200
        held_code = admin.post("/api/v1/erasures", json={"user": user}).json()["code"]
        held = admin.post("/api/v1/erasures", json={"user": user, "confirm": held_code})
        assert held.status_code == 409 and "Matter 9" in held.json()["detail"]
        keys = [r["resource"] for r in plan.json()["resources"]]
        assert all(services.runs.points(key) for key in keys)  # nothing removed
        assert admin.delete(f"/api/v1/resources/exchange:{user}/hold").status_code == 200
        done = admin.post("/api/v1/erasures", json={"user": user, "confirm": code})
        assert done.status_code == 200, done.text
        report = done.json()
        assert report["resources"] == 2 and report["versions"] == plan.json()["versions"] > 0
        assert not any(services.runs.points(key) or list(services.catalog.all_versions(key)) for key in keys)
        # content still immutable (the deployment's IMMUTABILITY_DAYS from its creation) waits, marked, for later
        assert report["blobs_removed"] + report["blobs_pending"] == plan.json()["blobs"]["remove"]
        assert report["status"] == ("pending" if report["blobs_pending"] or report["journal_pending"] else "completed")
        listed = admin.get("/api/v1/erasures").json()["items"]
        assert listed[0]["erasure_id"] == done.json()["erasure_id"] and listed[0]["user"] == user
        again = admin.post("/api/v1/erasures", json={"user": user})  # only what is pending is left
        assert again.status_code == 404 if report["status"] == "completed" else not again.json()["resources"]
        assert admin.post("/api/v1/erasures", json={"user": "a/b"}).status_code == 422
        spec = admin.get("/api/v1/openapi.json").json()["paths"]
        assert {"/api/v1/holds", "/api/v1/erasures", "/api/v1/resources/{resource}/hold"} <= set(spec)
