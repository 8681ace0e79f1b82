"""The Exchange mailbox import and export APIs on an in-place archive, as far as the archive's backup and restore use
them (Graph **beta**: archive mailboxes are a preview there, the v1.0 API covers primary and shared mailboxes; "Use
mailbox import and export APIs with archive mailboxes (preview)", https://learn.microsoft.com/graph/
work-with-archive-mailboxes). Global cloud only, and documented as "not designed for mailbox backup and restore":
this project uses it for the one thing nothing else does, writing a message into an archive as the owner had it.

- folders: `GET /admin/exchange/mailboxes/{id}/folders` and `.../folders/{id}/childFolders` (mailboxFolder,
  MailboxFolder.Read.All); their ids are this API's own, not the Mail API's, so folders are matched by path;
- items: `GET .../folders/{id}/items` with `$expand=singleValueExtendedProperties($filter=id eq 'String 0x1035')`
  (PidTagInternetMessageId; "mailboxItem resource type": extended properties by $expand, MailboxItem.Read.All):
  an archived message is matched to its item by internetMessageId;
- `POST .../exportItems` ("mailbox: exportItems", MailboxItem.Export.All or MailboxItem.ImportExport.All): at most
  20 item ids per call; each answer carries the opaque stream (`data`, base64) or an `error`. An item an auxiliary
  archive holds answers ErrorArchiveFolderMovedPermanently with the URL to export it from, asked again there;
- `POST .../createImportSession` ("mailbox: createImportSession", MailboxItem.ImportExport.All) gives a
  pre-authenticated `importUrl` (sent no Authorization header, never altered) and its `expirationDateTime`;
- `POST {importUrl}` {FolderId, Mode: "create", Data} ("Import an Exchange mailbox item", https://learn.microsoft.com/
  graph/import-exchange-mailbox-item) answers `itemId` and `changeKey`. A folder whose content lives in an
  auxiliary archive answers 409 naming the mailbox the session must be for ("Handle archive mailbox redirects",
  https://learn.microsoft.com/graph/handle-archive-mailbox-redirects, example 3): a refusal, nothing imported.

Folder and item reads of an expanded folder answer 308 to the auxiliary archive, which the Graph client follows on
Graph's own origin."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from core.errors import GraphConflict, GraphError, MalformedResponse
from core.graph.client import GraphClient

MAX_EXPORT_ITEMS = 20  # "You can export up to 20 items in a single export request."
INTERNET_MESSAGE_ID = "String 0x1035"  # PidTagInternetMessageId
MOVED = "ErrorArchiveFolderMovedPermanently"
_MAILBOX_IN_MESSAGE = re.compile(r"MBX:[^\s\"',]+")
SESSION_MARGIN = dt.timedelta(minutes=2)  # a session this close to its expiry is replaced before use


def mailbox_url(graph: GraphClient, mailbox_id: str) -> str:
    return f"{graph.endpoint}/beta/admin/exchange/mailboxes/{quote(mailbox_id, safe='')}"


def folder_paths(graph: GraphClient, mailbox_id: str) -> dict[str, str]:
    """Every folder of the mailbox by path ('Archive 2023/Projects') -> this API's folder id. Paths are built from
    `parentFolderId`, so whether `/folders` lists the top level or "all the mailboxFolder objects" (its page's
    words), the tree comes out the same; `childFolders` is asked only for a folder whose children are not listed."""
    base = mailbox_url(graph, mailbox_id)
    known: dict[str, dict] = {}

    def take(url: str) -> list[str]:
        added = []
        for page in graph.iter_pages(url):
            for folder in page:
                if not isinstance(folder, dict) or not isinstance(folder.get("id"), str):
                    raise MalformedResponse("mailbox folder without an id", url=url)
                if folder["id"] not in known:
                    known[folder["id"]] = folder
                    added.append(folder["id"])
        return added

    todo = take(f"{base}/folders")
    while todo:
        folder_id = todo.pop(0)
        listed = sum(1 for f in known.values() if f.get("parentFolderId") == folder_id)
        if int(known[folder_id].get("childFolderCount") or 0) > listed:
            todo += take(f"{base}/folders/{quote(folder_id, safe='')}/childFolders")
    out: dict[str, str] = {}
    for folder_id in known:
        names, current, seen = [], known.get(folder_id), set()
        while current is not None and current["id"] not in seen:
            seen.add(current["id"])
            names.append(str(current.get("displayName") or ""))
            current = known.get(str(current.get("parentFolderId") or ""))
        out.setdefault("/".join(reversed(names)), folder_id)
    return out


def items_by_message_id(graph: GraphClient, mailbox_id: str, folder_id: str) -> dict[str, str]:
    """internetMessageId -> this API's item id, for the items of one folder (an expanded folder's 308 followed)."""
    url = f"{mailbox_url(graph, mailbox_id)}/folders/{quote(folder_id, safe='')}/items"
    params = {"$select": "id,changeKey", "$top": "1000",
              "$expand": f"singleValueExtendedProperties($filter=id eq '{INTERNET_MESSAGE_ID}')"}  # fmt: skip
    out: dict[str, str] = {}
    for page in graph.iter_pages(url, params=params):
        for item in page:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            for prop in item.get("singleValueExtendedProperties") or []:
                if isinstance(prop, dict) and str(prop.get("id", "")).lower() == INTERNET_MESSAGE_ID.lower():
                    out.setdefault(str(prop.get("value") or ""), item["id"])
    out.pop("", None)
    return out


def _same_origin(graph: GraphClient, url: str) -> bool:
    a, b = urlsplit(url), urlsplit(graph.endpoint)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def export_items(graph: GraphClient, mailbox_id: str, item_ids: Iterable[str]) -> dict[str, bytes | str]:
    """Item id -> its export stream (bytes), or the reason it could not be exported (str). At most 20 ids per call;
    items an auxiliary archive holds are asked again at the URL the answer names (on Graph's origin only)."""
    out: dict[str, bytes | str] = {}
    pending: dict[str, list[str]] = {f"{mailbox_url(graph, mailbox_id)}/exportItems": list(dict.fromkeys(item_ids))}
    asked: set[str] = set()
    while pending:
        url, ids = pending.popitem()
        asked.add(url)
        for low in range(0, len(ids), MAX_EXPORT_ITEMS):
            batch = ids[low : low + MAX_EXPORT_ITEMS]
            answer = graph.post_json(url, {"itemIds": batch}, replay_safe=True)  # a read: asking again is harmless
            for entry in answer.get("value") or []:
                if not isinstance(entry, dict) or entry.get("itemId") not in batch:
                    continue
                item_id, error = str(entry["itemId"]), entry.get("error") or entry.get("Error")
                if isinstance(entry.get("data"), str) and not error:
                    try:
                        out[item_id] = base64.b64decode(entry["data"], validate=True)
                    except ValueError:
                        out[item_id] = "export stream is not base64"
                elif isinstance(error, dict) and error.get("code") == MOVED:
                    moved = str(error.get("message") or "")
                    if moved and moved not in asked and _same_origin(graph, moved):
                        pending.setdefault(moved, []).append(item_id)
                    else:
                        out[item_id] = f"{MOVED}: not asked again at {moved[:200]!r}"
                else:
                    code = error.get("code", "") if isinstance(error, dict) else ""
                    out[item_id] = f"export answered {code or 'no stream'}"
            waiting = {i for ids_left in pending.values() for i in ids_left}
            for item_id in batch:
                if item_id not in out and item_id not in waiting:
                    out[item_id] = "not in the export answer"
    return out


@dataclass
class ImportSession:
    mailbox_id: str
    url: str
    expires: dt.datetime | None


def create_import_session(graph: GraphClient, mailbox_id: str) -> ImportSession:
    """A new import session on the mailbox (a second one is harmless: the POST is replay-safe)."""
    url = f"{mailbox_url(graph, mailbox_id)}/createImportSession"
    answer = graph.post_json(url, {}, replay_safe=True)
    import_url = answer.get("importUrl")
    if not isinstance(import_url, str) or not import_url.startswith("https://"):
        raise MalformedResponse("createImportSession answered no https importUrl", url=url)
    try:
        expires = dt.datetime.fromisoformat(str(answer.get("expirationDateTime")).replace("Z", "+00:00")[:32])
    except ValueError:
        expires = None
    return ImportSession(mailbox_id, import_url, expires)


def usable(session: ImportSession | None, now: dt.datetime | None = None) -> bool:
    if session is None:
        return False
    if session.expires is None:
        return True
    expires = session.expires if session.expires.tzinfo else session.expires.replace(tzinfo=dt.UTC)
    return (now or dt.datetime.now(dt.UTC)) + SESSION_MARGIN < expires


def import_item(graph: GraphClient, session: ImportSession, folder_id: str, stream: bytes) -> dict:
    """Create one item from its export stream in `folder_id`: {"itemId", "changeKey"}. Not replayed after it may
    have reached Exchange (GraphAmbiguousWrite); a 409 naming another mailbox is GraphConflict with `location` set
    to that mailbox id (nothing was imported)."""
    body = {"FolderId": folder_id, "Mode": "create", "Data": base64.b64encode(stream).decode("ascii")}
    shown = session.url.split("?", 1)[0]  # errors never carry the session's token
    try:
        response = graph.request("POST", session.url, authenticated=False, replay_safe=False, json=body)
    except GraphError as exc:
        text = str(exc.args[0]) if exc.args else ""
        found = _MAILBOX_IN_MESSAGE.search(text) if isinstance(exc, GraphConflict) else None
        raise type(exc)(text.replace(session.url, shown), status=exc.status, code=exc.code, url=shown,
                        location=found.group(0).rstrip(".") if found else "") from None  # fmt: skip
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("itemId"), str):
        raise MalformedResponse("the import answered no itemId", url=shown)
    return answer
