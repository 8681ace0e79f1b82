"""How the mailbox import/export API shows an archive store: its own folder and item ids (they differ from the Mail
API's: "Use folder IDs returned by the mailbox import and export folder APIs. Don't use IDs from the workload-specific
mail ... APIs", https://learn.microsoft.com/graph/work-with-archive-mailboxes), mailboxFolder and mailboxItem JSON
(https://learn.microsoft.com/graph/api/resources/mailboxfolder?view=graph-rest-beta, .../mailboxitem?view=
graph-rest-beta), and the export stream.

The stream: Exchange exports a FastTransfer stream, "not intended for parsing" ("mailbox: exportItems"); the
simulator's stream is its own serialization of the message (its MIME and what the MIME does not carry: read state,
flag, categories, importance, dates), behind a magic prefix, base64 in `data` as the docs show. Clients must treat
it as opaque; the import route is the only reader."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from graphsim.archive.store import Archive
from graphsim.errors import GraphError
from graphsim.ids import iso
from graphsim.mail.store import Folder, Message
from graphsim.tenant import User

MAGIC = b"GRAPHSIM-FTS/1\n"
INTERNET_MESSAGE_ID = "String 0x1035"  # PidTagInternetMessageId, a documented single-value extended property tag


def box_id(kind: str, mail_id: str) -> str:
    """The import/export API's id of a folder or item (`kind` 'folder' | 'item') the Mail API names `mail_id`."""
    digest = hashlib.sha256(f"mailbox-api:{kind}:{mail_id}".encode()).digest()[:15]
    return "EDS" + base64.b64encode(digest).decode("ascii").replace("/", "_").replace("+", "-")


def folder_by_box_id(store: User, folder_id: str) -> Folder | None:
    assert store.mailbox is not None
    return next((f for f in store.mailbox.folders.values() if box_id("folder", f.id) == folder_id), None)


def message_by_box_id(store: User, item_id: str) -> Message | None:
    assert store.mailbox is not None
    return next((m for m in store.mailbox.messages.values() if box_id("item", m.id) == item_id), None)


def folder_json(base: str, archive: Archive, store: User, folder: Folder) -> dict[str, Any]:
    """A mailboxFolder as the store listing it shows it; parentMailboxUrl names the store holding its content."""
    assert store.mailbox is not None
    holder = archive.holder(folder.id)
    parent = store.mailbox.folders.get(folder.parent_id or "")
    children = [f for f in store.mailbox.folders.values() if f.parent_id == folder.id]
    return {
        "id": box_id("folder", folder.id),
        "displayName": folder.display_name,
        "parentFolderId": box_id("folder", parent.id) if parent is not None else None,
        "childFolderCount": len(children),
        "totalItemCount": len(holder.mailbox.folders[folder.id].message_ids) if holder.mailbox else 0,
        "parentMailboxUrl": f"{base}/beta/admin/exchange/mailboxes/{holder.id}",
        "wellKnownName": None,
        "type": "IPF.Note",
    }


def item_json(message: Message, expand: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": box_id("item", message.id),
        "changeKey": message.change_key,
        "createdDateTime": iso(message.created),
        "lastModifiedDateTime": iso(message.modified),
        "size": len(message.mime),
        "type": "IPM.Note",
        "categories": list(message.categories),
    }
    if any(p.lower() == INTERNET_MESSAGE_ID.lower() for p in expand):
        item["singleValueExtendedProperties"] = [{"id": INTERNET_MESSAGE_ID, "value": message.internet_message_id}]
    return item


def export_stream(message: Message) -> str:
    """The message as the simulator's opaque stream, base64 (exportItemResponse.data)."""
    state = {
        "mime": base64.b64encode(message.mime).decode("ascii"),
        "isRead": message.is_read, "flag": message.flag, "categories": message.categories,
        "importance": message.importance, "sent": iso(message.sent), "received": iso(message.received),
        "created": iso(message.created),
    }  # fmt: skip
    return base64.b64encode(MAGIC + json.dumps(state, sort_keys=True).encode()).decode("ascii")


def read_stream(data: Any) -> dict[str, Any]:
    """What an import's `Data` holds; 400 ErrorInvalidRequest unless it is a stream this simulator exported."""
    try:
        raw = base64.b64decode(str(data), validate=True)
        if not raw.startswith(MAGIC):
            raise ValueError("not an export stream")
        state = json.loads(raw[len(MAGIC) :])
        state["mime"] = base64.b64decode(state["mime"], validate=True)
        for name in ("sent", "received", "created"):
            state[name] = dt.datetime.fromisoformat(str(state[name]).replace("Z", "+00:00"))
        return state
    except (ValueError, KeyError, TypeError):
        raise GraphError(400, "ErrorInvalidRequest", "Data is not a valid FastTransfer stream.") from None
