"""A user's in-place archive as the beta Mail API shows it ("Use Mail APIs with Exchange archive mailboxes",
https://learn.microsoft.com/graph/archive-mailbox-mail-api; "Handle archive mailbox redirects",
https://learn.microsoft.com/graph/handle-archive-mailbox-redirects): a main archive mailbox holding the whole folder
tree, and optionally one auxiliary archive (auto-expanding archive) holding the content of some folders of it
("expanded folders"), each a graphsim.mail.store.Mailbox of its own with an id of the form `MBX:<guid>@<tenant>`.

An expanded folder keeps its id in both: the main archive lists it in the tree, the auxiliary archive holds its
messages (the redirect page's example keeps the folder id and changes only the mailbox id in `Location`). Each store
is reached through a stand-in `User` whose id is the store's MBX id: the mail routes serve it as they serve a
primary mailbox, and it is never one of the tenant's users, so the v1.0 routes do not find it (the v1.0 mail API
"does not support accessing in-place archive mailboxes", https://learn.microsoft.com/graph/api/resources/mail-api-overview)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from graphsim.mail.store import Folder, Mailbox
from graphsim.tenant import Tenant, User


def mailbox_id(tenant: Tenant, seed: int, owner: str, role: str) -> str:
    """A deterministic `MBX:<guid>@<tenant id>` (the shape exchangeSettings shows) of a user's mailbox `role`
    ('primary', 'archive', 'auxiliary')."""
    guid = uuid.uuid5(uuid.NAMESPACE_URL, f"graphsim-mbx:{seed}:{owner}:{role}")
    return f"MBX:{guid}@{tenant.tenant_id}"


@dataclass
class Archive:
    owner: str  # the user id
    main: User  # stand-in user: id = the main archive's MBX id, mailbox = its store
    auxiliary: User | None = None  # stand-in of the auxiliary archive, if the archive has expanded
    expanded: set[str] = field(default_factory=set)  # ids of the main archive's folders whose content is auxiliary
    # the mailbox import/export surface's state (graphsim/mailbox_import/): messages whose export fails (by Mail API
    # id, set through the control API) and the open import sessions (token -> (MBX id of the store, expiry epoch))
    export_failures: set[str] = field(default_factory=set)
    import_sessions: dict[str, tuple[str, float]] = field(default_factory=dict)

    def store_of(self, mbx: str) -> User | None:
        for store in (self.main, self.auxiliary):
            if store is not None and store.id.lower() == mbx.lower():
                return store
        return None

    def holder(self, folder_id: str) -> User:
        """The store that holds a folder's messages."""
        if folder_id in self.expanded and self.auxiliary is not None:
            return self.auxiliary
        return self.main

    def folder_of_message(self, message_id: str) -> tuple[User, Folder] | None:
        for store in (self.main, self.auxiliary):
            box = store.mailbox if store is not None else None
            if box is not None and message_id in box.messages:
                return store, box.folders[box.messages[message_id].folder_id]  # type: ignore[union-attr]
        return None

    def path_of(self, folder_id: str) -> str:
        box = self.main.mailbox
        assert box is not None
        return box.folder_path(box.folders[folder_id])

    def folder_by_path(self, path: str) -> Folder | None:
        box = self.main.mailbox
        assert box is not None
        wanted = "/" + path.strip("/")
        return next((f for f in box.folders.values() if f.parent_id and box.folder_path(f) == wanted), None)


def archive_of(user: User) -> Archive | None:
    archive = getattr(user, "archive", None)
    return archive if isinstance(archive, Archive) else None


def find_store(tenant: Tenant, mbx: str) -> tuple[Archive, User] | None:
    """(archive, stand-in user of the store) an MBX id names, if it is an archive's (main or auxiliary)."""
    for user in tenant.users.values():
        archive = archive_of(user)
        store = archive.store_of(mbx) if archive is not None else None
        if archive is not None and store is not None:
            return archive, store
    return None


def new_store(tenant: Tenant, seed: int, owner: User, role: str) -> User:
    """A stand-in user for one archive store, with its root folder (well-known `msgfolderroot`, which the mail
    routes need to list top folders; the archive routes refuse well-known names in requests)."""
    mbx = mailbox_id(tenant, seed, owner.id, role)
    box = Mailbox()
    root_id = "AAMkAR" + uuid.uuid5(uuid.NAMESPACE_URL, f"{mbx}:root").hex
    box.add_folder(Folder(root_id, "Top of Information Store", None, well_known="msgfolderroot"))
    return User(mbx, f"In-Place Archive - {owner.display_name}", owner.user_principal_name, owner.mail, mailbox=box)
