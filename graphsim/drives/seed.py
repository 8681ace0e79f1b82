"""Deterministic OneDrives and SharePoint sites: nested folders, awkward names, files shared across drives, a few
sharing links and grants. The same --seed, --drive-files and --sites give the same ids and bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from typing import Any

from graphsim.drives.content import Content, quick_xor_hash
from graphsim.drives.store import Drive, DriveStore, Identity, Item, Site, drive_id, item_id
from graphsim.tenant import Tenant

HOST = "simtenant.sharepoint.com"
MY_HOST = "simtenant-my.sharepoint.com"
BASE = dt.datetime(2025, 11, 3, 8, 30, 0, tzinfo=dt.UTC)
LONG = "A folder name that is deliberately rather long to test path limits"
FOLDERS = [
    "Documents",
    "Documents/Projects 2026",
    "Documents/Projects 2026/Q1 #1 (draft)",
    "Photos",
    "Notes & Ideas 100%",
    "Ünïcödé — 文件夹",
    f"{LONG}/{LONG} 2/{LONG} 3/{LONG} 4",
]
STEMS = [
    "Report",
    "Budget #7",
    "résumé ñandú",
    "Meeting notes 50%",
    "日本語のファイル",
    "Plan v2 (final)",
    "Invoice 2026-03",
    "données été",
    "Roadmap",
    "a+b=c & d",
    "Προσφορά",
    "spaces  in  name",
]
EXTS = [".docx", ".xlsx", ".pdf", ".txt", ".pptx", ".png", ".csv", ".md"]
SHARED = [("Company Handbook.pdf", 180_000), ("Logo.png", 24_000)]  # identical bytes in every drive (dedup)
LIBRARIES = [("Documents", "Shared Documents"), ("Project Files", "Project Files")]
SITE_NAMES = ["Marketing", "Engineering Hub", "Finance & Legal", "Sales EMEA", "HR Portal", "Operations"]


def seeded_content(key: str, size: int) -> Content:
    return Content(size, key=key)  # hashes computed when first shown


def _ensure_folder(drive: Drive, path: str, who: Identity, when: dt.datetime) -> Item:
    current = drive.root
    for name in path.split("/"):
        child = drive.child_named(current, name)
        current = child or drive.add(
            current, name, True, by=who, when=when, iid=item_id(drive.id, "folder", path, name)
        )
    return current


def populate(drive: Drive, seed: int, files: int, people: list[Identity], rng: random.Random) -> None:
    owner = drive.owner
    folders = [drive.root] + [_ensure_folder(drive, p, owner, BASE) for p in FOLDERS]
    for name, size in SHARED:
        drive.add(
            drive.root,
            name,
            False,
            seeded_content(f"shared:{seed}:{name}", size),
            by=owner,
            when=BASE,
            iid=item_id(drive.id, "shared", name),
        )
    for k in range(files):
        parent = folders[k % len(folders)]
        stem = STEMS[k % len(STEMS)]
        name = f"{stem} {k}{EXTS[k % len(EXTS)]}"
        size = rng.choice([0, 1, 3_000, 40_000, 150_000, 700_000]) if k % 5 == 4 else rng.randint(200, 60_000)
        size = min(size, 8192) if files > 500 else size  # big drives (10,000 items) stay quick to enumerate
        when = BASE + dt.timedelta(hours=3 * k, minutes=rng.randint(0, 59))
        who = people[k % len(people)] if people else owner
        item = drive.add(
            parent,
            name,
            False,
            seeded_content(f"file:{seed}:{drive.id}:{k}:1", size),
            by=who,
            when=when,
            iid=item_id(drive.id, "file", k),
        )
        item.fs_created = when - dt.timedelta(days=30)
        item.fs_modified = when - dt.timedelta(days=1)
    # sharing: a view link for the organisation, a grant to a colleague, an anonymous edit link on a folder
    files_only = [i for i in drive.items.values() if not i.folder]
    if files_only:
        target = files_only[len(files_only) // 2]
        target.permissions.append(link_permission(drive, target, "view", "organization"))
        if len(people) > 1:
            colleague = next(p for p in people if p.id != owner.id)
            target.permissions.append(grant_permission(colleague, "write"))
    photos = drive.child_named(drive.root, "Photos")
    if photos is not None:
        photos.permissions.append(link_permission(drive, photos, "edit", "anonymous"))


def link_permission(drive: Drive, item: Item, kind: str, scope: str) -> dict[str, Any]:
    pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{drive.id}:{item.id}:link:{kind}:{scope}"))
    token = pid.replace("-", "")[:22]
    return {
        "id": pid,
        "roles": ["read" if kind == "view" else "write"],
        "shareId": f"s!{token}",
        "hasPassword": False,
        "grantedToIdentitiesV2": [],
        "grantedToIdentities": [],
        "link": {"scope": scope, "type": kind, "preventsDownload": False, "webUrl": f"https://{HOST}/:f:/g/{token}"},
    }


def grant_permission(who: Identity, role: str) -> dict[str, Any]:
    pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"grant:{who.id}:{role}"))
    user = {"displayName": who.display_name, "id": who.id, "email": who.email}
    return {"id": pid, "roles": [role], "grantedToV2": {"user": user}, "grantedTo": {"user": user}}


def seed_drives(tenant: Tenant, seed: int, files: int, sites: int) -> DriveStore:
    store = DriveStore()
    rng = random.Random(f"drives:{seed}")
    people = [Identity(u.id, u.display_name, u.mail) for u in tenant.users.values() if u.mailbox is not None]
    for i, person in enumerate(people):
        local = (person.email or person.id).split("@")[0].replace(".", "_")
        web = f"https://{MY_HOST}/personal/{local}_simtenant_onmicrosoft_com/Documents"
        drive = Drive(
            drive_id(seed, "onedrive", person.id),
            "OneDrive",
            "business",
            web,
            person,
            BASE - dt.timedelta(days=400 - i),
            "user",
            person.id,
        )
        store.add_drive(drive)
        populate(drive, seed, files, people, random.Random(f"drive:{seed}:{person.id}"))
    for s in range(sites):
        title = SITE_NAMES[s] if s < len(SITE_NAMES) else f"Site {s:03d}"
        name = title.replace(" & ", "").replace(" ", "")
        collection = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        web_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        site = Site(
            f"{HOST},{collection},{web_id}",
            name,
            title,
            f"https://{HOST}/sites/{name}",
            BASE - dt.timedelta(days=300 - s),
        )
        store.sites[site.id] = site
        group = Identity(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{title} Owners")
        for lib_index, (lib_name, url_name) in enumerate(LIBRARIES[: 1 + s % 2]):
            drive = Drive(
                drive_id(seed, "site", site.id, lib_name),
                lib_name,
                "documentLibrary",
                f"{site.web_url}/{url_name.replace(' ', '%20')}",
                group,
                site.created,
                "site",
                site.id,
            )
            store.add_drive(drive)
            populate(
                drive, seed, max(1, files // (2 + lib_index)), people, random.Random(f"lib:{seed}:{site.id}:{lib_name}")
            )
    return store


def add_bulk(
    drive: Drive,
    parent: Item,
    key: str,
    folders: int = 0,
    empty_files: int = 0,
    files: int = 0,
    file_size: int = 2048,
    fanout: int = 8,
) -> dict[str, Any]:
    """Add a big tree in one go: `folders` folders nested `fanout` to a folder below `parent` (folder k's parent is
    folder k // fanout - 1; the first `fanout` sit in `parent`), then `empty_files` zero-byte files and `files` files
    of `file_size` generated bytes spread round-robin over the folders (or `parent` when there are none). Names are
    'Folder 00012', 'empty 00042.txt', 'file 00007.bin'. Returns counts and the folders directly in `parent`."""
    if min(folders, empty_files, files, file_size) < 0 or fanout < 1:
        raise ValueError("counts and file_size must be >= 0, fanout >= 1")
    clash = {f"Folder {k:05d}" for k in range(min(folders, fanout))}
    if not folders:
        clash |= {f"empty {j:05d}.txt" for j in range(empty_files)} | {f"file {j:05d}.bin" for j in range(files)}
    taken = {c.name.lower() for c in drive.live_children(parent)}
    if any(name.lower() in taken for name in clash):
        raise FileExistsError(f"bulk names already exist in {drive.path_of(parent)!r}")
    made: list[Item] = []
    for k in range(folders):
        above = parent if k < fanout else made[k // fanout - 1]
        made.append(drive.add(above, f"Folder {k:05d}", True, iid=item_id(drive.id, "bulk", key, "folder", k)))
    homes = made or [parent]
    empty_sha = hashlib.sha256(b"").hexdigest()
    empty_qx = quick_xor_hash(b"")
    for j in range(empty_files):
        content = Content(0, data=b"", sha256=empty_sha, quick_xor=empty_qx)
        drive.add(homes[j % len(homes)], f"empty {j:05d}.txt", False, content,
                  iid=item_id(drive.id, "bulk", key, "empty", j))  # fmt: skip
    for j in range(files):
        content = seeded_content(f"bulk:{key}:{drive.id}:{j}", file_size)
        home = homes[(j * 7 + 3) % len(homes)]
        drive.add(home, f"file {j:05d}.bin", False, content, iid=item_id(drive.id, "bulk", key, "file", j))
    top = made[:fanout]
    return {
        "added": folders + empty_files + files,
        "folders": folders,
        "empty_files": empty_files,
        "files": files,
        "top": [{"id": f.id, "path": drive.path_of(f)} for f in top],
    }
