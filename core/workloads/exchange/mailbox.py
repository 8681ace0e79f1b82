"""The Exchange workload: one resource per mailbox user, whose mail, contacts and calendars are backed up in one
activity (one per-mailbox Graph budget), each kind through the delta engine (core.delta.lifecycle) with its
Outlook adapter (core/workloads/container_folders.py). Its restores are its categories' (mail.py, contacts.py,
events.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

from core.delta.containers import Container
from core.delta.lifecycle import CategoryGroup, Resource
from core.errors import GraphError, GraphNotFound
from core.graph.batch import prefetch
from core.storage.directory import DirectoryEntry
from core.workloads import container_delta
from core.workloads.container_folders import OutlookKind
from core.workloads.discovered import user_entries
from core.workloads.exchange.archive_backup import backup_archive
from core.workloads.exchange.contacts_backup import CONTACT_KIND, contact_tree
from core.workloads.exchange.events_backup import EVENT_KIND, list_calendars
from core.workloads.exchange.folder_tree import TREE, TreeRound, TreeSource, mail_source, read_tree
from core.workloads.exchange.mail_backup import MAIL_KIND
from core.workloads.exchange.mail_folders import MailFolder, with_well_known
from core.workloads.exchange.mailbox_purpose import record_purpose
from core.workloads.exchange.mailbox_reads import mailbox_reads
from core.workloads.exchange.tasks_backup import TASK_KIND, TodoKind, list_task_lists
from core.workloads.kind_job import kind_job

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.storage.catalog import CatalogWriter
    from core.storage.delta_state import DeltaState
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
        """Mail, contacts, calendars and To Do lists of one mailbox: one activity, so one per-mailbox Graph budget.
        The mail and contact folder trees come from folder delta (folder_tree.py); calendars and task lists, which
        have no tree, from one listing each per mailbox."""
        resource = f"{self.name}:{owner}"
        states = services.delta_state.load(resource)  # every run's first reads, ahead in $batch (mailbox_reads.py)
        kept = prefetch(services.graph, mailbox_reads(owner, states, services.settings.page_size))
        try:
            self._backup_mailbox(services, run_id, owner, report)
        finally:
            services.graph.prefetched.forget(kept)  # what no request asked for is dropped with the mailbox

    def _backup_mailbox(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        resource = f"{self.name}:{owner}"
        try:
            tree = _tree(services, resource, run_id, report, MAIL_KIND, mail_source(owner))
            recorded = services.catalog.open_index(resource, MAIL_KIND.folder_category)
            signatures = {fid: v.change_key for fid, v in recorded.items()}
            listed = [MailFolder(c.id, c.name, c.parent_id, c.path) for c in tree.folders]
            folders = [as_container(f) for f in with_well_known(services.graph, owner, listed, signatures)]
        except GraphNotFound as exc:
            if exc.code.lower() in NO_MAILBOX_CODES:
                report.skipped_reason = f"no mailbox ({exc.code})"
                return
            raise
        record_purpose(services.graph, owner, report)  # a shared mailbox is backed up as any, and shown as shared
        held = services.quarantine.held(f"{self.name}:{owner}")  # one read for every kind
        # Mail and the other kinds run side by side, each kind with its own index (they share the item pool, the
        # mailbox's request slots and one catalog writer): the few requests of contacts, calendars and To Do lists,
        # one after another, fill the slots mail leaves idle between its folders instead of following it (issue 16:
        # one mailbox close to its 4-request ceiling). Their rounds, and its archive's after them, wait for the same
        # commits (one `CategoryGroup`): a small mailbox's catalog changes are one commit, not one per kind; the
        # folder trees' links follow it.
        together = _Together(
            services.catalog.writer(resource),
            Resource(resource, run_id, report, services.delta_state, services.quarantine),
        )
        trees = [tree.state]
        with (ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="mailbox-item") as pool,
              ThreadPoolExecutor(1, thread_name_prefix="mailbox-kinds") as beside):  # fmt: skip
            others = beside.submit(self._other_kinds, services, run_id, owner, report, pool, held, together, trees)
            try:
                try:
                    mail = MAIL_KIND
                    self._backup_kind(services, run_id, owner, report, mail, folders, pool, held, together=together)
                finally:
                    others.result()  # mail failing still waits for them (and their own failure is raised)
                archive = partial(self._backup_kind, together=together)  # its in-place archive, in the same commits
                backup_archive(services, run_id, owner, report, archive, pool, held)
            except Exception:  # what the kinds did is committed and settled all the same (a stop is not: it sends
                together.group.close()  # nothing more), and the trees' links stay where they were
                raise
            together.group.close()
            if not together.group.lost:  # the folder versions the trees gave are committed
                for state in trees:
                    services.delta_state.save(resource, state)

    def _other_kinds(
        self, services: Services, run_id: str, owner: str, report: BackupReport, pool: ThreadPoolExecutor,
        held: list[HeldItem], together: _Together, trees: list[DeltaState],
    ) -> None:  # fmt: skip
        """Contacts (their folder tree first), calendars and To Do lists of the mailbox."""
        resource = f"{self.name}:{owner}"
        try:
            contacts = _tree(services, resource, run_id, report, CONTACT_KIND, contact_tree(owner))
        except GraphError as exc:
            report.fail(f"{CONTACT_KIND.category} containers", exc)
        else:
            kind = CONTACT_KIND
            self._backup_kind(services, run_id, owner, report, kind, contacts.folders, pool, held, together=together)
            trees.append(contacts.state)
        for kind, lister in ((EVENT_KIND, list_calendars), (TASK_KIND, list_task_lists)):
            try:
                containers = lister(services.graph, owner)
            except GraphError as exc:
                report.fail(f"{kind.category} containers", exc)
            else:
                self._backup_kind(services, run_id, owner, report, kind, containers, pool, held, together=together)

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
        *,
        together: _Together,
    ) -> None:
        """One kind's containers through the engine, in the mailbox's group and writer (`together`)."""
        resource = f"{self.name}:{owner}"
        job = kind_job(services, resource, owner, run_id, report, kind, pool, held, writer=together.writer)
        make = TodoKind if kind is TASK_KIND else OutlookKind  # To Do tasks are read by id under their list
        adapter = make(job, services.catalog.open_index(resource, kind.folder_category), read_ahead=True)
        try:
            together.group.run(adapter, containers)
        finally:
            services.graph.prefetched.forget(adapter.read_ahead_keys)  # full rounds' first pages, used or not


class _Together:
    """The mailbox's kinds that share one catalog writer and whose rounds wait for the same commits."""

    def __init__(self, writer: CatalogWriter, where: Resource) -> None:
        self.writer = writer
        self.group = CategoryGroup(where)


def _tree(
    services: Services,
    resource: str,
    run_id: str,
    report: BackupReport,
    kind: container_delta.ItemKind,
    source: TreeSource,
) -> TreeRound:
    """A kind's folder tree now, from its saved tree link and the folder versions the backup holds."""
    states = services.delta_state.load(resource)
    index = services.catalog.open_index(resource, kind.folder_category)
    linked = frozenset(cid for category, cid in states if category == kind.category)  # containers with a link
    saved = states.get((TREE, kind.folder_category))
    return read_tree(services.graph, kind.folder_category, source, saved, index, run_id, report.note, linked)
