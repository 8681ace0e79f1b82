"""In-memory mailboxes: folders, messages and the per-mailbox change log that message delta reads."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from graphsim.ids import iso, opaque_id
from graphsim.mail.mime import Address

WELL_KNOWN = {
    "msgfolderroot": "Top of Information Store",
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "drafts": "Drafts",
    "archive": "Archive",
    "junkemail": "Junk Email",
}


def _recipient(addr: Address) -> dict[str, Any]:
    return {"emailAddress": {"name": addr[0] or addr[1], "address": addr[1]}}


@dataclass
class Folder:
    id: str
    display_name: str
    parent_id: str | None
    well_known: str | None = None
    is_hidden: bool = False
    message_ids: dict[str, None] = field(default_factory=dict)  # ordered set
    child_ids: list[str] = field(default_factory=list)
    seq: int = 0  # mailbox change sequence of its last change (made, renamed, moved): what mailFolder delta reads


@dataclass
class Message:
    id: str
    folder_id: str
    raw: bytes | None  # MIME bytes; None until first use when `spec` renders them (fast seeding)
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    sent: dt.datetime
    received: dt.datetime
    created: dt.datetime
    modified: dt.datetime
    internet_message_id: str
    has_attachments: bool
    body: str
    body_type: str = "text"
    importance: str = "normal"
    is_read: bool = False
    is_draft: bool = False
    categories: list[str] = field(default_factory=list)
    flag: dict[str, Any] = field(default_factory=lambda: {"flagStatus": "notFlagged"})
    version: int = 1
    seq: int = 0  # mailbox change sequence of the last change (or arrival in its folder)
    arrived_seq: int = 0  # sequence when it arrived in its current folder
    spec: Any = None  # a graphsim.mail.mime.MessageSpec that renders `raw` on first use
    sender_header: Address | None = None  # `sender` when it differs from `from` (sent on behalf)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    extended: dict[str, tuple[str, str]] = field(default_factory=dict)  # graphsim.extended_properties.Properties
    _sha256: str | None = None

    @property
    def mime(self) -> bytes:
        if self.raw is None:
            from graphsim.mail.mime import render_mime

            self.raw = render_mime(self.spec)
            self.spec = None
        return self.raw

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.mime).hexdigest()
        return self._sha256

    def set_mime(self, mime: bytes) -> None:
        self.raw, self.spec = mime, None
        self._sha256 = None

    @property
    def change_key(self) -> str:
        digest = hashlib.sha1(f"{self.id}:{self.version}".encode()).digest()
        return "CQAAABYAAAA" + base64.b64encode(digest).decode("ascii")

    def to_json(self) -> dict[str, Any]:
        preview = " ".join(self.body.split())[:255]
        sender = _recipient(self.sender) if self.sender else None
        on_behalf = _recipient(self.sender_header) if self.sender_header else sender
        return {
            "@odata.type": "#microsoft.graph.message",
            "@odata.etag": f'W/"{self.change_key}"',
            "id": self.id,
            "createdDateTime": iso(self.created),
            "lastModifiedDateTime": iso(self.modified),
            "changeKey": self.change_key,
            "categories": list(self.categories),
            "receivedDateTime": iso(self.received),
            "sentDateTime": iso(self.sent),
            "hasAttachments": self.has_attachments,
            "internetMessageId": self.internet_message_id or None,
            "subject": self.subject,
            "bodyPreview": preview,
            "importance": self.importance,
            "parentFolderId": self.folder_id,
            "conversationId": opaque_id("AAQkA", self.subject.removeprefix("RE: ")),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": self.is_read,
            "isDraft": self.is_draft,
            "body": {"contentType": self.body_type, "content": self.body},
            "sender": on_behalf,
            "from": sender,
            "toRecipients": [_recipient(a) for a in self.to],
            "ccRecipients": [_recipient(a) for a in self.cc],
            "bccRecipients": [_recipient(a) for a in self.bcc],
            "replyTo": [_recipient(a) for a in self.reply_to],
            "flag": dict(self.flag),
        }


@dataclass
class Departure:
    seq: int
    message_id: str
    folder_id: str


@dataclass
class Mailbox:
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    well_known: dict[str, str] = field(default_factory=dict)  # well-known name -> folder id
    seq: int = 0
    departures: list[Departure] = field(default_factory=list)
    token_epoch: int = 0
    folder_removals: list[Departure] = field(default_factory=list)  # deleted folders (message_id: the folder's id)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def resolve_folder(self, ref: str) -> Folder | None:
        folder = self.folders.get(ref)
        if folder is None:
            fid = self.well_known.get(ref.lower())
            folder = self.folders.get(fid) if fid else None
        return folder

    def root(self) -> Folder:
        return self.folders[self.well_known["msgfolderroot"]]

    def add_folder(self, folder: Folder) -> Folder:
        folder.seq = self.next_seq()
        self.folders[folder.id] = folder
        if folder.well_known:
            self.well_known[folder.well_known] = folder.id
        if folder.parent_id:
            self.folders[folder.parent_id].child_ids.append(folder.id)
        return folder

    def tree(self) -> list[Folder]:
        """Every folder below the root (hidden ones too), parents before children."""
        out: list[Folder] = []
        stack = list(reversed(self.root().child_ids))
        while stack:
            folder = self.folders[stack.pop()]
            out.append(folder)
            stack.extend(reversed(folder.child_ids))
        return out

    def rename_folder(self, folder: Folder, name: str) -> None:
        folder.display_name = name
        folder.seq = self.next_seq()

    def move_folder(self, folder: Folder, parent: Folder) -> None:
        if folder.parent_id == parent.id:
            return
        if folder.parent_id:
            self.folders[folder.parent_id].child_ids.remove(folder.id)
        folder.parent_id = parent.id
        parent.child_ids.append(folder.id)
        folder.seq = self.next_seq()

    def delete_folder(self, folder: Folder) -> None:
        """The folder, its child folders and every message in them, gone (each departure logged)."""
        for child_id in list(folder.child_ids):
            self.delete_folder(self.folders[child_id])
        for message_id in list(folder.message_ids):
            self.delete(self.messages[message_id])
        if folder.parent_id:
            self.folders[folder.parent_id].child_ids.remove(folder.id)
        del self.folders[folder.id]
        if folder.well_known:
            self.well_known.pop(folder.well_known, None)
        self.folder_removals.append(Departure(self.next_seq(), folder.id, folder.parent_id or ""))

    def folder_path(self, folder: Folder) -> str:
        names: list[str] = []
        current: Folder | None = folder
        while current is not None and current.parent_id is not None:
            names.append(current.display_name)
            current = self.folders.get(current.parent_id)
        return "/" + "/".join(reversed(names))

    def folder_json(self, folder: Folder) -> dict[str, Any]:
        unread = sum(1 for mid in folder.message_ids if not self.messages[mid].is_read)
        return {
            "id": folder.id,
            "displayName": folder.display_name,
            "parentFolderId": folder.parent_id or "",
            "childFolderCount": len(folder.child_ids),
            "unreadItemCount": unread,
            "totalItemCount": len(folder.message_ids),
            "sizeInBytes": sum(len(self.messages[mid].mime) for mid in folder.message_ids),
            "isHidden": folder.is_hidden,
        }

    # --- changes (each one takes a new sequence number) ---
    def insert(self, message: Message) -> Message:
        seq = self.next_seq()
        message.seq = message.arrived_seq = seq
        self.messages[message.id] = message
        self.folders[message.folder_id].message_ids[message.id] = None
        return message

    def touch(self, message: Message, when: dt.datetime) -> None:
        message.version += 1
        message.modified = when
        message.seq = self.next_seq()

    def move(self, message: Message, destination: Folder, when: dt.datetime) -> None:
        if destination.id == message.folder_id:
            return
        source = self.folders[message.folder_id]
        source.message_ids.pop(message.id, None)
        self.departures.append(Departure(self.next_seq(), message.id, source.id))
        message.folder_id = destination.id
        destination.message_ids[message.id] = None
        self.touch(message, when)
        message.arrived_seq = message.seq

    def delete(self, message: Message) -> None:
        self.folders[message.folder_id].message_ids.pop(message.id, None)
        self.departures.append(Departure(self.next_seq(), message.id, message.folder_id))
        del self.messages[message.id]

    def departures_since(self, watermark: int, folder_id: str) -> list[Departure]:
        start = bisect.bisect_right([d.seq for d in self.departures], watermark)
        return [d for d in self.departures[start:] if d.folder_id == folder_id]
