"""Names over HTTP: listings carry each resource's name, a path or body may name a resource by UPN or mail address
(resolved to its key, so self-service sees its own data by its own address), an unknown name is a 404; and the
protection report as JSON and CSV, for operators only."""

from __future__ import annotations

import csv
import io

from tests.api.harness import Api


def test_listings_name_resources_and_paths_take_a_upn(api: Api):
    adele = api.tenant.user(0)
    key = f"exchange:{adele['id']}"
    with api.operator() as operator:
        rows = {r["resource"]: r for r in operator.get("/api/v1/resources").raise_for_status().json()["items"]}
        assert rows[key]["name"] == f"{adele['displayName']} <{adele['mail']}>"
        assert rows[key]["display_name"] == adele["displayName"] and rows[key]["address"] == adele["mail"]
        by_name = operator.get(f"/api/v1/resources/exchange:{adele['userPrincipalName'].upper()}/points")
        assert by_name.status_code == 200 and by_name.json()["resource"] == key
        assert by_name.json()["items"] == operator.get(f"/api/v1/resources/{key}/points").json()["items"]
        missing = operator.get("/api/v1/resources/exchange:nobody@example.invalid/points")
        assert missing.status_code == 404 and "nobody@example.invalid" in missing.json()["detail"]
    with api.user(adele["id"]) as user:  # self-service by their own address: their own mailbox
        assert user.get(f"/api/v1/resources/exchange:{adele['mail']}/points").status_code == 200
        me = user.get("/api/v1/me").raise_for_status().json()
        assert me["names"][key] == f"{adele['displayName']} <{adele['mail']}>"
        other = api.tenant.user(1)
        assert user.get(f"/api/v1/resources/exchange:{other['mail']}/points").status_code == 403


def test_a_backup_body_names_resources_by_address(api: Api):
    with api.admin() as admin:
        refused = admin.post("/api/v1/backups", json={"resources": ["exchange:nobody@example.invalid"]})
        assert refused.status_code == 404


def test_the_protection_report_as_json_and_csv(api: Api):
    adele = api.tenant.user(0)
    with api.operator() as operator:
        report = operator.get("/api/v1/report").raise_for_status().json()
        row = next(r for r in report["resources"] if r["resource"] == f"exchange:{adele['id']}")
        assert (row["state"], row["display_name"], row["address"]) == ("protected", adele["displayName"], adele["mail"])
        assert report["rpo_hours"] == 24 and report["counts"]["protected"] >= 1
        for done in (operator.get("/api/v1/report", params={"format": "csv"}),
                     operator.get("/api/v1/report", headers={"Accept": "text/csv"})):  # fmt: skip
            assert done.status_code == 200 and done.headers["content-type"].startswith("text/csv")
            rows = {r["resource"]: r for r in csv.DictReader(io.StringIO(done.text))}
            assert rows[f"exchange:{adele['id']}"]["state"] == "protected"
    with api.user(adele["id"]) as user:
        assert user.get("/api/v1/report").status_code == 403
