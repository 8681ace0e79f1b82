"""SharePoint discovery under `Sites.Selected`: the included site URLs resolved one by one.

With `Sites.Selected` (least privilege: per-site grants) `getAllSites` is refused and site search answers nothing
useful, so the tenant cannot be listed. The sites to back up are then exactly the ones BACKUP_INCLUDE_SITES names,
each read by its URL ("Get a site resource by path", `GET /sites/{hostname}:/{server-relative path}`,
https://learn.microsoft.com/graph/api/site-getbypath; the host's root site as `GET /sites/{hostname}`). A URL that
does not resolve fails the discovery, naming it: a site mistyped or without its grant is never silently left out."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from core.errors import ConfigError, GraphError

if TYPE_CHECKING:
    from core.bootstrap import Services

SITE_FIELDS = "id,webUrl,displayName"


def site_path(url: str) -> str:
    """The Graph path that reads the site at `url` ('sites/contoso.sharepoint.com:/sites/finance'); ConfigError for a
    value that is no https URL of a host."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(
            f"BACKUP_INCLUDE_SITES: {url!r} is not a site URL such as https://contoso.sharepoint.com/sites/x"
        )
    path = parts.path.strip("/")
    return f"sites/{parts.hostname}:/{quote(path)}" if path else f"sites/{parts.hostname}"


def resolve_included_sites(services: Services, urls: tuple[str, ...]) -> list[dict]:
    """The sites `urls` name, as getAllSites lists them (id, webUrl, displayName), each read by its URL."""
    sites: list[dict] = []
    for url in urls:
        try:
            site = services.graph.get_json(site_path(url), params={"$select": SITE_FIELDS})
        except GraphError as exc:
            raise GraphError(
                f"SharePoint site discovery (Sites.Selected: getAllSites refused) could not read {url}: "
                f"{exc.status or ''} {exc}".strip(),
                status=exc.status,
                code=exc.code,
                url=exc.url,
            ) from exc
        if site.get("id") and all(site["id"] != s["id"] for s in sites):
            sites.append(site)
    return sites
