"""A site's lists backed up through the delta engine (core.delta.lifecycle.run_category): the Outlook kinds' adapter
(core/workloads/container_folders.py) with the two things lists do their own way: a list's container version holds
its schema (list_backup.record_lists), and a held item is read by id with its fields and normalized like a delta
entry. Called by the SharePoint handler after the site's drives; a failure here is the lists' own (recorded in the
report), never the drives'."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from core.delta.containers import Container
from core.delta.lifecycle import Resource, run_category
from core.errors import GraphNotFound
from core.storage.catalog import OpenVersion
from core.storage.quarantine import HeldItem
from core.workloads.container_delta import IMMUTABLE_IDS, MailboxJob
from core.workloads.container_folders import OutlookKind
from core.workloads.kind_job import kind_job
from core.workloads.lists.list_backup import (
    LIST_FOLDER,
    LIST_ITEM,
    LIST_ITEM_KIND,
    item_path,
    list_lists,
    normalized,
    record_lists,
)

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport


class ListKind(OutlookKind):
    """List items of one site, as the engine drives them."""

    retry_outside = False  # list items never move between lists: a held item is read only with its list

    def __init__(self, job: MailboxJob, list_index: dict[str, OpenVersion], raws: dict[str, dict[str, Any]]) -> None:
        super().__init__(job, list_index)
        self.label = "list"
        self._raws = raws
        self._list_index = list_index

    def record(self, containers: list[Container]) -> None:
        self._containers = {c.id: c for c in containers}
        record_lists(self.job, containers, self._raws, self._list_index)

    def read_held(self, item: HeldItem) -> dict | None:
        try:
            entry = self.job.graph.get_json(item_path(self.job.user, item.item_id), params={"$expand": "fields"},
                                            headers=IMMUTABLE_IDS)  # fmt: skip
        except GraphNotFound:
            return None
        return normalized(item.container_id, entry)


def backup_lists(
    services: Services,
    run_id: str,
    resource: str,
    site: str,
    report: BackupReport,
    held: list[HeldItem] | None = None,
) -> None:
    """Every backed-up list of the site (see list_backup): schema, items by list item delta, held items retried.
    `held`: the site's held items as its backup read them once for the drives and the lists (None: read here)."""
    containers, raws = list_lists(services.graph, site)
    held = [h for h in (services.quarantine.held(resource) if held is None else held) if h.category == LIST_ITEM]
    with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="list-item") as pool:
        job = kind_job(services, resource, site, run_id, report, LIST_ITEM_KIND, pool, held)
        adapter = ListKind(job, services.catalog.open_index(resource, LIST_FOLDER), raws)
        run_category(Resource(resource, run_id, report, services.delta_state, services.quarantine), adapter, containers)
