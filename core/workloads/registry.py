"""The registry: every workload, and through it every item category, that the product backs up and restores. The
rest of the code asks here (core/workloads/base.py says what a Workload and a Category declare); adding a workload
is one package under core/workloads/ and one line in WORKLOADS.

    workload(name)                      the Workload (InvalidRequestError for an unknown name)
    workload_of(resource)               the Workload of a resource key ('exchange:<user id>')
    category_for(resource, name)        one of the resource's categories (None: its workload's default)
    category_names(), workload_names()  for choices and schema enums
    resource_pattern()                  the regular expression of a resource key, for the API's schema
    throttle_scope(url)                 the budget a Graph request counts against (the Graph client's policy)"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import InvalidRequestError
from core.models import ResourceKey
from core.workloads.base import Category, Workload, WorkloadHandler
from core.workloads.chats.workload import CHATS
from core.workloads.exchange.workload import EXCHANGE
from core.workloads.files.workloads import ONEDRIVE, SHAREPOINT
from core.workloads.groups.workload import GROUPS
from core.workloads.teams.workload import TEAMS

if TYPE_CHECKING:
    from core.storage.catalog import ItemVersion

WORKLOADS: dict[str, Workload] = {w.name: w for w in (EXCHANGE, ONEDRIVE, SHAREPOINT, TEAMS, CHATS, GROUPS)}


def workload(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise InvalidRequestError(f"unknown workload {name!r}; known: {', '.join(sorted(WORKLOADS))}") from None


def handler_for(name: str) -> WorkloadHandler:
    """The discovery and backup handler of a workload."""
    return workload(name).handler


def workload_of(resource: str) -> Workload:
    try:
        key = ResourceKey.parse(resource)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    return workload(key.workload)


def content_refs(resource: str) -> Callable[[ItemVersion], tuple[str, ...]]:
    """What names the blobs one version of `resource` references: its category's `content_refs` (a message's MIME,
    an event's attachments, ...), a version's own content hash for a category the workload does not declare; empty
    hashes dropped. Verification, protection, purge and erasure all walk content through it."""
    refs = {c.name: c.content_refs for c in workload_of(resource).categories}

    def of(version: ItemVersion) -> tuple[str, ...]:
        found = refs[version.category](version) if version.category in refs else (version.content_hash,)
        return tuple(sha for sha in found if sha)

    return of


def category_for(resource: str, name: str | None = None) -> Category:
    return workload_of(resource).category(name)


def workload_names() -> tuple[str, ...]:
    return tuple(WORKLOADS)


def default_workloads() -> tuple[str, ...]:
    """What is backed up when BACKUP_WORKLOADS is not set."""
    return tuple(w.name for w in WORKLOADS.values() if w.default_on)


def category_names() -> tuple[str, ...]:
    """Every category name, each once, in registry order."""
    return tuple(dict.fromkeys(c.name for w in WORKLOADS.values() for c in w.categories))


def self_service_workloads() -> tuple[str, ...]:
    return tuple(w.name for w in WORKLOADS.values() if w.self_service)


def throttle_scope(url: str) -> str | None:
    """The budget a Graph request URL counts against, as the first workload that claims it declares (None: the
    app's own limits only). The Graph client's policy asks this (core/graph/policy.py)."""
    for declared in WORKLOADS.values():
        scope = declared.throttle_scope(url) if declared.throttle_scope is not None else None
        if scope is not None:
            return scope
    return None


def resource_pattern() -> str:
    """A resource key: a known workload, ':', and an owner id usable in a Graph path."""
    return rf"^({'|'.join(WORKLOADS)}):[^\s:/\\?#][^\s/\\?#]{{0,255}}$"
