"""The mail folder tree of a mailbox: listing it (hidden folders included), which top folders are the well-known ones
(Inbox, Sent Items, ...: their display names are localized, their well-known names are not), and recreating paths
for restores (a well-known folder of the backup is the target mailbox's folder of that well-known name)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote

from core.errors import GraphNotFound, MalformedResponse
from core.graph.batch import Read, prefetch
from core.graph.client import GraphClient
from core.workloads.ensure_container import child_named, ensure_child
from core.workloads.folder_paths import join_path

_FOLDER_SELECT = "id,displayName,parentFolderId,childFolderCount,isHidden"
# Graph's well-known folder names ("mailFolder resource type"); each is addressable as /mailFolders/{name}.
WELL_KNOWN = ("inbox", "sentitems", "deleteditems", "drafts", "junkemail", "archive", "outbox", "conversationhistory")
# The English display names, for backups made before well-known names were recorded.
ENGLISH_NAMES = {"Inbox": "inbox", "Sent Items": "sentitems", "Deleted Items": "deleteditems", "Drafts": "drafts",
                 "Junk Email": "junkemail", "Archive": "archive", "Outbox": "outbox",
                 "Conversation History": "conversationhistory"}  # fmt: skip


@dataclass(frozen=True)
class MailFolder:
    id: str
    display_name: str
    parent_id: str  # '' for a top-level folder
    path: str  # display names from the top, joined by folder_paths.join_path
    # a top mail folder's well-known name ('inbox', ...; '' when it has none); None where that was not looked up
    well_known: str | None = None


def _user(user: str) -> str:
    return quote(user, safe="")


def list_folders(graph: GraphClient, user: str, users_root: str = "users") -> list[MailFolder]:
    """Every mail folder of the mailbox, parents before children. Hidden folders are included: they hold real
    mail (e.g. archive and retention folders), and a backup that skipped them would lose it silently.
    `users_root`: where mailboxes are addressed (an archive's: the beta root, `{endpoint}/beta/users`)."""
    folders: list[MailFolder] = []
    base = f"{users_root}/{_user(user)}/mailFolders"
    params = {"includeHiddenFolders": "true", "$top": "100", "$select": _FOLDER_SELECT}
    stack: list[tuple[str, list[str], str]] = [(base, [], "")]
    while stack:
        url, parent_segments, parent_id = stack.pop()
        for page in graph.iter_pages(url, params=params):
            for raw in page:
                folder_id, name = raw.get("id"), raw.get("displayName")
                if not isinstance(folder_id, str) or not isinstance(name, str):
                    raise MalformedResponse("mail folder without id or displayName", url=graph.url(url))
                segments = [*parent_segments, name]
                folders.append(MailFolder(folder_id, name, parent_id, join_path(segments)))
                if raw.get("childFolderCount", 1):
                    stack.append((f"{base}/{quote(folder_id, safe='')}/childFolders", segments, folder_id))
    return folders


def well_known_reads(user: str) -> list[Read]:
    """The GETs of the well-known folder names, one per name (a first backup sends them ahead with its others)."""
    return [Read(f"users/{_user(user)}/mailFolders/{name}", params={"$select": "id"}) for name in WELL_KNOWN]


def well_known_ids(graph: GraphClient, user: str) -> dict[str, str]:
    """folder id -> well-known name, for the well-known folders the mailbox has (one GET each, read ahead in one
    $batch: core/graph/batch.py; a name the batch did not answer with a folder is asked alone)."""
    reads = well_known_reads(user)
    kept = prefetch(graph, reads)
    found = {}
    try:
        for name, read in zip(WELL_KNOWN, reads, strict=True):
            try:
                folder = graph.get_json(read.url, params=read.params)
            except GraphNotFound:
                continue
            if isinstance(folder.get("id"), str):
                found[folder["id"]] = name
    finally:
        graph.prefetched.forget(kept)
    return found


def with_well_known(
    graph: GraphClient, user: str, folders: list[MailFolder], signatures: dict[str, str]
) -> list[MailFolder]:
    """The folders with each top folder's well-known name. `signatures` are the backed-up folders' version
    signatures (their third line is that name, or '-'): the names are looked up again (one GET per well-known
    name) only when a top folder is new to the backup, so an unchanged mailbox costs nothing more."""
    top = [f for f in folders if not f.parent_id]
    recorded = {fid: sig.split("\n")[2] for fid, sig in signatures.items() if sig.count("\n") >= 2}
    if all(f.id in recorded for f in top):
        names = {fid: ("" if name == "-" else name) for fid, name in recorded.items()}
    else:
        names = well_known_ids(graph, user)
    return [replace(f, well_known=names.get(f.id, "")) if not f.parent_id else f for f in folders]


def folder_exists(graph: GraphClient, user: str, folder_id: str) -> bool:
    try:
        graph.get_json(f"users/{_user(user)}/mailFolders/{quote(folder_id, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        return False
    return True


def _children(graph: GraphClient, user: str, parent_id: str | None) -> Iterator[dict]:
    url = (
        f"users/{_user(user)}/mailFolders/{quote(parent_id, safe='')}/childFolders"
        if parent_id
        else f"users/{_user(user)}/mailFolders"
    )
    params = {"includeHiddenFolders": "true", "$top": "100", "$select": "id,displayName"}
    for page in graph.iter_pages(url, params=params):
        yield from page


def child_ids(graph: GraphClient, user: str, parent_id: str | None) -> dict[str, str]:
    """display name -> id of the folders right below `parent_id` (the top of the mailbox when None)."""
    return {str(c["displayName"]): str(c["id"]) for c in _children(graph, user, parent_id)
            if isinstance(c.get("displayName"), str) and isinstance(c.get("id"), str)}  # fmt: skip


def create_folder(graph: GraphClient, user: str, name: str, parent_id: str | None) -> tuple[str, bool]:
    """(id of the folder `name` below `parent_id`, whether this call made it): made, or found when Graph answers
    that it exists already (made meanwhile by another part or restore, or by this call's own replayed create)."""
    url = (
        f"users/{_user(user)}/mailFolders/{quote(parent_id, safe='')}/childFolders"
        if parent_id
        else f"users/{_user(user)}/mailFolders"
    )
    return ensure_child(
        lambda: child_named(list(_children(graph, user, parent_id)), name),
        lambda: graph.post_json(url, {"displayName": name}, replay_safe=True),  # a repeat answers 409
        look_first=False,  # the caller listed the parent already
        what="mail folder",
    )
