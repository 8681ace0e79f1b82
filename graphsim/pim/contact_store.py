"""Contact folders and contacts of one user (the default Contacts folder, child folders), contact photos, and the
change log contact delta reads."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from graphsim.errors import GraphError
from graphsim.extended_properties import Properties
from graphsim.pim.common import ChangeLog, canonical_sha256, change_key, iso_z

EMPTY_ADDRESS: dict[str, Any] = {}
LIST_PROPS = ("emailAddresses", "businessPhones", "homePhones", "imAddresses", "children", "categories")
ADDRESS_PROPS = ("homeAddress", "businessAddress", "otherAddress")
TEXT_PROPS = ("displayName", "givenName", "surname", "middleName", "nickName", "title", "initials", "generation",
              "fileAs", "jobTitle", "companyName", "department", "officeLocation", "profession", "businessHomePage",
              "assistantName", "manager", "spouseName", "personalNotes", "mobilePhone", "yomiGivenName",
              "yomiSurname", "yomiCompanyName", "birthday")  # fmt: skip
PROPS = TEXT_PROPS + LIST_PROPS + ADDRESS_PROPS
ADDRESS_KEYS = ("street", "city", "state", "countryOrRegion", "postalCode")
FOLDERS = "contactFolders"  # the container id the change log files folder removals under


def normalize_contact_prop(name: str, value: Any) -> Any:
    if name not in PROPS:
        raise GraphError(400, "ErrorInvalidProperty", f"The property '{name}' does not exist on type "
                         "'Microsoft.OutlookServices.Contact'.")  # fmt: skip
    if name in ADDRESS_PROPS:
        value = value if isinstance(value, dict) else {}
        return {k: str(value[k]) for k in ADDRESS_KEYS if value.get(k)}
    if name == "emailAddresses":
        return [{"name": str(e.get("name") or e.get("address") or ""), "address": str(e.get("address") or "")}
                for e in value or [] if isinstance(e, dict)]  # fmt: skip
    if name in LIST_PROPS:
        return [str(v) for v in value or []]
    if name == "birthday" and value:
        try:
            return iso_z(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        except ValueError:
            raise GraphError(400, "ErrorInvalidRequest", "The birthday property is invalid.") from None
    return None if value is None else str(value)


def contact_props(body: dict[str, Any]) -> dict[str, Any]:
    """Every contact property, normalised, from a create body (unknown properties refused, OData ones ignored)."""
    props = {name: normalize_contact_prop(name, None) for name in PROPS}
    for name, value in body.items():
        if name.startswith("@") or name in ("id", "changeKey", "parentFolderId", "createdDateTime",
                                            "lastModifiedDateTime"):  # fmt: skip
            continue
        props[name] = normalize_contact_prop(name, value)
    if not props["displayName"]:
        props["displayName"] = " ".join(p for p in (props["givenName"], props["surname"]) if p) or None
    return props


@dataclass
class Photo:
    data: bytes
    content_type: str = "image/jpeg"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Contact:
    id: str
    folder_id: str
    props: dict[str, Any]
    created: dt.datetime
    modified: dt.datetime
    version: int = 1
    seq: int = 0
    arrived_seq: int = 0
    photo: Photo | None = None
    extended: Properties = field(default_factory=dict)  # single-value extended properties (not in its JSON)

    def to_json(self) -> dict[str, Any]:
        ck = change_key(self.id, self.version)
        body: dict[str, Any] = {"@odata.type": "#microsoft.graph.contact", "@odata.etag": f'W/"{ck}"', "id": self.id,
                                "createdDateTime": iso_z(self.created), "lastModifiedDateTime": iso_z(self.modified),
                                "changeKey": ck, "parentFolderId": self.folder_id}  # fmt: skip
        body.update(copy.deepcopy(self.props))
        return body

    def canonical(self) -> dict[str, Any]:
        return copy.deepcopy(self.props)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "folder_id": self.folder_id, "displayName": self.props["displayName"],
                "sha256": canonical_sha256(self.canonical()), "properties": self.canonical(),
                "photo_sha256": self.photo.sha256 if self.photo else None,
                "changeKey": change_key(self.id, self.version)}  # fmt: skip


@dataclass
class ContactFolder:
    id: str
    display_name: str
    parent_id: str
    well_known: str | None = None
    contact_ids: dict[str, None] = field(default_factory=dict)
    child_ids: list[str] = field(default_factory=list)
    seq: int = 0  # change sequence of its last change (made, renamed, moved): what contactFolder delta reads

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "displayName": self.display_name, "parentFolderId": self.parent_id}


class ContactStore:
    def __init__(self, root_id: str) -> None:
        self.root_id = root_id  # the mailbox's msgfolderroot: parent of the default folder and top-level folders
        self.folders: dict[str, ContactFolder] = {}
        self.contacts: dict[str, Contact] = {}
        self.default_id = ""
        self.log = ChangeLog()

    def add_folder(self, folder: ContactFolder) -> ContactFolder:
        folder.seq = self.log.next()
        self.folders[folder.id] = folder
        if folder.well_known == "contacts":
            self.default_id = folder.id
        if folder.parent_id in self.folders:
            self.folders[folder.parent_id].child_ids.append(folder.id)
        return folder

    def resolve_folder(self, ref: str) -> ContactFolder | None:
        if ref.lower() == "contacts":
            return self.folders.get(self.default_id)
        return self.folders.get(ref)

    def top_folders(self) -> list[ContactFolder]:
        """What GET /contactFolders lists: folders beside the default Contacts folder (not the default itself)."""
        return [f for f in self.folders.values() if f.parent_id == self.root_id and f.id != self.default_id]

    def tree(self) -> list[ContactFolder]:
        """Every contact folder of the mailbox (the default one first), parents before children."""
        out: list[ContactFolder] = []
        top = [f for f in self.folders.values() if f.parent_id == self.root_id]
        top.sort(key=lambda f: f.id != self.default_id)
        stack = [f.id for f in reversed(top)]
        while stack:
            folder = self.folders[stack.pop()]
            out.append(folder)
            stack.extend(reversed(folder.child_ids))
        return out

    def rename_folder(self, folder: ContactFolder, name: str) -> None:
        folder.display_name = name
        folder.seq = self.log.next()

    def delete_folder(self, folder: ContactFolder) -> None:
        """The folder, its child folders and their contacts, gone (each removal logged)."""
        for child_id in list(folder.child_ids):
            self.delete_folder(self.folders[child_id])
        for contact_id in list(folder.contact_ids):
            self.delete(self.contacts[contact_id])
        if folder.parent_id in self.folders:
            self.folders[folder.parent_id].child_ids.remove(folder.id)
        del self.folders[folder.id]
        self.log.remove(folder.id, FOLDERS)

    def folder_path(self, folder: ContactFolder) -> str:
        names: list[str] = []
        current: ContactFolder | None = folder
        while current is not None:
            names.append(current.display_name)
            current = self.folders.get(current.parent_id)
        return "/" + "/".join(reversed(names))

    def insert(self, contact: Contact) -> Contact:
        contact.seq = contact.arrived_seq = self.log.next()
        self.contacts[contact.id] = contact
        self.folders[contact.folder_id].contact_ids[contact.id] = None
        return contact

    def touch(self, contact: Contact, when: dt.datetime) -> None:
        contact.version += 1
        contact.modified = when
        contact.seq = self.log.next()

    def delete(self, contact: Contact) -> None:
        self.folders[contact.folder_id].contact_ids.pop(contact.id, None)
        self.contacts.pop(contact.id, None)
        self.log.remove(contact.id, contact.folder_id)
