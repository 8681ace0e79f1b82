"""Items held in quarantine are listed wherever restore points are: `python -m core points --json`, the API (the
points' counts and GET /resources/{resource}/quarantine) and the dashboard. Items are held directly through the
QuarantineStore, as the engines hold them."""

from __future__ import annotations

import json

import pytest

from api.dashboard_page import render_dashboard
from core.dashboard import dashboard_data
from tests.api.harness import Api
from tests.integration.test_cli import _cli

LATER_RUN = "99990101T000000000000Z"  # a run after the backup: held since then, so not missing from its point
EARLIER_RUN = "20000101T000000000000Z"


@pytest.fixture(scope="module")
def held(api: Api) -> dict[str, str]:
    """One item held since the backup's run, one held only after it, one held before it and released by it."""
    resource = f"exchange:{api.tenant.user(0)['id']}"
    run = api.tenant.services.runs.points(resource)[-1]["run_id"]
    store = api.tenant.services.quarantine
    store.hold(resource, "mail", "AAMk-held", "inbox", "MIME <b>never</b> arrives: HTTP 500", run)
    store.hold(resource, "mail", "AAMk-later", "inbox", "size mismatch", LATER_RUN)
    store.hold(resource, "mail", "AAMk-released", "inbox", "HTTP 503", EARLIER_RUN)
    store.release(resource, "mail", "AAMk-released", run, released_as="captured")
    return {"resource": resource, "run": run}


def test_the_api_lists_held_items_now_as_of_a_point_and_in_history(api: Api, held: dict[str, str]):
    """Issue 11: quarantined items are listed by the API (GET /resources/{resource}/quarantine, points' counts)."""
    url = f"/api/v1/resources/{held['resource']}/quarantine"
    with api.operator() as operator:
        now = operator.get(url).raise_for_status().json()
        assert [i["item_id"] for i in now["items"]] == ["AAMk-held", "AAMk-later"] and now["run_id"] is None
        first = now["items"][0]
        assert (first["category"], first["first_run"], first["attempts"], first["released_run"]) == (
            "mail", held["run"], 1, "")  # fmt: skip
        assert "never" in first["error"]
        as_of = operator.get(url, params={"run_id": held["run"]}).raise_for_status().json()
        assert [i["item_id"] for i in as_of["items"]] == ["AAMk-held"] and as_of["run_id"] == held["run"]
        history = operator.get(url, params={"history": "true"}).raise_for_status().json()
        released = {i["item_id"]: i["released_as"] for i in history["items"]}
        assert released == {"AAMk-held": "", "AAMk-later": "", "AAMk-released": "captured"}
        assert operator.get(url, params={"history": "true", "run_id": held["run"]}).status_code == 400
        points = operator.get(f"/api/v1/resources/{held['resource']}/points").raise_for_status().json()
        assert points["items"][-1]["quarantined"] == 1
        missing = operator.get("/api/v1/resources/exchange:nobody-here/quarantine")
        assert missing.status_code == 404
    other = api.tenant.user(1)["id"]
    with api.user(other) as stranger:  # self-service: not someone else's quarantine
        assert stranger.get(url).status_code == 403
    spec = api.client().get("/api/v1/openapi.json").json()
    assert "/api/v1/resources/{resource}/quarantine" in spec["paths"]


def test_the_cli_lists_held_items_per_point(api: Api, held: dict[str, str]):
    """Issue 11: quarantined items are listed by `python -m core points --json` (each point: what it lacks)."""
    done = _cli(api.tenant.env, "points", held["resource"], "--json")
    assert done.returncode == 0, done.stderr
    points = json.loads(done.stdout)
    latest = points[-1]
    assert latest["run_id"] == held["run"]
    assert [i["item_id"] for i in latest["quarantined"]] == ["AAMk-held"]
    assert latest["quarantined"][0]["error"].startswith("MIME <b>never</b>")
    text = _cli(api.tenant.env, "points", held["resource"])
    assert "quarantined=1" in text.stdout and "AAMk-held" in text.stdout


def test_the_dashboard_shows_held_items(api: Api, held: dict[str, str]):
    """Issue 11: quarantined items are listed on the dashboard (a headline count, per resource, and the items)."""
    data = dashboard_data(api.tenant.services)
    assert data["quarantine"]["total"] == 2 and data["quarantine"]["complete"]
    assert [i["item_id"] for i in data["quarantine"]["items"]] == ["AAMk-held", "AAMk-later"]
    row = next(r for r in data["resources"] if r["resource"] == held["resource"])
    assert row["quarantined"] == 2
    page = render_dashboard(data)
    assert "Quarantined items" in page and "AAMk-held" in page
    assert "MIME &lt;b&gt;never&lt;/b&gt;" in page and "<b>never</b>" not in page
    with api.admin() as admin:
        html = admin.get("/api/v1/dashboard").raise_for_status().text
    assert "AAMk-later" in html
