"""The dashboard page's one stylesheet and one script, inline, and the Content-Security-Policy that allows exactly
them (by SHA-256) and nothing else: no external scripts, styles, fonts or images, no style attributes, no inline
event handlers. The script only adds click-to-sort to the tables; the page works the same without it."""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root{color-scheme:light dark;--bg:#f4f6f9;--card:#fff;--ink:#1c2430;--sub:#5b6676;--line:#e3e7ee;--head:#0f2a4a;
--items:#2f6fdf;--bytes:#6d4bd8;--duration:#0f8b8d;--ok:#1f9d55;--warn:#d98e04;--bad:#d64545;--muted:#9aa4b2}
@media (prefers-color-scheme:dark){:root{--bg:#11161d;--card:#1a212b;--ink:#e6ebf2;--sub:#9aa6b6;--line:#2a3441;
--head:#0b1a2e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
header{background:var(--head);color:#fff;padding:18px 32px}
header h1{margin:0;font-size:20px;font-weight:600;letter-spacing:.2px}
header p{margin:4px 0 0;color:#b9c6d8;font-size:13px}
main{max-width:1280px;margin:0 auto;padding:24px 32px 40px}
h2{font-size:16px;margin:28px 0 12px;font-weight:600}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
box-shadow:0 1px 2px rgba(16,24,40,.05)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:14px}
.kpi .label{color:var(--sub);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.kpi .value{font-size:26px;font-weight:600;margin:4px 0 2px;font-variant-numeric:tabular-nums}
.kpi .note{color:var(--sub);font-size:12.5px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px}
figure{margin:0}
figcaption{display:flex;justify-content:space-between;align-items:baseline;gap:12px;margin-bottom:6px}
figcaption h3{margin:0;font-size:14px;font-weight:600}
figcaption span,.legend{color:var(--sub);font-size:12px}
svg.chart{display:block;width:100%;height:auto}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{fill:var(--sub);font-size:11px;font-variant-numeric:tabular-nums}
svg .bar:hover rect{opacity:.78}
.fill-items{fill:var(--items)}.fill-bytes{fill:var(--bytes)}.fill-duration{fill:var(--duration)}
.ok{fill:var(--ok)}.warn{fill:var(--warn)}.bad{fill:var(--bad)}.muted{fill:var(--muted)}
svg rect.zero{opacity:.55}
.legend{display:flex;gap:14px;margin-top:4px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.swatch.ok{background:var(--ok)}.swatch.warn{background:var(--warn)}.swatch.bad{background:var(--bad)}
.swatch.muted{background:var(--muted)}.swatch.items{background:var(--items)}.swatch.stored{background:var(--bytes)}
.table-wrap{overflow-x:auto;padding:0}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:9px 12px;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--sub);font-weight:600;text-transform:uppercase;letter-spacing:.4px;
background:var(--card);white-space:nowrap}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover{background:rgba(47,111,223,.05)}
td.num,th.num{text-align:right}
td.key{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
td.time{white-space:nowrap}
td.err{color:var(--bad);max-width:360px;word-break:break-word}
.small{color:var(--sub);font-size:12px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;
background:rgba(154,164,178,.2);color:var(--sub)}
.badge.succeeded{background:rgba(31,157,85,.14);color:var(--ok)}
.badge.partial,.badge.running,.badge.accepted{background:rgba(217,142,4,.15);color:var(--warn)}
.badge.failed,.badge.interrupted{background:rgba(214,69,69,.14);color:var(--bad)}
.empty{text-align:center;color:var(--sub);padding:28px}
.empty strong{display:block;color:var(--ink);font-size:15px;margin-bottom:4px}
.storage{display:grid;grid-template-columns:minmax(240px,1fr) 2fr;gap:18px;align-items:center}
.storage dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:0}
.storage dt{color:var(--sub)}.storage dd{margin:0;font-weight:600;text-align:right}
.storage svg{display:block;width:100%;height:auto}
.storage .track{fill:var(--line)}.storage .logical{fill:var(--items)}.storage .stored{fill:var(--bytes)}
.storage text{fill:var(--ink);font-size:13px}
.note-line{margin-top:8px;color:var(--sub);font-size:12.5px}
.js th[data-sort]{cursor:pointer;user-select:none}
.js th[data-sort]::after{content:" \\2195";opacity:.35}
footer{color:var(--sub);font-size:12px;text-align:center;padding:8px 0 28px}
""".strip()

SCRIPT = """
document.documentElement.classList.add("js");
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var numeric = th.getAttribute("data-sort") === "num", dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[col], raw = cell.getAttribute("data-value");
        if (raw === null) raw = cell.textContent.trim();
        return numeric ? parseFloat(raw) || 0 : raw.toLowerCase();
      }
      rows.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -dir : x > y ? dir : 0; });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
""".strip()

# A favicon as a data: URL, so the browser does not ask the server for /favicon.ico.
FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' "
    "height='16' rx='3' fill='%230f2a4a'/%3E%3Crect x='3' y='8' width='2' height='5' fill='%23fff'/%3E%3Crect "
    "x='7' y='5' width='2' height='8' fill='%23fff'/%3E%3Crect x='11' y='3' width='2' height='10' fill='%23fff'/%3E"
    "%3C/svg%3E"
)


def csp_hash(text: str) -> str:
    """The CSP source expression allowing an inline element with exactly this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
