"""The Exchange workload: one resource per mailbox user, whose mail, contacts and calendars are backed up in one
activity (one per-mailbox Graph budget), each kind through the delta engine (core.delta.lifecycle) with its
Outlook adapter (core/workloads/container_folders.py). Its restores are its categories' (mail.py, contacts.py,
events.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from core.delta.containers import Container
from core.delta.lifecycle import Resource, run_category
from core.errors import GraphError, GraphNotFound
from core.storage.directory import DirectoryEntry
from core.workloads import container_delta
from core.workloads.container_folders import OutlookKind
from core.workloads.discovered import user_entries
from core.workloads.exchange.archive_backup import backup_archive
from core.workloads.exchange.contacts_backup import CONTACT_KIND, list_contact_folders
from core.workloads.exchange.events_backup import EVENT_KIND, list_calendars
from core.workloads.exchange.mail_backup import MAIL_KIND
from core.workloads.exchange.mail_folders import MailFolder, list_folders, with_well_known
from core.workloads.exchange.mailbox_purpose import record_purpose
from core.workloads.exchange.tasks_backup import TASK_KIND, TodoKind, list_task_lists
from core.workloads.kind_job import kind_job

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.storage.quarantine import HeldItem

NO_MAILBOX_CODES = {"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "resourcenotfound"}


def as_container(folder: MailFolder) -> Container:
    return Container(folder.id, folder.display_name, folder.parent_id, folder.path, folder.well_known)


class ExchangeHandler:
    name = "exchange"

    def discover(self, services: Services) -> list[str]:
        """Users with a mail address (the ones that can have a mailbox), by id."""
        return [e.owner for e in self.discover_named(services) if e.included]

    def discover_named(self, services: Services) -> list[DirectoryEntry]:
        """Every user with a mail address (shared, room and equipment mailboxes too), named, the selected ones
        `included`."""
        return [e for e in user_entries(services, self.name) if e.mail]

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        """Mail, contacts and calendars of one mailbox: one activity, so one per-mailbox Graph budget."""
        try:
            folders = list_folders(services.graph, owner)
            recorded = services.catalog.open_index(f"{self.name}:{owner}", MAIL_KIND.folder_category)
            signatures = {fid: v.change_key for fid, v in recorded.items()}
            folders = [as_container(f) for f in with_well_known(services.graph, owner, folders, signatures)]
        except GraphNotFound as exc:
            if exc.code.lower() in NO_MAILBOX_CODES:
                report.skipped_reason = f"no mailbox ({exc.code})"
                return
            raise
        record_purpose(services.graph, owner, report)  # a shared mailbox is backed up as any, and shown as shared
        held = services.quarantine.held(f"{self.name}:{owner}")  # one read for every kind
        with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="mailbox-item") as pool:
            self._backup_kind(services, run_id, owner, report, MAIL_KIND, folders, pool, held)
            kinds = ((CONTACT_KIND, list_contact_folders), (EVENT_KIND, list_calendars), (TASK_KIND, list_task_lists))
            for kind, lister in kinds:
                try:
                    containers = lister(services.graph, owner)
                except GraphError as exc:
                    report.fail(f"{kind.category} containers", exc)
                else:
                    self._backup_kind(services, run_id, owner, report, kind, containers, pool, held)
            backup_archive(services, run_id, owner, report, self._backup_kind, pool, held)  # its in-place archive

    def _backup_kind(
        self,
        services: Services,
        run_id: str,
        owner: str,
        report: BackupReport,
        kind: container_delta.ItemKind,
        containers: list[Container],
        pool: ThreadPoolExecutor,
        held: list[HeldItem],
    ) -> None:
        resource = f"{self.name}:{owner}"
        job = kind_job(services, resource, owner, run_id, report, kind, pool, held)
        make = TodoKind if kind is TASK_KIND else OutlookKind  # To Do tasks are read by id under their list
        adapter = make(job, services.catalog.open_index(resource, kind.folder_category))
        where = Resource(resource, run_id, report, services.delta_state, services.quarantine)
        run_category(where, adapter, containers)
