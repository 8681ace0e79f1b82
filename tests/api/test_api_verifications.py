"""Verifications through the API and the dashboard: GET /api/v1/verifications (Backup.Admin only) lists what
`verify` recorded, newest first, with the problems named; the dashboard's headline says when content was last
proven intact and how that went."""

from __future__ import annotations

from api.dashboard_page import render_dashboard
from core.dashboard import dashboard_data
from core.verify import verify
from tests.api.harness import Api


def test_verifications_are_listed_for_admins_and_shown_on_the_dashboard(api: Api):
    services = api.tenant.services
    resource = f"exchange:{api.tenant.user(0)['id']}"
    first = verify(services, [resource])
    second = verify(services, [resource], fraction=0.5)
    with api.admin() as admin:
        listed = admin.get("/api/v1/verifications", params={"limit": 2}).raise_for_status().json()["items"]
        assert [v["verification_id"] for v in listed] == [second["verification_id"], first["verification_id"]]
        assert listed[1]["status"] == "ok" and listed[1]["checked"] == listed[1]["blobs"] > 0
        assert listed[0]["sample"] == 0.5 and listed[0]["resources"] == 1
        assert admin.get("/api/v1/verifications", params={"limit": 0}).status_code == 422  # as every bad query
        spec = admin.get("/api/v1/openapi.json").json()
        assert "/api/v1/verifications" in spec["paths"]
    with api.operator() as operator:  # the verification record is the security team's: admins only
        assert operator.get("/api/v1/verifications").status_code == 403
    data = dashboard_data(services)
    assert data["verification"]["verification_id"] == second["verification_id"]
    assert "problems" not in data["verification"]
    page = render_dashboard(data)
    assert "Last verification" in page and "intact" in page
    empty = render_dashboard({**data, "verification": None})
    assert "content not verified yet" in empty
