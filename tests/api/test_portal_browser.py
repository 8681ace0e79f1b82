"""The restore portal in a real browser: headless Chromium loads GET /api/v1/portal from the API (uvicorn on
loopback), signs in through MSAL for the browser against the tenant simulator's sign-in page (authorization code
flow with PKCE, graphsim/identity/sign_in.py) as user A, and, as of the backup before A deleted them, restores one
deleted message (found by search) and one deleted file (found by browsing its folders) in place; both are back in
the simulated tenant. A sees only A's resources, and asking the page for B's mailbox shows the API's refusal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.harness import Api
from tests.browser import PageRun, open_page

CLIENT_ID = "00000000-0000-0000-0000-00000000a11d"  # the GUID of the harness's API_AUDIENCE: the SPA's client id
APP_ID_URI = "api://m365-backup-api"


@dataclass
class Scene:
    api: Api
    portal: str
    a: dict
    b: dict
    first_run: str
    message: dict
    drive: dict
    file: dict


@pytest.fixture
def scene(fresh_api: Api) -> Iterator[Scene]:
    """A's message and file deleted after the first backup, and a second backup that no longer has them."""
    api = fresh_api
    control = api.tenant.sim.control
    portal = f"{api.url}/api/v1/portal"
    control.register_spa(CLIENT_ID, [portal], APP_ID_URI)
    a, b = api.tenant.mailboxes()[:2]
    first_run = api.tenant.services.runs.points(f"exchange:{a['id']}")[-1]["run_id"]
    message = next(m for m in control.list_messages(a["id"]) if m["folder_path"].lower() == "/inbox")
    control.delete_message(a["id"], message["id"])
    drive = control.drive(a["id"])
    file = next(i for i in drive["items"] if not i["folder"] and i["size"] > 0 and i["path"].count("/") >= 2)
    content = control.drive_item_content(drive["id"], file["id"])
    control.delete_drive_item(drive["id"], file["id"])
    assert api.tenant.backup()["status"] == "succeeded"
    yield Scene(api, portal, a, b, first_run, message, drive, {**file, "content": content})


def _until(page: Any, predicate: str, timeout: float = 60) -> None:
    """Poll a JS function until it returns true: page.evaluate goes through the DevTools protocol, which the page's
    CSP does not restrict (playwright's wait_for_function evaluates a string, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {predicate}; page says {page.inner_text('#message')!r}")
        time.sleep(0.1)


def _idle(page: Any) -> None:
    """Wait until the page has no action in flight (portal.js counts them in body[data-busy])."""
    _until(page, "() => document.body.dataset.busy === '0'")


def _sign_in(view: PageRun, user: dict) -> None:
    page = view.page
    page.locator("#sign-in").click()
    page.wait_for_url("**/oauth2/v2.0/authorize**")
    page.locator("button", has_text=user["userPrincipalName"]).click()
    page.wait_for_selector("#browser:not([hidden])")
    _idle(page)
    assert page.locator("#resource option").count() > 0


def _wait_job(view: PageRun, count: int) -> list[str]:
    page = view.page
    _until(
        page,
        f"() => {{ const s = [...document.querySelectorAll('#jobs tbody tr[data-job] .badge')]; return s.length >= "
        f"{count} && s.every(b => !['accepted', 'running'].includes(b.textContent)); }}",
        timeout=120,
    )
    return page.eval_on_selector_all("#jobs tbody tr[data-job] .badge", "els => els.map(e => e.textContent)")


def test_a_user_signs_in_and_restores_a_deleted_message_and_file(scene: Scene, tmp_path: Path):
    api, control, a = scene.api, scene.api.tenant.sim.control, scene.a
    with open_page(scene.portal, ignore_https_errors=True) as view:
        page = view.page
        assert view.status == 200
        _sign_in(view, a)
        assert page.locator("#user").text_content().startswith(a["userPrincipalName"])
        offered = page.eval_on_selector_all("#resource option", "els => els.map(e => e.value)")
        assert offered and all(r.endswith(a["id"]) for r in offered), offered  # A's own data only
        assert page.locator("#target").is_hidden()  # "into another resource" is for operators only

        # the message: A's mailbox as of the first backup, found by searching its subject
        page.select_option("#resource", f"onedrive:{a['id']}")  # away and back: a change event either way
        _idle(page)
        page.select_option("#resource", f"exchange:{a['id']}")
        _idle(page)
        page.select_option("#point", scene.first_run)
        _idle(page)
        page.fill("#query", scene.message["subject"])
        page.locator("#search button[type=submit]").click()
        _idle(page)
        row = page.locator("#listing tr.item", has_text=scene.message["subject"]).first
        row.wait_for()
        row.locator("input[type=checkbox]").check()
        page.locator("#restore").click()
        assert _wait_job(view, 1) == ["succeeded"]

        # the file: A's OneDrive as of the first backup, browsed folder by folder
        page.select_option("#resource", f"onedrive:{a['id']}")
        _idle(page)
        page.select_option("#point", scene.first_run)
        _idle(page)
        for folder in scene.file["path"].strip("/").split("/")[:-1]:
            page.locator("#listing tr.folder button", has_text=folder).first.click()
            _idle(page)
        row = page.locator("#listing tr.item", has_text=scene.file["name"]).first
        row.locator("button", has_text="Preview").click()
        _idle(page)
        assert page.locator("#preview-title").text_content() == scene.file["name"]
        row.locator("input[type=checkbox]").check()
        page.locator("#restore").click()
        assert sorted(_wait_job(view, 2)) == ["succeeded", "succeeded"]
        view.screenshot(tmp_path / "portal.png")

        # B's mailbox: the page asks the API, which refuses, and the page says so
        page.goto(f"{scene.portal}?resource=exchange:{scene.b['id']}", wait_until="networkidle")
        _idle(page)
        assert "HTTP 403" in page.locator("#message").text_content()
        assert "not yours" in page.locator("#message").text_content()
        assert page.locator("#listing tr.item").count() == 0
        assert view.page_errors == [], view.errors

    back = [m for m in control.list_messages(a["id"]) if m["internetMessageId"] == scene.message["internetMessageId"]]
    assert len(back) == 1 and back[0]["folder_path"].lower() == "/inbox"
    now = control.drive(a["id"])
    restored = [i for i in now["items"] if i["path"] == scene.file["path"]]
    assert len(restored) == 1
    assert control.drive_item_content(now["id"], restored[0]["id"]) == scene.file["content"]
    with api.user(a["id"]) as me:  # the API itself refuses A's token for B's data
        assert me.get(f"/api/v1/resources/exchange:{scene.b['id']}/tree").status_code == 403
        jobs = me.get("/api/v1/restores").json()["items"]
        assert len(jobs) == 2 and {j["requester"]["oid"] for j in jobs} == {a["id"]}


def test_the_portal_page_needs_no_token_but_its_data_does(fresh_api: Api):
    page = httpx.get(f"{fresh_api.url}/api/v1/portal")
    assert page.status_code == 200 and "portal-config" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and fresh_api.tenant.sim.base_url in policy
    bundle = httpx.get(f"{fresh_api.url}/api/v1/portal/assets/msal-browser.min.js")
    assert bundle.status_code == 200 and bundle.text.startswith("/*! @azure/msal-browser")
    assert httpx.get(f"{fresh_api.url}/api/v1/portal/assets/nothing.js").status_code == 404
    assert httpx.get(f"{fresh_api.url}/api/v1/resources").status_code == 401
