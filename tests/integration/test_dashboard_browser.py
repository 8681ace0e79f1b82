"""The dashboard in a real browser: after real backups, the page is served over loopback HTTP behind a bearer
token with its Content-Security-Policy, loaded in headless Chromium (tests/browser.py), and must render every
chart with visible bars, run its script, and report no console or page errors.

`dashboard_url` is the only part that knows who serves the page: a small Starlette app here; pointing it at the
real API route (devenv/api_server.py with a token) leaves the test itself unchanged."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.dashboard_page import CONTENT_SECURITY_POLICY, render_dashboard
from core.bootstrap import Services
from core.dashboard import dashboard_data
from core.restore_request import RestoreReport, RestoreRequest
from tests.browser import BrowserUnavailable, open_page, require_chromium
from tests.integration.tenant import Tenant, open_tenant

TOKEN = "dashboard-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATH = "/api/v1/dashboard"
CHARTS = ("items", "bytes", "duration", "failures")


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, users=3, messages=12, seed=7, contacts=0, events=0)
    yield t
    t.close()


@pytest.fixture
def backed_up(tenant: Tenant) -> Tenant:
    """Three runs with changes between them, and a restore job, so every part of the page has something to show."""
    user = tenant.user(0)["id"]
    tenant.backup()
    tenant.sim.control.add_message(user, "inbox", subject="between runs", attachments=2, attachment_size=40_000)
    tenant.backup()
    tenant.sim.control.add_message(tenant.user(1)["id"], "inbox", subject="another one")
    last = tenant.backup()
    resource = f"exchange:{user}"
    jobs = tenant.services.restore_jobs
    jobs.create("r20261122T101500-3f9a0c12", RestoreRequest(resource, whole=True), {"oid": "o1", "name": "Ada Admin"})
    jobs.start("r20261122T101500-3f9a0c12", last["run_id"], 1, "original")
    jobs.record_part("r20261122T101500-3f9a0c12", 0, RestoreReport(resource, last["run_id"], user, "", restored=13))
    jobs.finish("r20261122T101500-3f9a0c12", "succeeded")
    return tenant


def dashboard_app(services: Services) -> Starlette:
    """What the real route does, minus Entra ID: a fixed bearer token, the page, its CSP."""

    def page(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return PlainTextResponse("missing or wrong bearer token", status_code=401)
        html = render_dashboard(dashboard_data(services))
        headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff"}
        return HTMLResponse(html, headers=headers)

    return Starlette(routes=[Route(PATH, page)])


@pytest.fixture
def dashboard_url(backed_up: Tenant) -> Iterator[str]:
    """The page's URL, served by uvicorn on a free loopback port in a thread for the test's duration."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(dashboard_app(backed_up.services), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the dashboard server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}{PATH}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def _bar_boxes(page, kind: str) -> list[dict]:
    return page.eval_on_selector_all(
        f'svg[data-chart="{kind}"] g.bar rect',
        "els => els.map(e => { const b = e.getBBox(); return {width: b.width, height: b.height}; })",
    )


def test_the_dashboard_renders_in_chromium(dashboard_url: str, tmp_path):
    with pytest.raises(urllib.error.HTTPError) as refused:  # the header is required, so the browser sent it
        urllib.request.urlopen(dashboard_url, timeout=10)
    assert refused.value.code == 401

    shot = tmp_path / "dashboard.png"
    with open_page(dashboard_url, headers=AUTH, screenshot=shot) as view:
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
        assert page.locator("table.resources tbody tr").count() == 3
        assert page.locator("table.restores tbody tr").count() == 1
        assert view.console_errors == [] and view.page_errors == [], view.errors
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_a_missing_chromium_is_a_clear_failure(tmp_path):
    with pytest.raises(BrowserUnavailable, match=r"Chromium is not installed at .*make test"):
        require_chromium(tmp_path / "no-chromium")
    assert require_chromium() == Path("/usr/bin/chromium")
