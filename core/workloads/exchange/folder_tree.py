"""A mailbox's folder tree (mail folders, contact folders) kept up to date by folder delta instead of being listed
every run: `mailFolder: delta` (https://learn.microsoft.com/graph/api/mailfolder-delta) and `contactFolder: delta`
(https://learn.microsoft.com/graph/api/contactfolder-delta) give "mail folders that have been added, deleted, or
removed from the user's mailbox", each with its `parentFolderId`, so that a client keeps "a local store of a user's
mail folders without having to fetch all the mail folders of that mailbox from the server every time".

The local store is the backup's own: the live folder versions of the catalog (their signature holds parent, path
and well-known name: core.delta.containers.Container.signature). A run follows the tree's delta round from its saved
link, applies the folders it lists (made, renamed, moved: whole objects) and removes those listed `@removed` with
their child folders, then recomputes every path (a renamed parent renames its children's paths). With no link, or
one Graph no longer accepts, the round without a token lists every folder: a full tree. A change that does not fit
the tree (a parent neither in the tree nor the root) makes the run read the full tree instead: never a guess.

The tree's link is saved (delta state: category `tree`, container: the folder category) only after the folder
versions it gave are committed, so a crash repeats the tree round; applying it twice changes nothing. The tree's
root (msgfolderroot; for contacts also the default folder's id) is read once per full round and kept with the
link (its query), so a no-change incremental costs one request for the whole tree."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from core.delta.containers import Container
from core.delta.rounds import follow_round
from core.errors import DeltaExpired, MalformedResponse
from core.graph.batch import Read
from core.graph.client import GraphClient
from core.storage.catalog import OpenVersion
from core.storage.delta_state import DeltaState
from core.workloads.folder_paths import join_path, split_path

TREE = "tree"  # delta-state category of a folder tree's link; its container id is the folder category


@dataclass(frozen=True)
class TreeSource:
    """Where one folder tree of a mailbox is read."""

    delta_path: str  # users/{id}/mailFolders/delta
    select: str  # $select of the round chain's first request
    # reads the tree's ids on a full round: {"root": the parent of top folders, ...}, kept with the link
    anchors: Callable[[GraphClient], dict[str, str]]
    # Graph ids -> the backup's container ids (contacts: the default folder's id -> 'contacts'), from the anchors
    alias: Callable[[dict[str, str]], dict[str, str]] = lambda anchors: {}
    # containers every tree has, top folders whatever the round lists: container id -> the name its path has
    fixed_names: dict[str, str] = field(default_factory=dict)
    anchor_read: Read | None = None  # the GET `anchors` sends (a full tree's first reads are sent ahead with it)

    def full_round_reads(self, page_size: int) -> list[Read]:
        """The GETs a full tree starts with, exactly as read_tree sends them: its anchors, its first delta page."""
        first = Read(self.delta_path, params={"$select": self.select}, headers=tree_headers(page_size))
        return [first] if self.anchor_read is None else [self.anchor_read, first]


def tree_headers(page_size: int) -> dict[str, str]:
    """The headers of every page of a tree round (and of its reads sent ahead)."""
    return {"Prefer": f"odata.maxpagesize={page_size}"}


@dataclass(frozen=True)
class Node:
    name: str
    parent_id: str  # '' for a top folder
    well_known: str | None = None


@dataclass
class TreeRound:
    folders: list[Container]  # parents before children
    state: DeltaState  # the link to save once the folder versions are committed
    gone: set[str]  # folders the round removed, and the folders below them


class TreeMismatch(Exception):
    """An incremental change that does not fit the known tree: the full tree is read instead."""


def nodes_of(index: dict[str, OpenVersion]) -> dict[str, Node]:
    """The folder tree as the backup recorded it: each live folder version's signature (parent, path[, name])."""
    nodes = {}
    for folder_id, version in index.items():
        lines = version.change_key.split("\n")
        if len(lines) < 2:
            continue
        names = split_path(lines[1])
        well_known = None if len(lines) < 3 else "" if lines[2] == "-" else lines[2]
        nodes[folder_id] = Node(names[-1] if names else "", lines[0], well_known)
    return nodes


def read_tree(
    graph: GraphClient,
    category: str,
    source: TreeSource,
    saved: DeltaState | None,
    index: dict[str, OpenVersion],
    run_id: str,
    note: Callable[[str], None] = lambda _text: None,
    expected: frozenset[str] = frozenset(),
) -> TreeRound:
    """The tree now: from the saved link and the recorded tree, or (no link, an expired one, a change that does
    not fit) from a full round. `expected`: containers the backup holds a delta link of; an incremental tree that
    lacks one of them without a removal that says so is no proof that it is gone (the full tree is read)."""
    if saved is not None:
        try:
            anchors = json.loads(saved.query) if saved.query else {}
            tree = _round(graph, category, source, saved.delta_link, None, anchors, nodes_of(index), run_id)
            missing = expected - {f.id for f in tree.folders} - tree.gone
            if missing:
                raise TreeMismatch(f"{len(missing)} folder(s) neither in the tree nor removed")
            return tree
        except DeltaExpired as exc:  # the full tree below also catches up what the link would have missed
            note(f"{category} tree: delta link no longer valid ({exc.code or exc.status}); full tree")
        except (TreeMismatch, ValueError, KeyError, TypeError) as exc:
            note(f"{category} tree: {exc}; full tree")
    anchors = source.anchors(graph)
    params = {"$select": source.select}
    return _round(graph, category, source, source.delta_path, params, anchors, None, run_id)


def _round(
    graph: GraphClient,
    category: str,
    source: TreeSource,
    url: str,
    params: dict[str, str] | None,
    anchors: dict[str, str],
    base: dict[str, Node] | None,
    run_id: str,
) -> TreeRound:
    """One round applied to `base` (None: a full round, which lists the whole tree)."""
    entries: list = []
    link = follow_round(graph, url, params=params, headers=tree_headers(graph.page_size), on_page=entries.extend)
    alias, root = source.alias(anchors), anchors["root"]
    nodes, removed = dict(base or {}), set()
    for entry in entries:  # the last occurrence of a folder wins
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise MalformedResponse(f"folder delta entry without an id: {entry!r:.200}", url=graph.url(url))
        folder_id = alias.get(entry["id"], entry["id"])
        if folder_id == root:
            continue
        if "@removed" in entry:
            nodes.pop(folder_id, None)
            removed.add(folder_id)
            continue
        removed.discard(folder_id)
        parent = str(entry.get("parentFolderId") or "")
        parent = "" if parent == root else alias.get(parent, parent)
        known = nodes.get(folder_id)
        name = source.fixed_names.get(folder_id) or str(entry.get("displayName") or "")
        nodes[folder_id] = Node(name, parent, known.well_known if known else None)
    for folder_id, name in source.fixed_names.items():
        nodes.setdefault(folder_id, Node(name, ""))
    folders = _containers(nodes, removed, strict=base is not None)
    query = json.dumps(anchors, sort_keys=True)
    gone = removed | (set(nodes) - {f.id for f in folders})
    return TreeRound(folders, DeltaState(TREE, category, link, "", run_id, query), gone)


def _containers(nodes: dict[str, Node], removed: set[str], strict: bool) -> list[Container]:
    """Containers of the tree, parents before children; folders below a removed one are gone with it. A parent
    that is not in the tree is a TreeMismatch when `strict` (an incremental), else its folder is taken as a top
    folder (a full tree: nothing listed is left out)."""
    segments: dict[str, list[str] | None] = {}

    def names(folder_id: str, seen: tuple[str, ...] = ()) -> list[str] | None:
        if folder_id in segments:
            return segments[folder_id]
        node = nodes[folder_id]
        if not node.parent_id:
            found: list[str] | None = [node.name]
        elif node.parent_id in nodes and node.parent_id not in seen:
            above = names(node.parent_id, (*seen, folder_id))
            found = None if above is None else [*above, node.name]
        elif node.parent_id in removed:
            found = None  # below a deleted folder
        elif strict:
            raise TreeMismatch(f"folder {folder_id}: parent {node.parent_id} not in the tree")
        else:
            found = [node.name]
        segments[folder_id] = found
        return found

    live = [(fid, names(fid)) for fid in nodes]
    ordered = sorted(((fid, n) for fid, n in live if n is not None), key=lambda fn: len(fn[1]))  # type: ignore[arg-type]
    return [Container(fid, n[-1], nodes[fid].parent_id if len(n) > 1 else "", join_path(n),
                      nodes[fid].well_known if len(n) == 1 else None) for fid, n in ordered]  # fmt: skip


def mail_source(user: str, users_root: str = "users") -> TreeSource:
    base = f"{users_root}/{quote(user, safe='')}/mailFolders"
    root = Read(f"{base}/msgfolderroot", params={"$select": "id"})
    return TreeSource(
        delta_path=f"{base}/delta",
        select="id,displayName,parentFolderId,isHidden",
        anchors=lambda graph: {"root": str(graph.get_json(root.url, params=root.params)["id"])},
        anchor_read=root,
    )
