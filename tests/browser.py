"""Headless Chromium for tests: the system's /usr/bin/chromium (Debian's package, installed by `make test`) driven
through playwright's sync API, never a browser playwright downloads. `open_page` loads a URL (with extra request
headers, e.g. a bearer token), records console errors and uncaught page errors, and can screenshot the page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",  # tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)


class BrowserUnavailable(RuntimeError):
    """Chromium (or playwright) is not installed where the tests look for it."""


@dataclass
class PageRun:
    """One loaded page and what the browser reported while loading and using it."""

    page: Any  # playwright.sync_api.Page
    status: int | None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [*self.console_errors, *self.page_errors]

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def require_chromium(executable: Path = CHROMIUM) -> Path:
    """`executable`, or BrowserUnavailable saying how to install it."""
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        raise BrowserUnavailable(
            f"Chromium is not installed at {executable}: run `make test` (it installs the Debian package) or "
            "`apt-get install -y --no-install-recommends chromium`. Playwright's own browser download is not used."
        )
    return executable


@contextmanager
def open_page(
    url: str,
    headers: dict[str, str] | None = None,
    screenshot: Path | None = None,
    viewport: tuple[int, int] = (1360, 900),
    timeout_ms: float = 30_000,
    ignore_https_errors: bool = False,
) -> Iterator[PageRun]:
    """Launch headless Chromium, load `url` (sending `headers` with every request) until the network is idle,
    and yield the page with the errors it reported; with `screenshot`, a full-page PNG is written there first.
    `ignore_https_errors`: accept the simulator's self-signed TLS (its sign-in pages), which Chromium cannot be
    told to trust per test."""
    executable = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(f"playwright is not installed ({exc}): pip install -r requirements-dev.txt") from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS), headless=True)
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                extra_http_headers=dict(headers or {}),
                ignore_https_errors=ignore_https_errors,
            )
            context.set_default_timeout(timeout_ms)
            page = context.new_page()
            console_errors: list[str] = []
            page_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            response = page.goto(url, wait_until="networkidle")
            run = PageRun(page, response.status if response else None, console_errors, page_errors)
            if screenshot is not None:
                run.screenshot(screenshot)
            yield run
            context.close()
        finally:
            browser.close()
