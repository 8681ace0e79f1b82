"""Purges through the API: GET /api/v1/purges (Backup.Admin only) lists what `purge` recorded, newest first, with
what it removed and the held resources it skipped."""

from __future__ import annotations

from datetime import timedelta

from core.lifecycle.purge import purge
from tests.api.harness import Api
from tests.integration.purge_runs import NOW


def test_purges_are_listed_for_admins_only(api: Api):
    services = api.tenant.services
    held = f"exchange:{api.tenant.user(0)['id']}"
    first = purge(services, [held], now=NOW)
    services.holds.place(held, "counsel@contoso.example", "litigation")
    try:
        second = purge(services, [held], now=NOW + timedelta(seconds=1))
    finally:
        services.holds.release(held)
    with api.admin() as admin:
        listed = admin.get("/api/v1/purges", params={"limit": 2}).raise_for_status().json()["items"]
        assert [p["purge_id"] for p in listed] == [second["purge_id"], first["purge_id"]]
        assert listed[0]["held"] == 1 and listed[0]["held_resources"] == [held] and listed[1]["held"] == 0
        assert listed[1]["status"] == "succeeded" and listed[1]["resources"] == 1
        assert admin.get("/api/v1/purges", params={"limit": 0}).status_code == 422
        assert "/api/v1/purges" in admin.get("/api/v1/openapi.json").json()["paths"]
    with api.operator() as operator:  # what the purge removed is the administrators' record
        assert operator.get("/api/v1/purges").status_code == 403
