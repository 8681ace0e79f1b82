"""The dashboard's protection section: the protection report (core/report.py) as a table, resources that need
attention first (failing, past the RPO, never backed up, partial, skipped), then excluded and protected ones, each
by name with its key, state, last good backup and its age against the RPO."""

from __future__ import annotations

from typing import Any

from api.dashboard_format import esc, human_bytes, human_count, human_time

MAX_ROWS = 500  # the whole report is GET /api/v1/report (JSON or CSV)
_CSS = {"protected": "succeeded", "partial": "partial", "past_rpo": "partial", "failing": "failed",
        "never_backed_up": "failed", "skipped": "skipped", "excluded": "other"}  # fmt: skip


def resource_cell(row: dict[str, Any]) -> str:
    """A resource by name ('Adele Vance <adele@…>') with its key below; the key alone when no name is known."""
    key, name = str(row.get("resource") or ""), str(row.get("name") or "")
    if not name or name == key:
        return f'<td class="key">{esc(key)}'
    return f'<td>{esc(name)}<div class="small key">{esc(key)}</div>'


def protection_section(report: dict[str, Any]) -> str:
    rows_in = list(report.get("resources") or [])
    rpo = report.get("rpo_hours")
    tally = (report.get("counts") or {}).items()
    counts = ", ".join(f"{human_count(n)} {state.replace('_', ' ')}" for state, n in tally if n)
    title = f'<h2>Protection <span class="small">· RPO {esc(rpo)} h · {esc(counts or "no resources")}</span></h2>'
    if not rows_in:
        empty = '<div class="card empty"><strong>No resources yet</strong>They appear after the first discovery.</div>'
        return f'<section aria-label="Protection">{title}{empty}</section>'
    rows = []
    for r in rows_in[:MAX_ROWS]:
        named = {**r, "name": f"{r.get('display_name')} <{r.get('address')}>" if r.get("address") else ""}
        age = r.get("age_hours")
        rows.append(
            "<tr>" + resource_cell(named) + "</td>"
            f'<td data-value="{esc(r.get("state"))}"><span class="badge {_CSS.get(str(r.get("state")), "other")}">'
            f"{esc(str(r.get('state') or '').replace('_', ' '))}</span></td>"
            f'<td class="time" data-value="{esc(r.get("last_good_at") or "")}">'
            f"{esc(human_time(r.get('last_good_at')) if r.get('last_good_at') else 'never')}</td>"
            f'<td class="num" data-value="{esc(age if age is not None else -1)}">'
            f"{esc(f'{age:.1f} h' if age is not None else '—')}</td>"
            f'<td class="num" data-value="{esc(r.get("items") or 0)}">{esc(human_count(r.get("items")))}</td>'
            f'<td class="num" data-value="{esc(r.get("bytes") or 0)}">{esc(human_bytes(r.get("bytes")))}</td>'
            f'<td class="num" data-value="{esc(r.get("quarantined") or 0)}">{esc(human_count(r.get("quarantined")))}'
            "</td></tr>"
        )
    head = "".join(f'<th scope="col" data-sort="{k}" class="{k}">{esc(t)}</th>' for t, k in (
        ("Resource", "text"), ("State", "text"), ("Last good backup", "text"), ("Age", "num"), ("Items", "num"),
        ("Data", "num"), ("Quarantined", "num")))  # fmt: skip
    table = (
        '<div class="card table-wrap"><table class="sortable protection"><caption hidden>Protection</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    note = (
        '<p class="note-line">Every resource discovery found or a backup holds. Items and data sum its retained '
        "restore points. The whole report: <code>GET /api/v1/report</code> (JSON, or CSV with "
        "<code>?format=csv</code>) and <code>python -m core report</code>.</p>"
    )
    return f'<section aria-label="Protection">{title}{table}{note}</section>'
