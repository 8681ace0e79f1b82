"""The dashboard in a real browser: after real backups and a restore made through the API, the page is loaded from
the real route (GET /api/v1/dashboard, served by uvicorn on loopback with a Backup.Admin bearer token from the
tenant simulator) in headless Chromium (tests/browser.py); every chart must render with visible bars under the
page's Content-Security-Policy, the script must run, and the browser must report no console or page errors."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.harness import Api
from tests.browser import BrowserUnavailable, open_page, require_chromium

PATH = "/api/v1/dashboard"
CHARTS = ("items", "bytes", "duration", "failures")


@pytest.fixture
def dashboard(fresh_api: Api) -> Iterator[tuple[str, dict[str, str]]]:
    """(the dashboard URL, the admin's headers) after three runs with changes between them and one restore job."""
    api = fresh_api
    users = [u["id"] for u in api.tenant.mailboxes()]
    api.tenant.sim.control.add_message(users[0], "inbox", subject="between runs", attachments=2, attachment_size=40_000)
    api.tenant.backup()
    api.tenant.sim.control.add_message(users[1], "inbox", subject="another one")
    api.tenant.backup()
    victim = api.tenant.sim.control.list_messages(users[0])[0]
    with api.operator() as operator:
        body = {"resource": f"exchange:{users[0]}", "item_ids": [victim["id"]], "conflict": "keep-both"}
        accepted = operator.post("/api/v1/restores", json=body)
        assert api.wait_for_restore(operator, accepted.headers["location"])["status"] == "succeeded"
    admin = api.token("00000000-0000-0000-0000-0000000000ad", ("Backup.Admin",), "admin@contoso.test")
    yield f"{api.url}{PATH}", {"Authorization": f"Bearer {admin}"}


def _bar_boxes(page, kind: str) -> list[dict]:
    return page.eval_on_selector_all(
        f'svg[data-chart="{kind}"] g.bar rect',
        "els => els.map(e => { const b = e.getBBox(); return {width: b.width, height: b.height}; })",
    )


def test_the_dashboard_renders_in_chromium(dashboard: tuple[str, dict[str, str]], tmp_path):
    url, headers = dashboard
    with pytest.raises(urllib.error.HTTPError) as refused:  # the token is required, so the browser sent it
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401

    shot = tmp_path / "dashboard.png"
    with open_page(url, headers=headers, screenshot=shot) as view:
        page = view.page
        assert view.status == 200
        for kind in CHARTS:
            chart = page.locator(f'svg[data-chart="{kind}"]')
            assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label"), kind
            assert page.locator(f'svg[data-chart="{kind}"] g.bar').count() == 3, kind
            boxes = _bar_boxes(page, kind)
            assert boxes and all(b["width"] > 0 and b["height"] > 0 for b in boxes), (kind, boxes)
            on_screen = page.locator(f'svg[data-chart="{kind}"] g.bar rect').first.bounding_box()
            assert on_screen and on_screen["width"] > 0 and on_screen["height"] > 0, kind
        # the stylesheet and the script ran under the hash-based CSP
        assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(15, 42, 74)"
        assert page.evaluate("document.documentElement.classList.contains('js')")
        page.locator("table.resources th", has_text="Resource").first.click()
        assert page.locator("table.resources th").first.get_attribute("aria-sort") == "ascending"
        figures = httpx.get(url + "/data", headers=headers).json()
        assert page.locator("table.resources tbody tr").count() == len(figures["resources"]) >= 6
        assert page.locator("table.restores tbody tr").count() == 1
        assert view.console_errors == [] and view.page_errors == [], view.errors
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_a_missing_chromium_is_a_clear_failure(tmp_path):
    with pytest.raises(BrowserUnavailable, match=r"Chromium is not installed at .*make test"):
        require_chromium(tmp_path / "no-chromium")
    assert require_chromium() == Path("/usr/bin/chromium")
