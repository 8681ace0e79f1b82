"""What a workload and an item category are, declared once: every other layer (restore planning and jobs, browse,
downloads and exports, the CLI's choices, the API's schemas and access rules, backup's owner check) asks the
registry (core/workloads/registry.py) for these declarations instead of naming workloads or categories itself.

    Workload   a kind of resource ('exchange:<user id>', 'sharepoint:<site id>'): its discovery and backup (the
               handler), what its owner id names in Graph, how a restore target is checked, whether its owner is a
               signed-in user (self-service), and its categories (the first is the default)
    Category   a kind of item a workload holds ('mail', 'file'): its catalog categories (items, containers), how a
               restore request selects and restores it, its conflict policies, whether a restore splits into
               parts, what is prepared once per restore job, and how one item downloads and a folder exports"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol
from urllib.parse import quote

from core.errors import InvalidRequestError

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.catalog_view import Scope
    from core.models import BackupReport
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion
    from core.storage.directory import DirectoryEntry


class WorkloadHandler(Protocol):
    """Discovery and backup of one workload's resources."""

    name: str  # the workload part of resource keys: 'exchange'

    def discover(self, services: Services) -> list[str]:
        """Owner ids (e.g. user ids) of every resource of this workload in the tenant."""
        ...

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        """Every resource of this workload in the tenant with its names, `included` False for one the selectors
        leave out (discover() is the included ones' owner ids): what the directory keeps."""
        ...

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        """Back up one resource into the stores, recording counts and per-item failures in `report`. Raise only
        for a failure of the whole resource (it is then recorded as failed; its siblings go on)."""
        ...


Selected = tuple["ItemVersion", str]  # an item a restore selects: its version as of the run, its folder path then


@dataclass(frozen=True)
class Selection:
    """What a restore request selects as of a run: every item (version, folder path), and how many folders it
    recreates besides (a drive folder restore brings its empty folders back too). Its size is the items' count, or
    the folders' when it holds no items."""

    items: list[Selected]
    folders: int = 0

    def __len__(self) -> int:
        return len(self.items) or self.folders


@dataclass(frozen=True)
class Pick:
    """One selected item as a restore job keeps it: what a part needs to load it by id and place it, no more."""

    item_id: str
    folder_id: str  # its folder's id as of the run
    path: str  # its folder's path as of the run

    @classmethod
    def of(cls, selected: Selected) -> Pick:
        version, path = selected
        return cls(version.item_id, version.folder_id, path)


@dataclass(frozen=True)
class Rendered:
    """One item's bytes as a standard file, as chunks (iterate once), with their size and SHA-256 when known before
    streaming (None: the stored content's own, which the chunks are verified against as they stream)."""

    chunks: Iterator[bytes]
    size: int | None = None
    sha256: str | None = None


Select = Callable[["Services", "RestoreRequest", str], Selection]
Restore = Callable[["Services", "RestoreRequest", Any, list[Selected]], "RestoreReport"]
Prepare = Callable[["Services", "RestoreRequest", list[Pick]], Any]
Download = Callable[["Services", "Scope", "ItemVersion"], Rendered]
ExportZip = Callable[["Services", "Scope", "str | None", "BinaryIO | Any"], dict[str, Any]]


@dataclass(frozen=True)
class Category:
    name: str  # the catalog category of its items, and its name in the CLI and the API: 'mail'
    folder_category: str  # the catalog category of its containers (mail folders, calendars, drive folders)
    noun: str  # what its items are called in messages: 'messages'
    conflicts: tuple[str, ...]  # the conflict policies a restore of it takes
    # (services, request, run id) -> what the request selects as of the run (NotFoundError: it names what the run
    # lacks); a scope of item ids reads those items (and their folders) by id, never the whole category
    select: Select
    # (services, request pinned to its run, prepared or None, the items of its part) -> what it did; checks nothing
    # (validate_restore checked the point, the conflict policy and the target once) and selects nothing
    restore: Restore
    download: Download  # one item as a standard file
    export_zip: ExportZip  # a folder (None: all) and below, written as a zip into a stream; returns counts
    splits: bool = True  # a large restore runs in parts (else in one)
    # (services, request pinned to its run, the whole selection) -> found once when a restore job is planned (e.g.
    # target folders), kept with the job
    prepare: Prepare | None = None
    own_paths: bool = False  # an item's path is its own (a file's), not its folder's
    # folder id -> path from the folder versions of a run, when paths are rebuilt (drives: from parents), not stored
    folder_paths: Callable[[dict[str, ItemVersion]], dict[str, str]] | None = None
    time_field: str = "received"  # the ItemVersion field a browse's --after/--before compare
    options: tuple[str, ...] = ()  # restore options that apply only to this category ('notify_attendees')
    fallback_name: str = "item"  # file name of an item without one
    suffix: str = ""  # of a downloaded item's file name ('': the item's own name's)
    media_type: str | None = None  # of a downloaded item (None: from its file name)
    content_refs: Callable[[ItemVersion], tuple[str, ...]] = field(default=lambda v: (v.content_hash,))


@dataclass(frozen=True)
class Workload:
    name: str  # the workload part of resource keys
    handler: WorkloadHandler
    categories: tuple[Category, ...]  # the first is the default
    owner_path: str  # Graph path of an owner ('users/{}'): read to tell "gone from the tenant" from "nothing here"
    owner_noun: str  # what an owner is called in messages: 'user', 'site'
    target_path: str  # Graph path read to check a restore target exists ('users/{}/drive')
    target_noun: str  # what a restore target is called in messages ('OneDrive of user')
    path_safe: str = ""  # characters kept as they are in an owner id in a Graph path (a site id: 'host,guid,guid')
    self_service: bool = False  # the owner id is a user object id: that user may browse and restore it
    default_on: bool = False  # backed up when BACKUP_WORKLOADS is not set
    check_target: Callable[[Services, str], None] | None = None  # more than "exists" (a mailbox): NotFoundError
    # the budget a Graph request URL of this workload counts against (Exchange: its mailbox); None: the app's only
    throttle_scope: Callable[[str], str | None] | None = None
    # names a category was recorded under in restore requests of earlier versions (read as the category's)
    aliases: dict[str, str] = field(default_factory=dict)

    def category(self, name: str | None) -> Category:
        """The named category of this workload (None: its default); InvalidRequestError if it has no such one."""
        if name is None:
            return self.categories[0]
        for category in self.categories:
            if category.name == name:
                return category
        names = tuple(c.name for c in self.categories)
        raise InvalidRequestError(f"category must be one of {names} for {self.name}, got {name!r}")

    def graph_path(self, template: str, owner: str) -> str:
        """`template` ('users/{}') with the owner id quoted for a Graph path."""
        return template.format(quote(owner, safe=self.path_safe))
