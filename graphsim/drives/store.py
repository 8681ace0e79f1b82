"""Drives (OneDrives and document libraries), sites, drive items with content versions, permissions, and the
per-drive change sequence that drive delta reads."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from graphsim.drives.content import Content
from graphsim.ids import iso

LAZY_HASH_LIMIT = 16 << 20  # bigger generated files get their hashes computed when added, off the event loop


def item_id(*parts: object) -> str:
    """An OneDrive-for-Business-looking item id: 34 characters of base32 starting with '01'."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return "01" + base64.b32encode(digest).decode("ascii")[:32]


def drive_id(*parts: object) -> str:
    """'b!' + base64url of 48 bytes, like a SharePoint drive id."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return "b!" + base64.urlsafe_b64encode(digest + digest[:16]).decode("ascii").rstrip("=")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Identity:
    id: str
    display_name: str
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"displayName": self.display_name, "id": self.id}
        if self.email:
            user["email"] = self.email
        return {"user": user}


@dataclass
class Item:
    id: str
    name: str
    parent_id: str | None  # None only for the root
    folder: bool
    created: dt.datetime
    modified: dt.datetime
    created_by: Identity
    modified_by: Identity
    content: Content | None = None  # files only
    mime_type: str = "application/octet-stream"
    fs_created: dt.datetime | None = None
    fs_modified: dt.datetime | None = None
    version: int = 1  # bumps on any change (eTag)
    content_version: int = 1  # bumps on content change (cTag)
    seq: int = 0  # drive change sequence of the last change
    sharing_seq: int = 0  # drive change sequence of the last sharing (permission) change
    deleted: bool = False
    children: dict[str, None] = field(default_factory=dict)  # ordered set of child ids
    permissions: list[dict[str, Any]] = field(default_factory=list)
    # What the listing (item JSON, delta) says when it disagrees with the bytes /content serves: a size off by
    # this many bytes, or a quickXorHash that is not the content's. The driveItem resource documents `size` and
    # `file.hashes` as those of the content (https://learn.microsoft.com/graph/api/resources/driveitem), yet
    # OneDrive for Business reports both wrong for some Office, PDF and OneNote files, for good until the file is
    # edited again (OneDrive/onedrive-api-docs issues 492, 927, 1066).
    listed_size_delta: int = 0
    listed_hash_wrong: bool = False


@dataclass
class Site:
    id: str  # "hostname,siteCollectionId,webId"
    name: str
    display_name: str
    web_url: str
    created: dt.datetime
    drive_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        host, collection, web = self.id.split(",")
        return {
            "createdDateTime": iso(self.created),
            "description": f"{self.display_name} team site",
            "id": self.id,
            "lastModifiedDateTime": iso(self.created),
            "name": self.name,
            "webUrl": self.web_url,
            "displayName": self.display_name,
            "root": {},
            "siteCollection": {"hostname": host},
            "isPersonalSite": False,
        } | {"sharepointIds": {"siteId": collection, "webId": web, "siteUrl": self.web_url}}


class Drive:
    def __init__(
        self,
        id: str,
        name: str,
        drive_type: str,
        web_url: str,
        owner: Identity,
        created: dt.datetime,
        owner_kind: str,
        owner_id: str,
    ) -> None:
        self.id, self.name, self.drive_type, self.web_url = id, name, drive_type, web_url
        self.owner, self.created = owner, created
        self.owner_kind, self.owner_id = owner_kind, owner_id  # "user" | "site", and its id
        self.items: dict[str, Item] = {}
        self.seq = 0
        self.token_epoch = 0
        self.resync_code = "resyncChangesApplyDifferences"
        self._counter = itertools.count(1)
        root = Item(item_id(id, "root"), "root", None, True, created, created, owner, owner)
        self.root_id = root.id
        self.items[root.id] = root

    # --- reading ---
    @property
    def root(self) -> Item:
        return self.items[self.root_id]

    def get(self, iid: str) -> Item | None:
        item = self.items.get(iid)
        return item if item is not None and not item.deleted else None

    def live_children(self, item: Item) -> list[Item]:
        return [self.items[c] for c in item.children if not self.items[c].deleted]

    def child_named(self, parent: Item, name: str) -> Item | None:
        lowered = name.lower()
        return next((c for c in self.live_children(parent) if c.name.lower() == lowered), None)

    def path_of(self, item: Item) -> str:
        """'/drive/root:' for the root's children, '/drive/root:/A/B' below (the parentReference.path form)."""
        names: list[str] = []
        current = item
        while current.parent_id is not None:
            names.append(current.name)
            current = self.items[current.parent_id]
        return "/" + "/".join(reversed(names))

    def walk(self, start: Item | None = None) -> list[Item]:
        """Live items, parents before children (depth-first, children in insertion order)."""
        out: list[Item] = []
        stack = [start or self.root]
        while stack:
            item = stack.pop()
            out.append(item)
            stack.extend(reversed(self.live_children(item)))
        return out

    def size_of(self, item: Item) -> int:
        if not item.folder:
            return item.content.size if item.content else 0
        return sum(self.size_of(c) for c in self.live_children(item))

    def quota_used(self) -> int:
        return sum(i.content.size for i in self.items.values() if not i.deleted and i.content)

    # --- changes (each takes a new sequence number) ---
    def _touch(self, item: Item, when: dt.datetime | None = None, by: Identity | None = None) -> None:
        self.seq += 1
        item.seq = self.seq
        item.version += 1
        item.modified = when or now()
        if by is not None:
            item.modified_by = by

    def add(
        self,
        parent: Item,
        name: str,
        folder: bool,
        content: Content | None = None,
        by: Identity | None = None,
        when: dt.datetime | None = None,
        iid: str | None = None,
        mime_type: str | None = None,
    ) -> Item:
        when = when or now()
        who = by or self.owner
        iid = iid or item_id(self.id, "item", next(self._counter), name)
        item = Item(
            iid, name, parent.id, folder, when, when, who, who, content=content, mime_type=mime_type or guess_mime(name)
        )
        self.seq += 1
        item.seq = self.seq
        self.items[iid] = item
        parent.children[iid] = None
        return item

    def set_content(self, item: Item, content: Content, by: Identity | None = None) -> None:
        item.content = content
        item.content_version += 1
        self._touch(item, by=by)

    def rename(self, item: Item, name: str) -> None:
        item.name = name
        item.mime_type = guess_mime(name) if not item.folder else item.mime_type
        self._touch(item)

    def move(self, item: Item, new_parent: Item, name: str | None = None) -> None:
        if item.parent_id is not None:
            self.items[item.parent_id].children.pop(item.id, None)
        item.parent_id = new_parent.id
        new_parent.children[item.id] = None
        if name:
            item.name = name
        self._touch(item)

    def delete(self, item: Item) -> list[Item]:
        """Delete an item and everything below it; returns what was deleted (tombstones stay for delta)."""
        gone = self.walk(item)
        for each in gone:
            each.deleted = True
            self.seq += 1
            each.seq = self.seq
        return gone

    def set_permissions(self, item: Item, permissions: list[dict[str, Any]]) -> None:
        """A sharing change: the item appears in the next delta round (flagged `@microsoft.graph.sharedChanged`
        for a client that asks with `Prefer: deltashowsharingchanges`, see "Scanning permissions hierarchies" in
        https://learn.microsoft.com/graph/api/driveitem-delta). Its eTag and cTag stay: content and metadata did
        not change, only who may see it."""
        item.permissions = list(permissions)
        self.seq += 1
        item.seq = item.sharing_seq = self.seq

    def set_fs_info(self, item: Item, created: dt.datetime | None, modified: dt.datetime | None) -> None:
        if created is not None:
            item.fs_created = created
        if modified is not None:
            item.fs_modified = modified
        self._touch(item)

    # --- JSON ---
    def etag(self, item: Item) -> str:
        guid = str(uuid.UUID(bytes=hashlib.md5(item.id.encode()).digest())).upper()
        return f'"{{{guid}}},{item.version}"'

    def ctag(self, item: Item) -> str:
        guid = str(uuid.UUID(bytes=hashlib.md5(item.id.encode()).digest())).upper()
        return f'"c:{{{guid}}},{item.content_version}"'

    def parent_reference(self, item: Item, with_path: bool) -> dict[str, Any]:
        ref: dict[str, Any] = {"driveType": self.drive_type, "driveId": self.id}
        if item.parent_id is None:
            return ref
        parent = self.items[item.parent_id]
        ref["id"] = parent.id
        if with_path:
            ref["name"] = parent.name if parent.parent_id is not None else self.name
            ref["path"] = "/drive/root:" + (self.path_of(parent) if parent.parent_id is not None else "")
        return ref

    def item_json(self, item: Item, with_path: bool = True, base_url: str = "") -> dict[str, Any]:
        if item.deleted:
            out = {
                "@odata.type": "#microsoft.graph.driveItem",
                "id": item.id,
                "parentReference": self.parent_reference(item, False),
                "deleted": {"state": "deleted"},
            }
            if item.folder:
                out["folder"] = {"childCount": 0}
            else:
                out["file"] = {}
            return out
        web = self.web_url + quote(self.path_of(item)) if item.parent_id is not None else self.web_url
        out = {
            "@odata.type": "#microsoft.graph.driveItem",
            "createdDateTime": iso(item.created),
            "eTag": self.etag(item),
            "id": item.id,
            "lastModifiedDateTime": iso(item.modified),
            "name": item.name if item.parent_id is not None else "root",
            "webUrl": web,
            "cTag": self.ctag(item),
            "size": self.size_of(item) + item.listed_size_delta,
            "createdBy": item.created_by.to_json(),
            "lastModifiedBy": item.modified_by.to_json(),
            "parentReference": self.parent_reference(item, with_path),
            "fileSystemInfo": {
                "createdDateTime": iso(item.fs_created or item.created),
                "lastModifiedDateTime": iso(item.fs_modified or item.modified),
            },
        }
        if item.parent_id is None:
            out["root"] = {}
        if item.folder:
            out["folder"] = {"childCount": len(self.live_children(item))}
        else:
            assert item.content is not None
            if item.content.quick_xor is None and item.content.size <= LAZY_HASH_LIMIT:
                item.content.ensure_hashes()
            file: dict[str, Any] = {"mimeType": item.mime_type}
            if item.content.quick_xor is not None:
                quick_xor = item.content.quick_xor
                if item.listed_hash_wrong:  # a hash of other bytes, same shape
                    quick_xor = base64.b64encode(hashlib.sha1(quick_xor.encode()).digest()).decode("ascii")
                file["hashes"] = {"quickXorHash": quick_xor}
            out["file"] = file
        if item.permissions and item.parent_id is not None:
            out["shared"] = {"scope": _shared_scope(item.permissions)}
        return out


def _shared_scope(permissions: list[dict[str, Any]]) -> str:
    scopes = [p.get("link", {}).get("scope") for p in permissions if "link" in p]
    if "anonymous" in scopes:
        return "anonymous"
    return "organization" if "organization" in scopes else "users"


MIME = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".zip": "application/zip",
    ".json": "application/json",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def guess_mime(name: str) -> str:
    dot = name.rfind(".")
    return MIME.get(name[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"


@dataclass
class DriveStore:
    drives: dict[str, Drive] = field(default_factory=dict)
    user_drives: dict[str, str] = field(default_factory=dict)  # user id -> drive id
    sites: dict[str, Site] = field(default_factory=dict)
    global_epoch: int = 0

    def add_drive(self, drive: Drive) -> Drive:
        self.drives[drive.id] = drive
        if drive.owner_kind == "user":
            self.user_drives[drive.owner_id] = drive.id
        else:
            self.sites[drive.owner_id].drive_ids.append(drive.id)
        return drive

    def remove_drive(self, drive: Drive) -> None:
        """A document library deleted (or a OneDrive removed with its user): gone from its site's drive list, and
        /drives/{id} answers 404 from now on."""
        self.drives.pop(drive.id, None)
        if drive.owner_kind == "user":
            if self.user_drives.get(drive.owner_id) == drive.id:
                del self.user_drives[drive.owner_id]
        elif drive.owner_id in self.sites:
            self.sites[drive.owner_id].drive_ids.remove(drive.id)

    def drive_json(self, drive: Drive) -> dict[str, Any]:
        used = drive.quota_used()
        total = 1 << 40
        out: dict[str, Any] = {
            "createdDateTime": iso(drive.created),
            "description": "" if drive.owner_kind == "user" else f"{drive.name} library",
            "id": drive.id,
            "lastModifiedDateTime": iso(drive.created),
            "name": drive.name,
            "webUrl": drive.web_url,
            "driveType": drive.drive_type,
            "createdBy": {"user": {"displayName": "System Account"}},
            "owner": drive.owner.to_json()
            if drive.owner_kind == "user"
            else {"group": {"id": drive.owner.id, "displayName": drive.owner.display_name}},
            "quota": {"deleted": 0, "remaining": total - used, "state": "normal", "total": total, "used": used},
        }
        return out
