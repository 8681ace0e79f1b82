"""The contact item kind: a contact's content is its Graph JSON (canonical: sorted keys, no annotations), stored
write-once like any content; its photo, when it has one, is stored beside it and named in the version's metadata.
Containers are the default contacts folder and every contact folder below the mailbox root."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.content import store_content
from core.errors import GraphNotFound
from core.graph.batch import Read
from core.graph.client import GraphClient
from core.storage.content_store import Spool
from core.workloads.container_delta import Fetched, ItemKind, MailboxJob
from core.workloads.exchange.folder_tree import TreeSource
from core.workloads.folder_paths import join_path

CONTACT = "contact"
CONTACT_FOLDER = "cfolder"
DEFAULT_FOLDER = "contacts"  # the well-known name of the default contacts folder
DEFAULT_NAME = "Contacts"


def canonical_json(entry: dict) -> bytes:
    """The item as stored: Graph's JSON without OData annotations, keys sorted, UTF-8."""
    clean = {k: v for k, v in entry.items() if not k.startswith("@")}
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def list_contact_folders(graph: GraphClient, user: str) -> list[Container]:
    """The default contacts folder, then every contact folder (and child folder), parents before children.
    `/contactFolders` and the default folder's `childFolders` are both walked: the docs describe the first as
    the folders in the default folder, and mailboxes also hold contact folders beside it; ids are deduplicated."""
    folders = [Container(DEFAULT_FOLDER, DEFAULT_NAME, "", DEFAULT_NAME)]
    base = f"users/{quote(user, safe='')}/contactFolders"
    stack: list[tuple[str, list[str], str]] = [
        (base, [], ""),
        (f"{base}/{DEFAULT_FOLDER}/childFolders", [DEFAULT_NAME], DEFAULT_FOLDER),
    ]
    seen = {DEFAULT_FOLDER}
    while stack:
        url, parents, parent_id = stack.pop()
        for page in graph.iter_pages(url, params={"$top": "100"}):
            for raw in page:
                if not isinstance(raw.get("id"), str) or raw["id"] in seen:
                    continue
                seen.add(raw["id"])
                segments = [*parents, str(raw.get("displayName") or "")]
                folders.append(Container(raw["id"], segments[-1], parent_id, join_path(segments)))
                stack.append((f"{base}/{quote(raw['id'], safe='')}/childFolders", segments, raw["id"]))
    return folders


def contact_tree(user: str) -> TreeSource:
    """The contact folder tree by contactFolder delta (core/workloads/exchange/folder_tree.py): the default folder
    (read once per full tree, `contactFolders/contacts`, for its id and the root's) is the container 'contacts',
    named 'Contacts' as list_contact_folders names it; its child folders are below it, the others beside it."""
    base = f"users/{quote(user, safe='')}/contactFolders"
    read = Read(f"{base}/{DEFAULT_FOLDER}", params={"$select": "id,parentFolderId"})

    def anchors(graph: GraphClient) -> dict[str, str]:
        default = graph.get_json(read.url, params=read.params)
        return {"root": str(default.get("parentFolderId") or ""), "default": str(default["id"])}

    return TreeSource(
        f"{base}/delta",
        "id,displayName,parentFolderId",
        anchors,
        alias=lambda a: {a["default"]: DEFAULT_FOLDER},
        fixed_names={DEFAULT_FOLDER: DEFAULT_NAME},
        anchor_read=read,
    )


def _delta_path(user: str, folder: Container) -> str:
    if folder.id == DEFAULT_FOLDER:
        return f"users/{quote(user, safe='')}/contacts/delta"
    return f"users/{quote(user, safe='')}/contactFolders/{quote(folder.id, safe='')}/contacts/delta"


def _item_path(user: str, contact_id: str) -> str:
    return f"users/{quote(user, safe='')}/contacts/{quote(contact_id, safe='')}"


def _fetch(job: MailboxJob, entry: dict) -> Fetched:
    stored = store_content(job.content, job.report, canonical_json(entry), "application/json")
    photo = ""
    url = f"users/{quote(job.user, safe='')}/contacts/{quote(entry['id'], safe='')}/photo/$value"
    try:
        with Spool() as spool:
            job.graph.download(url, spool)
            if spool.size:
                photo = store_content(job.content, job.report, spool, "image/jpeg").sha256
    except GraphNotFound as exc:
        if exc.code.lower() != "imagenotfound":  # not "no photo": the contact itself may be gone (read by id)
            raise
    return stored.sha256, stored.size, json.dumps({"photo": photo}) if photo else ""


def _describe(entry: dict) -> dict[str, Any]:
    emails = entry.get("emailAddresses") or []
    first = emails[0].get("address", "") if emails and isinstance(emails[0], dict) else ""
    return {
        "name": str(entry.get("displayName") or "")[:1000],
        "sender": str(first or "")[:320],
        "modified": str(entry.get("lastModifiedDateTime") or ""),
        "received": str(entry.get("createdDateTime") or ""),
    }


CONTACT_KIND = ItemKind(
    category=CONTACT,
    folder_category=CONTACT_FOLDER,
    delta_path=_delta_path,
    fetch=_fetch,
    describe=_describe,
    item_path=_item_path,
)
