"""A file shared in a channel message: a reference attachment whose contentUrl links to the SharePoint item that
holds it (https://learn.microsoft.com/graph/api/resources/chatmessageattachment: contentType 'reference'). The team's
site is backed up by the sharepoint workload, so the backup links, it does not copy: each reference of a new or
changed message is resolved through "Access shared items" (https://learn.microsoft.com/graph/api/shares-get,
GET /shares/u!<unpadded base64url of the URL>/driveItem) to the drive item now at that link, once per distinct URL
per backup round, and its ids are kept beside the link in the version's `extra` (`files`):

    {"name", "url", "resolved": true, "driveId", "itemId", "siteId", "webUrl", "eTag", "resource"}
    {"name", "url", "resolved": false, "reason"}

`resource` is the sharepoint resource key of the item's site ('' when the item is not in a document library: a
OneDrive's file is not the sharepoint workload's). A link that does not resolve (404: nothing there, 403, another
tenant's host, a throttled or failed read) is kept unresolved with its reason; the message backs up all the same.
The file's bytes are never read here.

`holding` finds, as of a run, the sharepoint catalog version of a resolved file (what an operator restores from
there); `note_missing_files` is the restore's check that each file is still at its link (a note per message in the
restore report when it is not: the file is restored from the sharepoint resource, never by the Teams restore)."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from core.errors import GraphError
from core.models import ResourceKey
from core.workloads.files.drive_round import FILE, composite
from core.workloads.files.workloads import SHAREPOINT

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.restore_request import RestoreReport
    from core.storage.catalog import ItemVersion
    from core.workloads.container_delta import MailboxJob

SELECT = {"$select": "id,name,webUrl,eTag,parentReference"}
LIBRARY = "documentLibrary"  # the driveType of a SharePoint document library (resources/drive)
_CACHE = "fileRefs"


def encode_sharing_url(url: str) -> str:
    """'u!' + the URL in unpadded base64url ("Encoding sharing URLs" on the shares-get page)."""
    return "u!" + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def site_resource(site_id: str) -> str:
    """The sharepoint workload's resource key of a site."""
    return str(ResourceKey(SHAREPOINT.name, site_id))


def references(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The reference attachments of a message as {"name", "url"}."""
    return [
        {"name": a.get("name"), "url": a.get("contentUrl")}
        for a in message.get("attachments") or []
        if isinstance(a, dict) and a.get("contentType") == "reference"
    ]


def _reason(exc: GraphError) -> str:
    what = f"{exc.status} {exc.code}".strip() if exc.status is not None else exc.code or "no answer"
    return f"the link did not resolve ({what})"


def resolve(graph: GraphClient, url: object) -> dict[str, Any]:
    """What a sharing URL names now: the resolved fields, or {"resolved": False, "reason"}."""
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return {"resolved": False, "reason": "not a web link"}
    try:
        item = graph.get_json(f"shares/{quote(encode_sharing_url(url), safe='!')}/driveItem", params=SELECT)
    except GraphError as exc:  # MalformedResponse too: never fails the message
        return {"resolved": False, "reason": _reason(exc)}
    parent = item.get("parentReference") if isinstance(item.get("parentReference"), dict) else {}
    if not isinstance(item.get("id"), str) or not isinstance(parent.get("driveId"), str):
        return {"resolved": False, "reason": "the link resolved to an item without ids"}
    site = str(parent.get("siteId") or "")
    return {
        "resolved": True,
        "driveId": parent["driveId"],
        "itemId": item["id"],
        "siteId": site,
        "webUrl": str(item.get("webUrl") or ""),
        "eTag": str(item.get("eTag") or ""),
        "resource": site_resource(site) if site and parent.get("driveType") == LIBRARY else "",
    }


def resolve_files(job: MailboxJob, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each reference with what its link names, read once per distinct URL in this backup (fetches run in
    parallel: one lock keeps the reads of a URL to one)."""
    lock, cache = job.scratch.setdefault(_CACHE, (threading.Lock(), {}))
    out = []
    for entry in files:
        url = entry.get("url")
        with lock:
            key = str(url)
            if key not in cache:
                cache[key] = resolve(job.graph, url)
            found = cache[key]
        out.append({**entry, **found})
    return out


@dataclass
class Holding:
    """Where a backed-up file reference's item is held as of a run."""

    resource: str  # the sharepoint resource ('' when unresolved or not in a document library)
    item_id: str  # its catalog id in that resource ('<drive id>/<item id>')
    version: ItemVersion | None  # the catalog version as of the run (None: not backed up there)
    text: str  # for a person: "held in <resource> item <id>", or why it is not


def holding(services: Services, entry: dict[str, Any], run_id: str) -> Holding:
    if not entry.get("resolved"):
        return Holding("", "", None, f"not resolved: {entry.get('reason') or 'resolved before links were'}")
    item_id = composite(str(entry.get("driveId")), str(entry.get("itemId")))
    resource = str(entry.get("resource") or "")
    if not resource:
        return Holding("", item_id, None, f"drive item {item_id}, not in a SharePoint document library")
    version = services.catalog.version_as_of(resource, FILE, item_id, run_id)
    if version is None:
        return Holding(resource, item_id, None, f"in {resource} item {item_id}: site not backed up as of this point")
    return Holding(resource, item_id, version, f"held in {resource} item {item_id}")


def missing_at_link(
    services: Services, entry: dict[str, Any], run_id: str, cache: dict[str, dict[str, Any]]
) -> str | None:
    """After a restore: None when the file is at its link still, else what the restore report says of it: why
    (404: the item is gone from its link; other answers: the link could not be checked) and where the item is held
    as of the run restored (`holding`)."""
    url = str(entry.get("url") or "")
    if url not in cache:
        cache[url] = resolve(services.graph, url)
    now = cache[url]
    if now.get("resolved"):
        return None
    held = holding(services, entry, run_id)
    where = f"{held.text}: restore it from there" if held.version is not None else held.text
    return f"{entry.get('name') or url} ({url}): {now.get('reason')}; {where}"


def note_missing_files(
    services: Services, report: RestoreReport, versions: dict[str, ItemVersion], run_id: str
) -> None:
    """After a restore: each restored (or already present) message of `versions` whose files are no longer at
    their links gets `missing_files` in its report entry, naming the sharepoint resource and item to restore
    from there. Nothing is written into the site: a restore of a team does not restore another resource's items."""
    cache: dict[str, dict[str, Any]] = {}
    for entry in report.items:
        version = versions.get(entry.get("item_id", ""))
        if version is None or entry.get("status") not in ("restored", "skipped") or "missing_files" in entry:
            continue
        files = (json.loads(version.extra) if version.extra else {}).get("files") or []
        notes = [n for n in (missing_at_link(services, f, run_id, cache) for f in files if f.get("url")) if n]
        if notes:
            entry["missing_files"] = "; ".join(notes)[:2000]
