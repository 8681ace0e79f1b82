"""The dashboard as one self-contained HTML5 page, rendered on the server from `core.dashboard.dashboard_data`:
headline figures, SVG charts of the last runs, storage and deduplication, the per-resource table and recent
restores. Nothing is fetched: the stylesheet and the (optional, sort-only) script are inline and allowed by hash in
`CONTENT_SECURITY_POLICY`, which the route should send. Every value taken from the data is HTML-escaped: resource
keys, errors and requester names come from the tenant and may hold markup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.dashboard_assets import CONTENT_SECURITY_POLICY, FAVICON, SCRIPT, STYLE
from api.dashboard_charts import FAILURE_LEGEND, run_charts
from api.dashboard_format import esc, human_bytes, human_count, human_duration, human_time, percent
from api.dashboard_protection import protection_section, resource_cell

__all__ = ["CONTENT_SECURITY_POLICY", "MAX_RESOURCE_ROWS", "render_dashboard"]

MAX_RESOURCE_ROWS = 500  # problems sort first; the full list is in the JSON (/api/v1/dashboard/data)
_ERROR_CHARS = 300
_CHARTS = (
    ("items", "Items per run", "item versions captured (new or changed)"),
    ("bytes", "Data per run", "new content written (after deduplication)"),
    ("duration", "Duration per run", "start to finish"),
    ("failures", "Failures per run", "resources failed or partly backed up"),
)


def render_dashboard(data: dict[str, Any]) -> str:
    """The complete page for `data` (as `dashboard_data` returns it); an empty tenant gets a friendly empty state."""
    runs: list[dict[str, Any]] = list(data.get("runs") or [])
    body = [_kpis(data, runs)]
    if runs:
        body.append(_charts(runs))
    else:
        body.append(
            _empty(
                "No backups yet",
                "The charts appear after the first backup run: the schedule starts one, or POST /api/v1/backups.",
            )
        )
    body.append(_storage(data.get("storage") or {}))
    body.append(protection_section(data.get("protection") or {}))  # every resource against the RPO
    body.append(_resources(list(data.get("resources") or []), data.get("lookback") or {}))
    body.append(_quarantine(data.get("quarantine") or {}))
    body.append(_restores(list(data.get("restores") or [])))
    generated = human_time(data.get("generated_at"))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f'<link rel="icon" href="{FAVICON}">'
        "<title>Backup dashboard · Microsoft 365 Backup</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header><h1>Microsoft 365 Backup</h1>"
        f"<p>Backup dashboard · generated {esc(generated)}</p></header>"
        f"<main>{''.join(body)}</main>"
        "<footer>The same figures as JSON: <code>GET /api/v1/dashboard/data</code></footer>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


# -- headline figures ------------------------------------------------------------------------------------------
def _kpis(data: dict[str, Any], runs: Sequence[dict[str, Any]]) -> str:
    resources = data.get("resources") or []
    storage = data.get("storage") or {}
    restores = data.get("restores") or []
    cards = []
    if runs:
        last = runs[-1]
        cards.append(_kpi("Last run", _badge(last.get("status")),
                          f"{human_time(last.get('started_at'))} · {human_duration(last.get('duration_seconds'))}",
                          raw=True))  # fmt: skip
    else:
        cards.append(_kpi("Last run", "—", "no backup has run yet"))
    failing = sum(1 for r in resources if r.get("status") == "failed")
    no_good = sum(1 for r in resources if not r.get("last_good_run_id") and r.get("status") != "skipped")
    note = f"{failing} failing in the last run · {no_good} without a good backup" if resources else "none yet"
    cards.append(_kpi("Resources", human_count(len(resources)), note))
    cards.append(_kpi("Stored", human_bytes(storage.get("stored_bytes")),
                      f"{human_count(storage.get('blobs'))} distinct blobs"))  # fmt: skip
    saved = storage.get("saved_bytes")
    saved_note = f"{human_bytes(saved)} not stored twice" if saved is not None else "scan incomplete"
    cards.append(_kpi("Dedup savings", percent(storage.get("dedup_savings")), saved_note))
    held = data.get("quarantine") or {}
    held_note = "items a backup could not capture yet, retried every run" if held.get("total") else "nothing held"
    cards.append(_kpi("Quarantined", human_count(held.get("total") or 0), held_note))
    latest = restores[0] if restores else None
    restore_note = f"latest {latest.get('status') or '?'} · {human_time(latest.get('created_at'))}" if latest else ""
    cards.append(_kpi("Recent restores", human_count(len(restores)), restore_note or "none yet"))
    cards.append(_verification_kpi(data.get("verification")))
    return f'<section class="kpis" aria-label="Headline figures">{"".join(cards)}</section>'


def _verification_kpi(last: dict[str, Any] | None) -> str:
    """When content was last read back against its hashes (python -m core verify, or the schedule), and how it went."""
    if not last:
        return _kpi("Last verification", "—", "content not verified yet: python -m core verify")
    bad = int(last.get("missing") or 0) + int(last.get("corrupted") or 0) + int(last.get("unreadable") or 0)
    badge = '<span class="badge failed">problems</span>' if bad else '<span class="badge succeeded">intact</span>'
    note = f"{human_time(last.get('finished_at'))} · {human_count(last.get('checked'))} blobs read back"
    note += f" · {human_count(bad)} missing, corrupted or unreadable" if bad else ""
    return _kpi("Last verification", badge, note, raw=True)


def _kpi(label: str, value: str, note: str, raw: bool = False) -> str:
    shown = value if raw else esc(value)  # raw: markup built here from escaped parts
    return (
        f'<div class="card kpi"><div class="label">{esc(label)}</div><div class="value">{shown}</div>'
        f'<div class="note">{esc(note)}</div></div>'
    )


def _badge(status: Any) -> str:
    text = str(status or "unknown")
    known = {"succeeded", "partial", "failed", "running", "accepted", "skipped", "interrupted"}
    css = text if text in known else "other"
    return f'<span class="badge {css}">{esc(text)}</span>'


def _empty(title: str, text: str) -> str:
    return f'<div class="card empty"><strong>{esc(title)}</strong>{esc(text)}</div>'


# -- charts ----------------------------------------------------------------------------------------------------
def _charts(runs: Sequence[dict[str, Any]]) -> str:
    svgs = run_charts(runs)
    figures = []
    for kind, title, sub in _CHARTS:
        legend = ""
        if kind == "failures":
            legend = '<div class="legend">' + "".join(
                f'<span><i class="swatch {css}"></i>{esc(text)}</span>' for _, css, text in FAILURE_LEGEND
            ) + "</div>"  # fmt: skip
        figures.append(
            f'<figure class="card"><figcaption><h3>{esc(title)}</h3><span>{esc(sub)}</span></figcaption>'
            f"{svgs[kind]}{legend}</figure>"
        )
    heading = f"<h2>Last {len(runs)} run{'s' if len(runs) != 1 else ''}</h2>"
    return f'<section aria-label="Runs">{heading}<div class="charts">{"".join(figures)}</div></section>'


# -- storage ---------------------------------------------------------------------------------------------------
def _storage(storage: dict[str, Any]) -> str:
    stored, logical = storage.get("stored_bytes"), storage.get("logical_bytes")
    if not storage or (not stored and not logical):
        return (
            "<section><h2>Storage</h2>" + _empty("Nothing stored yet", "Content appears after a backup.") + "</section>"
        )
    rows = [
        ("Stored (distinct content)", human_bytes(stored)),
        ("Backed-up versions would take", human_bytes(logical)),
        ("Saved by deduplication", human_bytes(storage.get("saved_bytes"))),
        ("Savings", percent(storage.get("dedup_savings"))),
        ("Blobs", human_count(storage.get("blobs"))),
        ("Catalogued versions (with folders)", human_count(storage.get("versions"))),
    ]
    figures = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    note = (
        "Every blob each item version references (its content, attachments, photos, export streams), counted once "
        "per version at its stored size, against the distinct blobs those versions reference."
    )
    if not storage.get("complete", True):
        note = (
            f"The scans stopped after {human_count(storage.get('scan_limit'))} entries: the figures above are lower "
            "bounds and the savings are not computed."
        )
    return (
        '<section aria-label="Storage"><h2>Storage</h2><div class="card storage">'
        f"<dl>{figures}</dl>{_storage_bars(int(stored or 0), int(logical or 0))}</div>"
        f'<p class="note-line">{esc(note)}</p></section>'
    )


def _storage_bars(stored: int, logical: int) -> str:
    top, width = max(stored, logical, 1), 760
    bars = []
    for index, (label, value, css) in enumerate(
        (("Backed-up versions", logical, "logical"), ("Stored", stored, "stored"))
    ):
        y = 4 + index * 48
        length = max(width * value / top, 2)
        bars.append(
            f"<g><title>{esc(label)}: {esc(human_bytes(value))}</title>"
            f'<text x="0" y="{y + 12}">{esc(label)} · {esc(human_bytes(value))}</text>'
            f'<rect class="track" x="0" y="{y + 20}" width="{width}" height="18" rx="4"/>'
            f'<rect class="{css}" x="0" y="{y + 20}" width="{length:.1f}" height="18" rx="4"/></g>'
        )
    label = f"Stored {human_bytes(stored)} of {human_bytes(logical)} backed up"
    return (
        f'<svg role="img" aria-label="{esc(label)}" data-chart="storage" viewBox="0 0 {width} 96" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


# -- tables ----------------------------------------------------------------------------------------------------
def _table(css: str, headers: Sequence[tuple[str, str]], rows: Sequence[str], caption: str) -> str:
    """headers: (title, 'text' | 'num'); num columns align right and sort numerically (on data-value)."""
    head = "".join(f'<th scope="col" data-sort="{kind}" class="{kind}">{esc(title)}</th>' for title, kind in headers)
    return (
        f'<div class="card table-wrap"><table class="sortable {css}"><caption hidden>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _num(value: Any, text: str) -> str:
    return f'<td class="num" data-value="{esc(value if value is not None else 0)}">{esc(text)}</td>'


def _when(iso: Any, detail: str = "") -> str:
    sub = f'<div class="small">{esc(detail)}</div>' if detail else ""
    return f'<td class="time" data-value="{esc(iso or "")}">{esc(human_time(iso) if iso else "—")}{sub}</td>'


def _error(text: Any) -> str:
    full = str(text or "")
    shown = full if len(full) <= _ERROR_CHARS else full[:_ERROR_CHARS] + "…"
    return f'<td class="err" title="{esc(full)}">{esc(shown)}</td>' if full else "<td></td>"


def _kind(kind: Any) -> str:
    """What the resource is when it is not the usual (a shared mailbox): shown beside its workload."""
    return f' <span class="small">{esc(kind)}</span>' if kind and kind != "user" else ""


def _hold(hold: Any) -> str:
    """A legal hold (core/lifecycle/holds.py) beside the resource, its reason in the tooltip."""
    if not isinstance(hold, dict):
        return ""
    title = f"{hold.get('reason', '')} (by {hold.get('placed_by', '')} since {hold.get('placed_at', '')})"
    return f' <span class="small" title="{esc(title)}">on legal hold</span>'


def _suspicious(row: dict[str, Any]) -> str:
    """The ransomware signal on the resource's last good point, and its last clean point (core/signals/)."""
    if not row.get("suspicious"):
        return ""
    clean = row.get("last_clean_run_id")
    title = "; ".join(row.get("suspicious_reasons") or [])
    after = f"last clean: run {clean}" if clean else "no clean point in the window"
    return f' <span class="small" title="{esc(title)}">suspicious · {esc(after)}</span>'


def _resources(resources: list[dict[str, Any]], lookback: dict[str, Any]) -> str:
    window = int(lookback.get("runs") or 0)
    title = f'<h2>Resources <span class="small">· latest of the last {window} runs</span></h2>'
    if not resources:
        empty = _empty("No resources yet", "Resources appear once a backup has reached them.")
        return f"<section>{title}{empty}</section>"
    rows = []
    for r in resources[:MAX_RESOURCE_ROWS]:
        good = r.get("last_good_run_id")
        rows.append(
            "<tr>"
            + resource_cell(r) + f'{_hold(r.get("hold"))}{_suspicious(r)}</td>'
            f'<td>{esc(r.get("workload"))}{_kind(r.get("kind"))}</td>'
            f'<td data-value="{esc(r.get("status"))}">{_badge(r.get("status"))}</td>'
            + (_when(r.get("last_good_at"), f"run {good}") if good else _no_good(r.get("status"), window))
            + _num(r.get("items"), human_count(r.get("items")))
            + _num(r.get("bytes"), human_bytes(r.get("bytes")))
            + _num(r.get("failed_items"), human_count(r.get("failed_items")))
            + _num(r.get("quarantined"), human_count(r.get("quarantined") or 0))
            + _error(r.get("error"))
            + "</tr>"
        )  # fmt: skip
    headers = [("Resource", "text"), ("Workload", "text"), ("Status", "text"), ("Last good backup", "text"),
               ("Items", "num"), ("New data", "num"), ("Failed items", "num"), ("Quarantined", "num"),
               ("Last error", "text")]  # fmt: skip
    more = ""
    if len(resources) > MAX_RESOURCE_ROWS:
        more = (
            f'<p class="note-line">Showing {MAX_RESOURCE_ROWS} of {human_count(len(resources))} resources, problems '
            "first; all of them are in the JSON.</p>"
        )
    note = (
        '<p class="note-line">Items and new data are what the last good backup captured and wrote (changes since '
        "the one before), not the resource's total.</p>"
    )
    table = _table("resources", headers, rows, "Resources")
    return f'<section aria-label="Resources">{title}{table}{more}{note}</section>'


def _no_good(status: Any, window: int) -> str:
    if status == "skipped":  # e.g. a user without a mailbox: nothing to back up is not a problem
        return '<td data-value="" class="small">nothing to back up</td>'
    return f'<td data-value="" class="err">none in the last {window} runs</td>'


def _quarantine(held: dict[str, Any]) -> str:
    """The items held now (content a backup could not capture yet, retried by id on every run), oldest first."""
    title = "<h2>Quarantined items</h2>"
    items = list(held.get("items") or [])
    if not items:
        empty = _empty("Nothing in quarantine", "Every item the backups listed was captured.")
        return f'<section aria-label="Quarantined items">{title}{empty}</section>'
    rows = [
        "<tr>"
        f'<td class="key">{esc(i.get("resource"))}</td><td>{esc(i.get("category"))}</td>'
        f'<td class="key">{esc(i.get("item_id"))}</td><td class="key">{esc(i.get("first_run"))}</td>'
        f'<td class="key">{esc(i.get("last_run"))}</td>'
        + _num(i.get("attempts"), human_count(i.get("attempts")))
        + _error(i.get("error"))
        + "</tr>"
        for i in items
    ]  # fmt: skip
    headers = [("Resource", "text"), ("Category", "text"), ("Item", "text"), ("Held since run", "text"),
               ("Last tried in run", "text"), ("Attempts", "num"), ("Last error", "text")]  # fmt: skip
    total = int(held.get("total") or 0)
    count = f"The oldest {len(items)} of {human_count(total)}" if total > len(items) else human_count(total)
    bound = "" if held.get("complete", True) else " (the scan stopped early: there may be more)"
    note = (
        f'<p class="note-line">{esc(count)} item(s) held{esc(bound)}. A restore point lacks the items held as of '
        "its run; each is retried by id on every run until it is captured or found deleted.</p>"
    )
    table = _table("quarantine", headers, rows, "Quarantined items")
    return f'<section aria-label="Quarantined items">{title}{table}{note}</section>'


def _restores(restores: list[dict[str, Any]]) -> str:
    title = "<h2>Recent restores</h2>"
    if not restores:
        return (
            f"<section>{title}{_empty('No restores yet', 'Restores requested over the API are listed here.')}</section>"
        )
    rows = []
    for job in restores:
        parts = f"{human_count(job.get('parts_done'))} of {human_count(job.get('parts'))} parts"
        took = f"took {human_duration(job.get('duration_seconds'))}" if job.get("finished_at") else ""
        rows.append(
            "<tr>"
            f'<td class="key">{esc(job.get("id"))}</td><td class="key">{esc(job.get("resource"))}</td>'
            f'<td data-value="{esc(job.get("status"))}">{_badge(job.get("status"))}'
            f'<div class="small">{esc(parts)}</div></td>'
            f"<td>{esc(job.get('requester') or '—')}</td>"
            + _when(job.get("created_at"))
            + _when(job.get("finished_at"), took)
            + _num(job.get("restored"), human_count(job.get("restored")))
            + _num(job.get("skipped"), human_count(job.get("skipped")))
            + _num(job.get("failed"), human_count(job.get("failed")))
            + "</tr>"
        )  # fmt: skip
    headers = [("Job", "text"), ("Resource", "text"), ("Status", "text"), ("Requested by", "text"),
               ("Created", "text"), ("Finished", "text"), ("Restored", "num"), ("Skipped", "num"),
               ("Failed", "num")]  # fmt: skip
    return (
        f'<section aria-label="Recent restores">{title}{_table("restores", headers, rows, "Recent restores")}</section>'
    )
