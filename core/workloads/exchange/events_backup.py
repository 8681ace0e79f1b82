"""The event item kind. Graph v1.0 has event delta only as calendarView delta (per calendar, over a date window):
it returns single events, occurrences and exceptions, never series masters. So occurrences are turned into their
series master (fetched once per round), which is what is kept, with the start times of the instances it has (so
cancelled occurrences are known: v1.0 has no cancelledOccurrences); exceptions and single events are kept as they
are. Content is the event's Graph JSON; file attachments are stored beside it and named in its metadata.

A removal of an event the catalog holds is checked: calendarView delta also reports events that moved out of the
window as removed, and those are kept. A removal of an id the catalog does not hold may be an occurrence of a
deleted series, or a cancelled one: then the calendar's events are listed once per round (ids and change keys
only, a page per thousand events) and only series that changed cost a read: those that are gone are ended, those
whose change key moved (a cancelled occurrence changes its master) are kept anew. An occurrence whose series master
cannot be read is a failed item (held, retried by id next run), never dropped.

The window: calendarView delta encodes startDateTime/endDateTime in its tokens, so a saved round chain never
moves (https://learn.microsoft.com/graph/delta-query-events). It is BACKUP_CALENDAR_PAST_DAYS back and
BACKUP_CALENDAR_FUTURE_DAYS ahead of the day the chain began, saved with the chain; once the window the settings
give today reaches a tenth of the look-ahead beyond the saved one, or starts earlier than it, a new full round with
today's window replaces the chain. That round ends only what it does not see and a read by id shows gone (events
that fell out of the window are kept). A series master's version stores the window its instances were listed in,
so a restore lists the new series' instances over that same window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.errors import GraphError, GraphNotFound
from core.graph.client import GraphClient
from core.storage.content_store import Spool
from core.storage.delta_state import DeltaState
from core.workloads.container_delta import (
    IMMUTABLE_IDS,
    Failed,
    Fetched,
    ItemKind,
    MailboxJob,
    anchor_of,
    graph_bool,
    is_gone,
)
from core.workloads.exchange.contacts_backup import canonical_json

EVENT = "event"
CALENDAR = "calendar"
PAST_DAYS, FUTURE_DAYS = 3650, 1825  # the default calendarView window: ten years back, five ahead
LIST_PAGE = "1000"  # events per page when a calendar's events are listed (ids and change keys only)
_FMT = "%Y-%m-%dT%H:%M:%SZ"


def window(now: datetime | None = None, past_days: int = PAST_DAYS, future_days: int = FUTURE_DAYS) -> dict[str, str]:
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "startDateTime": (day - timedelta(days=past_days)).strftime(_FMT),
        "endDateTime": (day + timedelta(days=future_days)).strftime(_FMT),
    }


def configured_window(job: MailboxJob) -> dict[str, str]:
    return window(past_days=job.settings.calendar_past_days, future_days=job.settings.calendar_future_days)


def needs_reanchor(saved: dict[str, str], today: dict[str, str], future_days: int) -> bool:
    """Whether a round chain begun over `saved` must give way to a new one over `today` (both calendarView windows):
    when today's reaches at least a tenth of the look-ahead (a day at least) further than the saved one, or starts
    earlier (the past was widened). An unreadable saved window is replaced."""
    try:
        saved_start, saved_end = (datetime.strptime(saved[k], _FMT) for k in ("startDateTime", "endDateTime"))
        start, end = (datetime.strptime(today[k], _FMT) for k in ("startDateTime", "endDateTime"))
    except (KeyError, TypeError, ValueError):
        return True
    return end - saved_end >= timedelta(days=max(1, future_days // 10)) or start < saved_start


def _reanchor(job: MailboxJob, state: DeltaState) -> str:
    saved, today = anchor_of(state), configured_window(job)
    if not needs_reanchor(saved, today, job.settings.calendar_future_days):
        return ""
    if not saved:
        return f"calendar window not recorded; moved to {today['startDateTime']}..{today['endDateTime']}"
    return (f"calendar window {saved.get('startDateTime')}..{saved.get('endDateTime')} moved to "
            f"{today['startDateTime']}..{today['endDateTime']}")  # fmt: skip


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


def _item_path(user: str, event_id: str) -> str:
    return f"users/{quote(user, safe='')}/events/{quote(event_id, safe='')}"


def _event_url(job: MailboxJob, event_id: str) -> str:
    return _item_path(job.user, event_id)


def _prepare(job: MailboxJob, calendar: Container, entries: list) -> list:
    masters: dict[str, dict | Exception] = job.scratch.setdefault("masters", {})
    out: list = []
    for entry in entries:
        if not isinstance(entry, dict):
            out.append(entry)
        elif "@removed" in entry:
            if entry.get("id") not in job.index:
                out.append(entry)
                out.extend(_refresh_masters(job, calendar))
            elif is_gone(job, entry["id"]):
                out.append(entry)
            # else: it moved out of the window (calendarView delta reports that as a removal): keep it
        elif entry.get("type") == "occurrence":
            master_id = entry.get("seriesMasterId")
            if not isinstance(master_id, str) or not master_id:
                error = GraphError(f"occurrence {entry.get('id')} names no series master")
                out.append(Failed(str(entry.get("id")), f"{calendar.path}: occurrence {entry.get('id')}", error))
            elif master_id not in masters:
                try:
                    masters[master_id] = job.graph.get_json(_event_url(job, master_id), headers=IMMUTABLE_IDS)
                except GraphError as exc:  # a 404 too: its occurrence is there, so the series is no deletion
                    masters[master_id] = exc
                found = masters[master_id]
                label = f"{calendar.path}: series master {master_id} of occurrence {entry.get('id')}"
                out.append(Failed(master_id, label, found) if isinstance(found, Exception) else found)
        else:
            out.append(entry)
    return out


def _refresh_masters(job: MailboxJob, calendar: Container) -> list:
    """After a removal of an id the catalog does not hold (an occurrence: cancelled, or its series deleted), list
    this calendar's events once per round (ids and change keys) and read only the series masters the catalog holds
    that changed: a gone one is removed, a changed one kept anew. Which live versions are series masters is read
    from the catalog (their metadata lists instances), not from Graph."""
    checked: set[str] = job.scratch.setdefault("checked", set())
    if calendar.id in checked:
        return []
    checked.add(calendar.id)
    url = f"users/{quote(job.user, safe='')}/calendars/{quote(calendar.id, safe='')}/events"
    params = {"$select": "id,changeKey,type", "$top": LIST_PAGE}
    listed = {e.get("id"): e for page in job.graph.iter_pages(url, params=params, headers=IMMUTABLE_IDS)
              for e in page}  # fmt: skip
    masters = job.scratch.get("masters", {})
    entries: list = []
    for version in job.catalog.as_of(job.resource, EVENT, job.run_id, folder_ids=[calendar.id]):
        item_id, known = version.item_id, job.index.get(version.item_id)
        if known is None or item_id in masters or '"instances"' not in version.extra:
            continue
        live = listed.get(item_id)
        if live is None:
            entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
        elif live.get("changeKey") != known.change_key:
            try:
                entries.append(job.graph.get_json(_event_url(job, item_id), headers=IMMUTABLE_IDS))
            except GraphNotFound:
                entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
            except GraphError as exc:
                entries.append(Failed(item_id, f"{calendar.path}: series master {item_id}", exc))
    return entries


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
            content_type = str(attachment.get("contentType") or "application/octet-stream")
            stored = store_content(job.content, job.report, spool, content_type)
        kept.append({k: attachment.get(k) for k in ("name", "contentType", "isInline")}
                    | {"sha256": stored.sha256, "size": stored.size})  # fmt: skip
    return kept


def _instances(job: MailboxJob, master_id: str, span: dict[str, str]) -> list[str]:
    url = f"{_event_url(job, master_id)}/instances"
    return sorted(
        str(i.get("originalStart") or (i.get("start") or {}).get("dateTime") or "")
        for page in job.graph.iter_pages(url, params={**span, "$select": "id,originalStart,start"})
        for i in page
    )


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    extra: dict[str, Any] = {}
    if entry.get("type") == "seriesMaster":
        span = {k: job.anchor[k] for k in ("startDateTime", "endDateTime") if k in job.anchor}
        span = span if len(span) == 2 else configured_window(job)
        extra["instances"] = _instances(job, entry["id"], span)
        extra["window"] = span  # a restore lists the new series' instances over the same window
    if entry.get("hasAttachments"):
        extra["attachments"] = _attachments(job, entry["id"])
    stored = store_content(job.content, job.report, canonical_json(entry), "application/json")
    return stored.sha256, stored.size, json.dumps(extra) if extra else ""


def _describe(entry: dict) -> dict[str, Any]:
    organizer = ((entry.get("organizer") or {}).get("emailAddress") or {}).get("address", "")
    return {
        "name": str(entry.get("subject") or "")[:1000],
        "sender": str(organizer or "")[:320],
        "received": str((entry.get("start") or {}).get("dateTime") or ""),
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "has_attachments": graph_bool(entry.get("hasAttachments"), "hasAttachments"),
    }


EVENT_KIND = ItemKind(
    category=EVENT,
    folder_category=CALENDAR,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    item_path=_item_path,
    params=configured_window,
    prepare=_prepare,
    reanchor=_reanchor,
    confirm_unseen=True,
)
