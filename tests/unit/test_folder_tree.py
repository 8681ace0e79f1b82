"""The folder tree by folder delta (core/workloads/exchange/folder_tree.py) against a recording fake of the Graph
client's reads: changes applied to the recorded tree, paths recomputed, removals with what is below them, and a
change that does not fit the tree read as a full tree instead of a guess."""

from __future__ import annotations

from typing import Any

from core.delta.containers import Container
from core.storage.catalog import OpenVersion
from core.storage.delta_state import DeltaState
from core.workloads.exchange.folder_tree import mail_source, read_tree

ROOT = "root-id"


class FakeGraph:
    """Answers each URL with one delta page; records what was asked."""

    page_size = 100

    def __init__(self, pages: dict[str, list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.asked: list[str] = []

    def url(self, path: str) -> str:
        return path

    def get_json(self, url: str, params: dict | None = None, headers: dict | None = None) -> dict[str, Any]:
        self.asked.append(url)
        if url.endswith("/msgfolderroot"):
            return {"id": ROOT}
        return {"value": self.pages[url], "@odata.deltaLink": f"{url}#next"}


def _index(*folders: Container) -> dict[str, OpenVersion]:
    return {f.id: OpenVersion("run1", f.parent_id, "", f.signature) for f in folders}


def _folder(fid: str, name: str, parent: str) -> dict[str, Any]:
    return {"id": fid, "displayName": name, "parentFolderId": parent}


SOURCE = mail_source("u1")
RECORDED = _index(
    Container("inbox", "Inbox", "", "Inbox", "inbox"),
    Container("work", "Work", "inbox", "Inbox/Work"),
    Container("q1", "Q1", "work", "Inbox/Work/Q1"),
    Container("notes", "Notes", "", "Notes", ""),
)
SAVED = DeltaState("tree", "folder", "LINK", "", "run1", '{"root": "root-id"}')


def _paths(folders: list[Container]) -> dict[str, str]:
    return {f.id: f.path for f in folders}


def test_a_renamed_folder_renames_the_paths_below_it_and_keeps_the_rest():
    graph = FakeGraph({"LINK": [_folder("work", "Clients", "inbox")]})
    tree = read_tree(graph, "folder", SOURCE, SAVED, RECORDED, "run2")  # type: ignore[arg-type]
    assert _paths(tree.folders) == {"inbox": "Inbox", "work": "Inbox/Clients", "q1": "Inbox/Clients/Q1",
                                    "notes": "Notes"}  # fmt: skip
    assert graph.asked == ["LINK"]  # one request: no listing, no root read
    assert [f.well_known for f in tree.folders if f.id in ("inbox", "notes")] == ["inbox", ""]
    assert tree.state.delta_link == "LINK#next" and tree.state.category == "tree"


def test_a_removed_folder_takes_its_child_folders_and_a_moved_top_folder_loses_its_well_known_name():
    graph = FakeGraph({"LINK": [{"id": "work", "@removed": {"reason": "deleted"}}, _folder("notes", "Notes", "inbox")]})
    tree = read_tree(graph, "folder", SOURCE, SAVED, RECORDED, "run2")  # type: ignore[arg-type]
    assert _paths(tree.folders) == {"inbox": "Inbox", "notes": "Inbox/Notes"}
    assert tree.gone == {"work", "q1"}
    assert next(f for f in tree.folders if f.id == "notes").well_known is None


def test_a_change_that_does_not_fit_the_tree_reads_the_full_tree():
    full = [_folder("inbox", "Inbox", ROOT), _folder("other", "Other", "inbox"), _folder("x", "X", "other")]
    graph = FakeGraph({"LINK": [_folder("x", "X", "other")], "users/u1/mailFolders/delta": full})
    notes: list[str] = []
    tree = read_tree(graph, "folder", SOURCE, SAVED, RECORDED, "run2", notes.append)  # type: ignore[arg-type]
    assert graph.asked == ["LINK", "users/u1/mailFolders/msgfolderroot", "users/u1/mailFolders/delta"]
    assert _paths(tree.folders) == {"inbox": "Inbox", "other": "Inbox/Other", "x": "Inbox/Other/X"}
    assert notes and "full tree" in notes[0]


def test_a_linked_folder_missing_without_a_removal_reads_the_full_tree():
    full = [_folder("inbox", "Inbox", ROOT), _folder("work", "Work", "inbox"), _folder("q1", "Q1", "work")]
    graph = FakeGraph({"LINK": [], "users/u1/mailFolders/delta": full})
    recorded = {k: v for k, v in RECORDED.items() if k != "q1"}  # the catalog lacks a folder the engine has a link of
    tree = read_tree(graph, "folder", SOURCE, SAVED, recorded, "run2", expected=frozenset({"q1"}))  # type: ignore[arg-type]
    assert "q1" in _paths(tree.folders) and graph.asked[-1] == "users/u1/mailFolders/delta"
