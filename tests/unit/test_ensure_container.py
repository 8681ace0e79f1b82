"""The one find-or-make of restore containers: a 409 is answered by looking the container up, never by a second
create; a create without an id is a malformed answer."""

from __future__ import annotations

import pytest

from core.errors import GraphConflict, MalformedResponse
from core.workloads.ensure_container import child_named, ensure_child


class Folders:
    """A recording parent folder: what exists, and every call made to it."""

    def __init__(self, existing: dict[str, str] | None = None, refuse: bool = False) -> None:
        self.existing, self.refuse, self.calls = dict(existing or {}), refuse, []

    def find(self, name: str):
        self.calls.append(("find", name))
        return self.existing.get(name)

    def create(self, name: str) -> dict:
        self.calls.append(("create", name))
        if self.refuse or name in self.existing:
            self.existing.setdefault(name, f"id-{name}-by-another")
            raise GraphConflict("exists", status=409)
        self.existing[name] = f"id-{name}"
        return {"id": self.existing[name]}


def test_found_is_used_and_nothing_is_created():
    folders = Folders({"Inbox": "id-inbox"})
    assert ensure_child(lambda: folders.find("Inbox"), lambda: folders.create("Inbox")) == ("id-inbox", False)
    assert folders.calls == [("find", "Inbox")]


def test_missing_is_made_once():
    folders = Folders()
    assert ensure_child(lambda: folders.find("New"), lambda: folders.create("New")) == ("id-New", True)
    assert folders.calls == [("find", "New"), ("create", "New")]


def test_a_refused_create_is_answered_by_the_lookup_not_another_create():
    folders = Folders(refuse=True)  # made meanwhile by another part, or by this create's lost first answer
    got = ensure_child(lambda: folders.find("X"), lambda: folders.create("X"), look_first=False)
    assert got == ("id-X-by-another", False)
    assert folders.calls == [("create", "X"), ("find", "X")]


def test_a_refusal_with_nothing_to_find_is_raised_and_a_create_without_id_is_malformed():
    with pytest.raises(GraphConflict):
        ensure_child(lambda: None, lambda: (_ for _ in ()).throw(GraphConflict("exists", status=409)))
    with pytest.raises(MalformedResponse, match="calendar create answered without an id"):
        ensure_child(lambda: None, lambda: {"name": "x"}, what="calendar")


def test_child_named_matches_the_field_exactly():
    children = [{"id": "1", "displayName": "Projects"}, {"id": "2", "name": "Projects"}, {"displayName": "NoId"}]
    assert child_named(children, "Projects") == "1"
    assert child_named(children, "Projects", field="name") == "2"
    assert child_named(children, "projects") is None and child_named(children, "NoId") is None
