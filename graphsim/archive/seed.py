"""Deterministic archives: every licensed user (userPurpose 'user', with a mailbox) gets an in-place archive with a
small tree, "Archive 2023" and "Archive 2023/Projects", and `messages` archived messages spread over it; with two or
more, the archive has auto-expanded: "Projects" is an expanded folder whose messages an auxiliary archive holds
(https://learn.microsoft.com/graph/handle-archive-mailbox-redirects). 0 = no archives."""

from __future__ import annotations

import datetime as dt
import random

from graphsim.archive.store import Archive, new_store
from graphsim.ids import opaque_id
from graphsim.mail.mime import Address
from graphsim.mail.seed import EXTERNAL, _attachment, make_spec, message_from_spec
from graphsim.mail.store import Folder
from graphsim.tenant import Tenant, User

ARCHIVE_TREE = (("Archive 2023", None), ("Projects", "Archive 2023"))
ARCHIVE_DATE = dt.datetime(2023, 6, 1, 9, 0, 0, tzinfo=dt.UTC)


def seed_archives(tenant: Tenant, seed: int, messages: int) -> None:
    if messages <= 0:
        return
    for user in tenant.users.values():
        if user.purpose == "user" and user.mailbox is not None:
            user.archive = seed_archive(tenant, seed, user, messages)


def add_folder(store: User, folder_id: str, name: str, parent_id: str) -> Folder:
    assert store.mailbox is not None
    return store.mailbox.add_folder(Folder(folder_id, name, parent_id))


def seed_archive(tenant: Tenant, seed: int, user: User, messages: int) -> Archive:
    archive = Archive(user.id, new_store(tenant, seed, user, "archive"))
    main = archive.main.mailbox
    assert main is not None
    ids: dict[str, str] = {}
    for name, parent in ARCHIVE_TREE:
        fid = opaque_id("AAMkAF", seed, user.id, "archive", name)
        add_folder(archive.main, fid, name, ids[parent] if parent else main.root().id)
        ids[name] = fid
    if messages >= 2:  # auto-expanded: the content of "Projects" lives in an auxiliary archive
        archive.auxiliary = new_store(tenant, seed, user, "auxiliary")
        assert archive.auxiliary.mailbox is not None
        add_folder(archive.auxiliary, ids["Projects"], "Projects", archive.auxiliary.mailbox.root().id)
        archive.expanded.add(ids["Projects"])
    me: Address = (user.display_name, user.mail or "")
    for k in range(messages):
        rng = random.Random(f"archived:{seed}:{user.id}:{k}")
        folder_id = ids["Archive 2023"] if k % 2 == 0 else ids["Projects"]
        date = ARCHIVE_DATE + dt.timedelta(days=3 * k, minutes=rng.randint(0, 600))
        imid = f"<archived.{seed}.{k}.{rng.getrandbits(32):08x}@mail.example>"
        spec = make_spec(rng, rng.choice(EXTERNAL), [me], date, imid)
        if k == 0 and not spec.attachments:  # the first one always has an attachment
            spec.attachments = [_attachment(rng, 2048)]
        message = message_from_spec(spec, opaque_id("AAMkAR", seed, user.id, "archived", k), folder_id, read=k != 1)
        store = archive.holder(folder_id).mailbox
        assert store is not None
        store.insert(message)
    return archive
