"""The mail folder tree of a mailbox: listing it (hidden folders included) and recreating paths for restores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from core.errors import GraphConflict, GraphNotFound, MalformedResponse
from core.graph.client import GraphClient
from core.workloads.folder_paths import join_path, split_path

_FOLDER_SELECT = "id,displayName,parentFolderId,childFolderCount,isHidden"


@dataclass(frozen=True)
class MailFolder:
    id: str
    display_name: str
    parent_id: str  # '' for a top-level folder
    path: str  # display names from the top, joined by folder_paths.join_path


def _user(user: str) -> str:
    return quote(user, safe="")


def list_folders(graph: GraphClient, user: str) -> list[MailFolder]:
    """Every mail folder of the mailbox, parents before children. Hidden folders are included: they hold real
    mail (e.g. archive and retention folders), and a backup that skipped them would lose it silently."""
    folders: list[MailFolder] = []
    base = f"users/{_user(user)}/mailFolders"
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


def ensure_path(graph: GraphClient, user: str, path: str, under: str | None = None) -> str:
    """The id of the folder at `path` (below folder `under`, or the top of the mailbox), creating what is
    missing. Existing folders of the same name are reused."""
    parent = under
    for name in split_path(path):
        found = next((c["id"] for c in _children(graph, user, parent) if c.get("displayName") == name), None)
        if found is None:
            found = create_folder(graph, user, name, parent)
        parent = found
    if parent is None:
        raise ValueError("ensure_path needs a non-empty path or a parent folder")
    return parent


def create_folder(graph: GraphClient, user: str, name: str, parent_id: str | None) -> str:
    url = (
        f"users/{_user(user)}/mailFolders/{quote(parent_id, safe='')}/childFolders"
        if parent_id
        else f"users/{_user(user)}/mailFolders"
    )
    try:
        created = graph.post_json(url, {"displayName": name})
    except GraphConflict:  # made meanwhile (another restore): use it
        existing = next((c["id"] for c in _children(graph, user, parent_id) if c.get("displayName") == name), None)
        if existing is None:
            raise
        return str(existing)
    folder_id = created.get("id")
    if not isinstance(folder_id, str):
        raise MalformedResponse("folder create answered without an id", url=graph.url(url))
    return folder_id
