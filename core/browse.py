"""Browse and search the catalog of a resource as of a run: mail, contacts and events of a mailbox, files of a
OneDrive or SharePoint site. Filters: folder (and below), subject / name, sender, recipient, attachments, dates.

Everything streams from the catalog in its own order (item id): `find_items` yields every match (the CLI);
`search_page` returns one bounded page and an opaque continuation token (the HTTP API), so any number of matches
is served page by page with no duplicates and no gaps, every page reading the run the first one resolved. A page
reads at most `SCAN_BUDGET` catalog entries: a very selective query may answer a short (even empty) page with a
continuation; a listing is over only when the continuation is None. `list_tree` lists one folder's direct
children (sub-folders, all of them; items, paged the same way)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core import continuation as tokens
from core.catalog_view import (
    MAX_PAGE_SIZE,
    SCAN_BUDGET,
    Scope,
    aware,
    check_page_size,
    describe,
    open_scope,
    page_of,
    parse_time,
    start_point,
)
from core.errors import NotFoundError
from core.storage.catalog import ItemVersion
from core.workloads.folder_paths import is_within, split_path
from core.workloads.registry import category_for

if TYPE_CHECKING:
    from core.bootstrap import Services

__all__ = ["SCAN_BUDGET", "ItemQuery", "SearchPage", "TreeListing", "find_items", "list_tree", "search_page"]


@dataclass(frozen=True)
class ItemQuery:
    resource: str
    run_id: str | None = None
    at: datetime | None = None
    folder: str | None = None  # this folder path and below
    subject: str | None = None  # case-insensitive substring of a message's / event's subject or a file's name
    sender: str | None = None  # substring of the sender (mail), first e-mail (contact), organizer (event)
    after: datetime | None = None  # received (mail), start (event), created (contact), modified (file): at or after
    before: datetime | None = None  # the same time: before
    recipient: str | None = None  # case-insensitive substring of a to/cc/bcc address (mail)
    has_attachments: bool | None = None  # mail and events
    name: str | None = None  # case-insensitive substring of the name: a file's, a contact's display name, a subject
    category: str | None = None  # one of the resource's workload's categories (default: its first)


@dataclass(frozen=True)
class SearchPage:
    run_id: str
    items: list[dict[str, Any]]
    continuation: str | None  # pass back with the same query for the next page; None: no more

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TreeListing:
    run_id: str
    path: str
    category: str
    folders: list[dict[str, Any]]  # direct sub-folders, every one: {name, path, id}, by name
    items: list[dict[str, Any]]  # direct items, one page of them (catalog order)
    continuation: str | None  # more items: pass back with the same listing; None: no more

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Matcher:
    """The query's filters, applied to one catalog version at a time."""

    def __init__(self, scope: Scope, query: ItemQuery) -> None:
        self.scope, self.query = scope, query
        self.texts = [t.lower() for t in (query.subject, query.name) if t]
        self.sender = (query.sender or "").lower()
        self.recipient = (query.recipient or "").lower()
        self.after, self.before = aware(query.after), aware(query.before)

    def folder_ids(self) -> list[str] | None:
        """The folder ids to ask the table service for, when the folder filter narrows them to a few."""
        if self.query.folder is None:
            return None
        return self.scope.server_filter(
            [key for key, path in self.scope.paths.items() if is_within(path, self.query.folder)]
        )

    def __call__(self, v: ItemVersion) -> bool:
        query = self.query
        if query.folder is not None and not is_within(self.scope.path_of(v), query.folder):
            return False
        if any(t not in v.name.lower() for t in self.texts):
            return False
        if self.sender and self.sender not in v.sender.lower():
            return False
        if self.recipient and not any(self.recipient in r for r in v.recipients.split(";") if r):
            return False
        if query.has_attachments is not None and v.has_attachments != query.has_attachments:
            return False
        if self.after or self.before:
            when = parse_time(getattr(v, self.scope.time_field))
            if when is None or (self.after and when < self.after) or (self.before and when >= self.before):
                return False
        return True


def find_items(services: Services, query: ItemQuery) -> tuple[str, Iterator[dict]]:
    """(the run resolved, an iterator of every matching item as a dict), streamed from the catalog."""
    category = category_for(query.resource, query.category)
    run_id = services.runs.resolve_point(query.resource, query.run_id, query.at)
    scope = open_scope(services, query.resource, run_id, category)
    matcher = _Matcher(scope, query)

    def matches() -> Iterator[dict]:
        for version in services.catalog.as_of(query.resource, category.name, run_id, folder_ids=matcher.folder_ids()):
            if matcher(version):
                yield describe(scope, version)

    return run_id, matches()


def search_page(services: Services, query: ItemQuery, page_size: int, continuation: str | None) -> SearchPage:
    """One page of `find_items`' matches, in catalog (item id) order. Pass the page's continuation back with the
    same query for the next one; a token of another query, or a garbled one, is an InvalidRequestError."""
    check_page_size(page_size)
    category = category_for(query.resource, query.category)
    digest = tokens.query_digest("search", {**asdict(query), "category": category.name})
    run_id, start = start_point(services, query.resource, query.run_id, query.at, digest, continuation)
    scope = open_scope(services, query.resource, run_id, category)
    matcher = _Matcher(scope, query)
    folder_ids = matcher.folder_ids()
    versions = services.catalog.as_of(query.resource, category.name, run_id, start=start, folder_ids=folder_ids)
    kept, token = page_of(versions, matcher, page_size, digest, run_id)
    return SearchPage(run_id, [describe(scope, v) for v in kept], token)


def list_tree(
    services: Services,
    resource: str,
    run_id: str | None = None,
    at: datetime | None = None,
    path: str = "",
    category: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    continuation: str | None = None,
) -> TreeListing:
    """The direct children of folder `path` ('' for the top) as of the point: every sub-folder, and the first
    `page_size` items (the rest through `continuation`, as with `search_page`). Mail folders and messages,
    contact folders and contacts, calendars and events, drive folders and files. NotFoundError for a path that
    is no folder as of that run."""
    check_page_size(page_size)
    kind = category_for(resource, category)
    asked = {"resource": resource, "run_id": run_id, "at": at, "path": path, "category": kind.name}
    digest = tokens.query_digest("tree", asked)
    run, start = start_point(services, resource, run_id, at, digest, continuation)
    scope = open_scope(services, resource, run, kind)
    target = split_path(path)
    here = [key for key, p in scope.paths.items() if split_path(p) == target]
    if target and not here:
        raise NotFoundError(f"no folder {path!r} in the backup of {resource!r} as of run {run}")
    children: dict[str, dict[str, Any]] = {}
    for key, p in scope.paths.items():
        segments = split_path(p)
        if segments and segments[:-1] == target:
            children.setdefault(p, {"name": segments[-1], "path": p, "id": key})
    folders = sorted(children.values(), key=lambda f: (f["name"].casefold(), f["path"]))
    if not here:  # the top of a mailbox holds folders only
        return TreeListing(run, path, kind.name, folders, [], None)
    inside = set(here)
    versions = services.catalog.as_of(resource, kind.name, run, start=start, folder_ids=scope.server_filter(here))
    kept, token = page_of(versions, lambda v: v.folder_id in inside, page_size, digest, run)
    return TreeListing(run, path, kind.name, folders, [describe(scope, v) for v in kept], token)
