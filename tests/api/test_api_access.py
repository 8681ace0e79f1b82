"""Who may do what, over real HTTP: each role's allowed and denied paths, self-service limits, bad tokens (401), and
every denial written to the audit log."""

from __future__ import annotations

import pytest

from tests.api.harness import ADMIN, AUDIENCE, Api


def _users(api: Api) -> tuple[str, str]:
    users = [u["id"] for u in api.tenant.mailboxes()]
    return users[0], users[1]


def _reads(resource: str) -> list[str]:
    return [
        f"/api/v1/resources/{resource}/points",
        f"/api/v1/resources/{resource}/tree",
        f"/api/v1/resources/{resource}/items",
        f"/api/v1/resources/{resource}/export",
    ]


def test_admin_reaches_everything(api: Api):
    me, _ = _users(api)
    with api.admin() as admin:
        for path in [*_reads(f"exchange:{me}"), "/api/v1/runs", "/api/v1/audit", "/api/v1/dashboard",
                     "/api/v1/dashboard/data", "/api/v1/restores", "/api/v1/resources", "/api/v1/me"]:  # fmt: skip
            assert admin.get(path).status_code == 200, path


def test_operator_browses_and_restores_any_resource_but_does_not_administer(api: Api):
    me, other = _users(api)
    with api.operator() as operator:
        for resource in (f"exchange:{me}", f"exchange:{other}", f"onedrive:{other}"):
            for path in _reads(resource):
                assert operator.get(path).status_code == 200, path
        assert operator.get("/api/v1/runs").status_code == 200
        resources = operator.get("/api/v1/resources").json()["items"]
        assert {r["resource"] for r in resources} >= {f"exchange:{me}", f"exchange:{other}"}
        for method, path in (("GET", "/api/v1/audit"), ("GET", "/api/v1/dashboard"), ("POST", "/api/v1/backups")):
            response = operator.request(method, path)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "Backup.Admin" in response.json()["detail"]


def test_a_signed_in_user_sees_only_their_own_mailbox_and_onedrive(api: Api):
    me, _ = _users(api)
    with api.user(me) as user:
        for resource in (f"exchange:{me}", f"onedrive:{me}"):
            for path in _reads(resource):
                assert user.get(path).status_code == 200, path
        visible = {r["resource"] for r in user.get("/api/v1/resources").json()["items"]}
        assert visible == {f"exchange:{me}", f"onedrive:{me}"}
        assert set(user.get("/api/v1/me").json()["resources"]) == visible
        for path in ("/api/v1/runs", "/api/v1/audit", "/api/v1/dashboard"):
            assert user.get(path).status_code == 403, path


def test_a_user_is_denied_another_users_mailbox_and_the_denial_is_audited(api: Api):
    me, other = _users(api)
    before = api.writes()
    with api.user(me) as user:
        response = user.get(f"/api/v1/resources/exchange:{other}/items")
        assert response.status_code == 403
        problem = response.json()
        assert problem["status"] == 403 and problem["title"] == "Forbidden" and "own" in problem["detail"]
        restore = {"resource": f"exchange:{other}", "whole": True}
        assert user.post("/api/v1/restores", json=restore).status_code == 403
        into_other = {"resource": f"exchange:{me}", "whole": True, "target_resource": f"exchange:{other}"}
        assert user.post("/api/v1/restores", json=into_other).status_code == 403
        download = user.get(f"/api/v1/resources/onedrive:{other}/download", params={"item_id": "x"})
        assert download.status_code == 403
    assert api.writes() == before
    assert api.tenant.services.restore_jobs.count() == 0
    denied = [e for e in api.audit() if e["result"] == "denied" and e["actor"] == me]
    assert {(e["action"], e["resource"]) for e in denied} >= {
        ("search", f"exchange:{other}"),
        ("restore", f"exchange:{other}"),
        ("restore", f"exchange:{me}"),
        ("download", f"onedrive:{other}"),
    }
    assert all(e["status"] == 403 and e["detail"] for e in denied)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"lifetime": -600}, "expired"),
        ({"wrong_key": True}, "signature"),
        ({"audience": "api://someone-else"}, "audience"),
        ({"issuer": "https://login.example.test/other/v2.0"}, "issuer"),
    ],
)
def test_expired_forged_or_foreign_tokens_are_401(api: Api, options: dict, reason: str):
    me, _ = _users(api)
    token = api.tenant.sim.control.api_token(oid=me, name="u", roles=[ADMIN], **{"audience": AUDIENCE, **options})
    with api.client(token) as client:
        response = client.get("/api/v1/runs")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"].lower()
    assert any(e["result"] == "denied" and e["status"] == 401 and reason in e["detail"].lower() for e in api.audit())


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"])
def test_missing_or_garbled_credentials_are_401(api: Api, header: str | None):
    import httpx

    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{api.url}/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_an_app_only_token_needs_an_app_role(api: Api):
    me, _ = _users(api)
    with api.client(api.token("00000000-0000-0000-0000-0000000000a1", app_only=True)) as bare:
        assert bare.get(f"/api/v1/resources/exchange:{me}/points").status_code == 403
    with api.client(api.token("00000000-0000-0000-0000-0000000000a2", (ADMIN,), app_only=True)) as automation:
        assert automation.get(f"/api/v1/resources/exchange:{me}/points").status_code == 200


def test_the_app_service_authentication_header_is_accepted(api: Api):
    me, _ = _users(api)
    import httpx

    response = httpx.get(f"{api.url}/api/v1/me", headers={"X-MS-TOKEN-AAD-ACCESS-TOKEN": api.token(me)})
    assert response.status_code == 200 and response.json()["oid"] == me
