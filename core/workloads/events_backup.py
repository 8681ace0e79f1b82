"""The event item kind. Graph v1.0 has event delta only as calendarView delta (per calendar, over a date window):
it returns single events, occurrences and exceptions, never series masters. So occurrences are turned into their
series master (fetched once per round), which is what is kept, with the start times of the instances it has (so
cancelled occurrences are known: v1.0 has no cancelledOccurrences); exceptions and single events are kept as they
are. Content is the event's Graph JSON; file attachments are stored beside it and named in its metadata.

A removal of an event the catalog holds is checked: calendarView delta also reports events that moved out of the
window as removed, and those are kept. A removal of an id the catalog does not hold may be an occurrence of a
deleted series: then the calendar's live series masters are looked up: those that are gone are ended, those that
changed (a cancelled occurrence changes its master) are kept anew."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from core.errors import GraphNotFound
from core.graph.client import GraphClient
from core.storage.content_store import Spool
from core.workloads.contacts_backup import canonical_json
from core.workloads.container_delta import Container, Fetched, ItemKind, MailboxJob

EVENT = "event"
CALENDAR = "calendar"
PAST_DAYS, FUTURE_DAYS = 3650, 1825  # the calendarView window: ten years back, five ahead


def window(now: datetime | None = None) -> dict[str, str]:
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "startDateTime": (day - timedelta(days=PAST_DAYS)).strftime(fmt),
        "endDateTime": (day + timedelta(days=FUTURE_DAYS)).strftime(fmt),
    }


def list_calendars(graph: GraphClient, user: str) -> list[Container]:
    calendars = []
    for page in graph.iter_pages(f"users/{quote(user, safe='')}/calendars", params={"$top": "100"}):
        for raw in page:
            if isinstance(raw.get("id"), str):
                name = str(raw.get("name") or raw["id"])
                calendars.append(Container(raw["id"], name, "", name))
    return calendars


def _delta_path(user: str, calendar: Container) -> str:
    return f"users/{quote(user, safe='')}/calendars/{quote(calendar.id, safe='')}/calendarView/delta"


def _event_url(job: MailboxJob, event_id: str) -> str:
    return f"users/{quote(job.user, safe='')}/events/{quote(event_id, safe='')}"


def _prepare(job: MailboxJob, calendar: Container, entries: list) -> list:
    masters: dict[str, dict | None] = job.scratch.setdefault("masters", {})
    out: list = []
    for entry in entries:
        if not isinstance(entry, dict):
            out.append(entry)
        elif "@removed" in entry:
            if entry.get("id") not in job.index:
                out.append(entry)
                out.extend(_refresh_masters(job, calendar))
            elif not _still_there(job, entry["id"]):
                out.append(entry)
            # else: it moved out of the window (calendarView delta reports that as a removal): keep it
        elif entry.get("type") == "occurrence":
            master_id = entry.get("seriesMasterId")
            if isinstance(master_id, str) and master_id not in masters:
                try:
                    masters[master_id] = job.graph.get_json(_event_url(job, master_id))
                except GraphNotFound:
                    masters[master_id] = None
                if masters[master_id] is not None:
                    out.append(masters[master_id])
        else:
            out.append(entry)
    return out


def _still_there(job: MailboxJob, event_id: str) -> bool:
    try:
        job.graph.get_json(_event_url(job, event_id), params={"$select": "id"})
    except GraphNotFound:
        return False
    return True


def _refresh_masters(job: MailboxJob, calendar: Container) -> list[dict]:
    """After a removal of an id the catalog does not hold (an occurrence: cancelled, or its series deleted), look
    at this calendar's live series masters once per round: a gone one is removed, a changed one kept anew."""
    checked: set[str] = job.scratch.setdefault("checked", set())
    if calendar.id in checked:
        return []
    checked.add(calendar.id)
    entries: list[dict] = []
    for item_id, version in list(job.index.items()):
        if version.folder_id != calendar.id or item_id in job.scratch.get("masters", {}):
            continue
        try:
            current = job.graph.get_json(_event_url(job, item_id))
        except GraphNotFound:
            entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
            continue
        if current.get("type") == "seriesMaster" and current.get("changeKey") != version.change_key:
            entries.append(current)
    return entries


def _store(job: MailboxJob, spool: Spool | None, data: bytes | None, content_type: str) -> tuple[str, int]:
    stored = job.content.put(spool, content_type) if spool is not None else job.content.put_bytes(data or b"")
    job.report.add(**({"bytes": stored.size} if stored.written else {"deduplicated": 1}))
    return stored.sha256, stored.size


def _attachments(job: MailboxJob, event_id: str) -> list[dict[str, Any]]:
    url = f"{_event_url(job, event_id)}/attachments"
    listed = [a for page in job.graph.iter_pages(url, params={"$select": "id,name,contentType,size,isInline"})
              for a in page]  # fmt: skip
    kept = []
    for attachment in listed:
        if attachment.get("@odata.type", "#microsoft.graph.fileAttachment") != "#microsoft.graph.fileAttachment":
            continue  # item and reference attachments are not file content
        with Spool() as spool:
            job.graph.download(f"{url}/{quote(attachment['id'], safe='')}/$value", spool)
            sha, size = _store(job, spool, None, str(attachment.get("contentType") or "application/octet-stream"))
        kept.append({k: attachment.get(k) for k in ("name", "contentType", "isInline")} | {"sha256": sha, "size": size})
    return kept


def _instances(job: MailboxJob, master_id: str) -> list[str]:
    url = f"{_event_url(job, master_id)}/instances"
    return sorted(
        str(i.get("originalStart") or (i.get("start") or {}).get("dateTime") or "")
        for page in job.graph.iter_pages(url, params={**window(), "$select": "id,originalStart,start"})
        for i in page
    )


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    extra: dict[str, Any] = {}
    if entry.get("type") == "seriesMaster":
        extra["instances"] = _instances(job, entry["id"])
    if entry.get("hasAttachments"):
        extra["attachments"] = _attachments(job, entry["id"])
    sha, size = _store(job, None, canonical_json(entry), "application/json")
    return sha, size, json.dumps(extra) if extra else ""


def _describe(entry: dict) -> dict[str, Any]:
    organizer = ((entry.get("organizer") or {}).get("emailAddress") or {}).get("address", "")
    return {
        "name": str(entry.get("subject") or "")[:1000],
        "sender": str(organizer or "")[:320],
        "received": str((entry.get("start") or {}).get("dateTime") or ""),
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "has_attachments": bool(entry.get("hasAttachments")),
    }


EVENT_KIND = ItemKind(
    category=EVENT,
    folder_category=CALENDAR,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    params=window,
    prepare=_prepare,
)
