"""The dashboard page, rendered from sample data: charts, escaping of tenant-controlled text, empty state,
human-readable figures, and a page that a hash-based Content-Security-Policy allows whole."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from api.dashboard_assets import csp_hash
from api.dashboard_format import human_bytes, human_duration
from api.dashboard_page import CONTENT_SECURITY_POLICY, MAX_RESOURCE_ROWS, render_dashboard

EVIL = '<script>alert("owned")</script>'


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script> and <style>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.inline else None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.inline[self._open].append(data)

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def _run(n: int, **overrides) -> dict:
    run = {
        "id": f"20261122T0{n}0000000000Z",
        "status": "succeeded",
        "trigger": "schedule",
        "started_at": f"2026-11-22T0{n}:00:00+00:00",
        "finished_at": f"2026-11-22T0{n}:02:05+00:00",
        "duration_seconds": 125.0,
        "resources": 3,
        "succeeded": 3,
        "partial": 0,
        "failed": 0,
        "skipped": 0,
        "items": 100 * n,
        "bytes": 1536 * n,
        "removed": 0,
        "failed_items": 0,
        "error": "",
    }
    return {**run, **overrides}


def sample(runs: int = 5) -> dict:
    return {
        "generated_at": "2026-11-22T09:30:00+00:00",
        "runs": [_run(n) for n in range(1, runs)] + [_run(runs, items=0, bytes=0, failed=1, succeeded=2)],
        "lookback": {"runs": 5, "since_run": "20261122T010000000000Z"},
        "resources": [
            {
                "resource": f"exchange:{EVIL}",
                "workload": "exchange",
                "status": "failed",
                "last_run_id": "r5",
                "last_finished_at": "2026-11-22T05:02:00+00:00",
                "failed_items": 0,
                "error": '<img src=x onerror="alert(1)"> GraphError',
                "last_good_run_id": None,
                "last_good_at": None,
                "last_good_status": None,
                "items": 0,
                "bytes": 0,
            },
            {
                "resource": "exchange:u2",
                "workload": "exchange",
                "status": "succeeded",
                "last_run_id": "r5",
                "last_finished_at": "2026-11-22T05:02:00+00:00",
                "failed_items": 0,
                "error": "",
                "last_good_run_id": "r5",
                "last_good_at": "2026-11-22T05:02:00+00:00",
                "last_good_status": "succeeded",
                "items": 42,
                "bytes": 3 * 1024 * 1024,
            },
        ],
        "storage": {
            "stored_bytes": 6 * 1024**3,
            "blobs": 1200,
            "logical_bytes": 10 * 1024**3,
            "versions": 3000,
            "saved_bytes": 4 * 1024**3,
            "dedup_savings": 0.4,
            "complete": True,
            "scan_limit": 50_000,
        },
        "restores": [
            {
                "id": "r20261122T093000-0a1b2c3d",
                "resource": "exchange:u2",
                "status": "succeeded",
                "requester": f'Mallory "{EVIL}',
                "created_at": "2026-11-22T09:30:00+00:00",
                "finished_at": "2026-11-22T09:31:10+00:00",
                "duration_seconds": 70.0,
                "parts": 2,
                "parts_done": 2,
                "restored": 9,
                "skipped": 1,
                "failed": 0,
                "error": "",
            },
        ],
    }


def _chart(page: str, kind: str) -> str:
    match = re.search(rf'<svg[^>]*data-chart="{kind}".*?</svg>', page, re.S)
    assert match, kind
    return match.group(0)


def test_four_charts_with_one_titled_bar_per_run():
    page = render_dashboard(sample(runs=6))
    svgs = Tags(page).named("svg")
    charts = {a["data-chart"]: a for a in svgs if a.get("data-chart") in {"items", "bytes", "duration", "failures"}}
    assert set(charts) == {"items", "bytes", "duration", "failures"}
    for kind, attrs in charts.items():
        assert attrs["role"] == "img" and attrs["aria-label"], kind
        svg = _chart(page, kind)
        bars = re.findall(r'<g class="bar"[^>]*><title>([^<]+)</title>(.*?)</g>', svg, re.S)
        assert len(bars) == 6, kind
        assert all("<rect" in rects for _, rects in bars), kind
    # failures: a red bar for the run with a failed resource, a green sliver for runs where all succeeded
    failures = re.findall(r'<g class="bar"[^>]*>.*?</g>', _chart(page, "failures"), re.S)
    assert 'class="bad"' in failures[-1] and "2 succeeded, 0 partial, 1 failed, 0 skipped resources" in failures[-1]
    assert all('class="ok zero"' in bar for bar in failures[:-1])


def test_a_zero_still_draws_a_visible_bar():
    last_items_bar = re.findall(r'<g class="bar"[^>]*>.*?</g>', _chart(render_dashboard(sample()), "items"), re.S)[-1]
    assert 'data-value="0"' in last_items_bar and "zero" in last_items_bar and 'height="2.0"' in last_items_bar


def test_tenant_text_is_escaped_and_inert():
    page = render_dashboard(sample())
    tags = Tags(page)
    assert len(tags.named("script")) == 1  # only the page's own
    assert not tags.named("img")
    assert all(not k.startswith("on") for _, attrs in tags.tags for k in attrs)
    assert EVIL not in page
    assert "exchange:&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; GraphError" in page
    assert "Mallory &quot;&lt;script&gt;" in page
    assert "none in the last 5 runs" in page  # the failing resource has no good backup in the window


def test_a_skipped_resource_is_not_an_alarm():
    data = sample()
    data["resources"][0] = {**data["resources"][0], "status": "skipped", "error": "no mailbox"}
    page = render_dashboard(data)
    assert "nothing to back up" in page and "none in the last" not in page
    assert "0 failing in the last run · 0 without a good backup" in page


def test_sizes_durations_and_savings_are_human_readable():
    page = render_dashboard(sample())
    for text in ("6 GiB", "10 GiB", "4 GiB not stored twice", "40.0 %", "1,200 distinct blobs", "3 MiB",
                 "2 min 05 s", "took 1 min 10 s", "2026-11-22 09:30 UTC", "4.5 KiB of new content"):  # fmt: skip
        assert text in page, text
    assert human_bytes(0) == "0 B" and human_bytes(1536) == "1.5 KiB" and human_bytes(5 * 1024**4) == "5 TiB"
    assert human_bytes(1023) == "1023 B" and human_bytes(10.5 * 1024**2) == "10.5 MiB"
    assert human_duration(0.42) == "0.4 s" and human_duration(7500) == "2 h 05 min" and human_duration(None) == "—"


def test_empty_tenant_gets_a_friendly_page():
    for data in ({}, {"runs": [], "resources": [], "storage": {}, "restores": [], "generated_at": None}):
        page = render_dashboard(data)
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
        assert "No backups yet" in page and "No resources yet" in page and "No restores yet" in page
        assert "data-chart=" not in page and "Traceback" not in page


def test_incomplete_storage_scan_says_so():
    data = sample()
    data["storage"] = {**data["storage"], "complete": False, "saved_bytes": None, "dedup_savings": None}
    page = render_dashboard(data)
    assert "The scans stopped after 50,000 entries" in page and "scan incomplete" in page


def test_resource_rows_are_capped_with_a_note():
    data = sample()
    row = data["resources"][1]
    data["resources"] = [{**row, "resource": f"exchange:u{i:05d}"} for i in range(MAX_RESOURCE_ROWS + 7)]
    page = render_dashboard(data)
    assert page.count('<tr><td class="key">exchange:u') == MAX_RESOURCE_ROWS
    assert f"Showing {MAX_RESOURCE_ROWS} of {MAX_RESOURCE_ROWS + 7:,} resources" in page


def test_policy_allows_exactly_the_inline_style_and_script():
    page = render_dashboard(sample())
    tags = Tags(page)
    (style,), (script,) = tags.inline["style"], tags.inline["script"]
    assert f"style-src {csp_hash(style)};" in CONTENT_SECURITY_POLICY
    assert f"script-src {csp_hash(script)};" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert all("style" not in attrs for _, attrs in tags.tags)  # style attributes would need 'unsafe-inline'
    assert not [a for a in tags.named("link") if a.get("rel") != "icon"] and not tags.named("iframe")
    assert all(a.get("href", "").startswith("data:") for a in tags.named("link"))
