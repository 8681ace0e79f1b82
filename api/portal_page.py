"""The self-service restore portal's page: one HTML document, its stylesheet and script served from the repo
(api/portal_assets/) and MSAL for the browser served from node_modules (the npm package @azure/msal-browser that
`npm ci` installs from package.json): no CDN. The page itself needs no token; its script signs the user in with
Entra ID (authorization code flow with PKCE, MSAL) and calls /api/v1 with the access token it gets.

    portal_config(settings)  what the script needs: authority, the SPA's client id, the API scope, the categories
    render_portal(config)    the HTML, the config as JSON in a <script type="application/json"> element
    asset(name)              (bytes, media type) of one of the page's three assets, or NotFoundError

The SPA is the API's own app registration (docs/deploy.md "The restore portal"): its client id is the GUID among
API_AUDIENCE's values, and it asks for the scope `<Application ID URI>/access_as_user` (the first non-GUID value of
API_AUDIENCE, else api://<client id>). The Content-Security-Policy allows scripts and styles from this origin only
and connections to this origin and the sign-in authority."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import Settings
from core.errors import NotFoundError
from core.restore_request import CONFLICT_POLICIES
from core.workloads import registry

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "portal_assets"
MSAL_BUNDLE = ROOT / "node_modules" / "@azure" / "msal-browser" / "lib" / "msal-browser.min.js"
SCOPE_NAME = "access_as_user"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def portal_config(settings: Settings) -> dict[str, Any]:
    """The sign-in and browsing facts the page's script reads; `problem` says why sign-in cannot work, if it can't."""
    client_id = next((a for a in settings.api_audiences if _GUID.match(a)), "")
    app_id_uri = next((a for a in settings.api_audiences if not _GUID.match(a)), f"api://{client_id}")
    problem = "" if client_id else ("API_AUDIENCE names no client id (a GUID): the portal signs in as the API's app "
                                    "registration, so add its client id to API_AUDIENCE")  # fmt: skip
    authority = f"{settings.authority_host}/{settings.tenant_id}"
    return {
        "clientId": client_id,
        "authority": authority,
        "knownAuthorities": [urlsplit(settings.authority_host).netloc],
        "scope": f"{app_id_uri.rstrip('/')}/{SCOPE_NAME}",
        "api": "/api/v1",
        "problem": problem,
        "workloads": {w.name: [c.name for c in w.categories] for w in registry.WORKLOADS.values()},
        "selfService": list(registry.self_service_workloads()),
        "conflicts": list(CONFLICT_POLICIES),
    }


def content_security_policy(config: dict[str, Any]) -> str:
    parts = urlsplit(config["authority"])
    authority_origin = f"{parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' {authority_origin}; "
        f"frame-src {authority_origin}; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def render_portal(config: dict[str, Any], assets_url: str) -> str:
    """The page; `assets_url` is where `asset` is served (e.g. /api/v1/portal/assets)."""
    data = json.dumps(config).replace("<", "\\u003c")  # no '</script>' can end the element early
    base = html.escape(assets_url)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Restore portal</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}/portal.css">
<script type="application/json" id="portal-config">{data}</script>
<script src="{base}/msal-browser.min.js" defer></script>
<script src="{base}/portal.js" defer></script>
</head>
<body>
<header><h1>Restore portal</h1><p>Your mailbox and OneDrive, as they were on any backup</p>
<div id="who"><span id="user"></span> <button id="sign-out" hidden>Sign out</button></div></header>
<main>
<p id="message" role="status"></p>
<section id="signed-out" hidden><p>Sign in with your work account to see your backups.</p>
<button id="sign-in">Sign in</button></section>
<section id="browser" hidden>
<div class="bar">
<label>Resource <select id="resource"></select></label>
<label>What <select id="category"></select></label>
<label>As of <select id="point"></select></label>
<label>or date <input id="at" type="datetime-local"></label>
</div>
<form id="search" class="bar"><input id="query" type="search" placeholder="Search subject or file name">
<button type="submit">Search</button> <button type="button" id="clear-search">Browse</button></form>
<nav id="crumbs" aria-label="Folder"></nav>
<table id="listing"><thead><tr><th></th><th>Name</th><th>Folder</th><th>Date</th><th class="num">Size</th>
<th></th></tr></thead><tbody></tbody></table>
<button id="more" hidden>More</button>
<div class="bar actions">
<label><input type="radio" name="destination" value="original" checked> Restore in place</label>
<label><input type="radio" name="destination" value="new-folder"> into a restore folder</label>
<input id="folder-name" placeholder="Restored from backup">
<label id="target" hidden>of <select id="target-resource"></select></label>
<label>If it exists <select id="conflict"></select></label>
<button id="restore" disabled>Restore selected</button>
<button id="download" disabled>Download selected</button>
</div>
<section id="preview" hidden><h2 id="preview-title"></h2><pre id="preview-text"></pre></section>
<h2>Restores</h2>
<table id="jobs"><thead><tr><th>Job</th><th>Resource</th><th>Status</th><th>Progress</th><th>Started</th></tr>
</thead><tbody></tbody></table>
</section>
</main>
</body>
</html>
"""


def asset(name: str) -> tuple[bytes, str]:
    """One of the page's assets: portal.js, portal.css (api/portal_assets/), msal-browser.min.js (node_modules)."""
    if name == MSAL_BUNDLE.name:
        if not MSAL_BUNDLE.is_file():
            raise NotFoundError(f"{MSAL_BUNDLE.relative_to(ROOT)} is missing: run `npm ci` (package.json lists "
                                "@azure/msal-browser)")  # fmt: skip
        return MSAL_BUNDLE.read_bytes(), _MEDIA[".js"]
    path = ASSETS / name
    if name not in ("portal.js", "portal.css") or not path.is_file():
        raise NotFoundError(f"no portal asset {name!r}")
    return path.read_bytes(), _MEDIA[path.suffix]
