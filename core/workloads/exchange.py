"""The Exchange workload: one resource per mailbox user (mail today; contacts and calendars join it, under the
same per-mailbox Graph budget)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from core.errors import GraphNotFound
from core.selectors import Selectors
from core.storage.catalog import FOLDER
from core.workloads import container_delta
from core.workloads.mail_backup import MAIL, MAIL_KIND
from core.workloads.mail_folders import MailFolder, list_folders
from core.workloads.mail_restore import restore_mail

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport
    from core.restore_request import RestoreReport, RestoreRequest

NO_MAILBOX_CODES = {"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "resourcenotfound"}


class ExchangeHandler:
    name = "exchange"

    def discover(self, services: Services) -> list[str]:
        """Users with a mail address (the ones that can have a mailbox), by id."""
        selectors = Selectors.from_settings(services.settings)
        owners = []
        params = {"$select": "id,mail,userPrincipalName", "$top": "999"}
        for page in services.graph.iter_pages("users", params=params):
            owners.extend(
                u["id"] for u in page if isinstance(u, dict) and u.get("mail") and u.get("id") and selectors.user(u)
            )
        return owners

    def backup(self, services: Services, run_id: str, owner: str, report: BackupReport) -> None:
        try:
            folders = list_folders(services.graph, owner)
        except GraphNotFound as exc:
            if exc.code.lower() in NO_MAILBOX_CODES:
                report.skipped_reason = f"no mailbox ({exc.code})"
                return
            raise
        with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="mail-item") as pool:
            self._backup_mail(services, run_id, owner, report, folders, pool)

    def _backup_mail(
        self,
        services: Services,
        run_id: str,
        owner: str,
        report: BackupReport,
        folders: list[MailFolder],
        pool: ThreadPoolExecutor,
    ) -> None:
        resource = f"{self.name}:{owner}"
        writer = services.catalog.writer(resource)
        job = container_delta.MailboxJob(
            user=owner,
            resource=resource,
            run_id=run_id,
            graph=services.graph,
            content=services.content,
            delta_state=services.delta_state,
            writer=writer,
            index=services.catalog.open_index(resource, MAIL),
            report=report,
            pool=pool,
            page_size=services.settings.page_size,
            kind=MAIL_KIND,
        )
        container_delta.record_folders(job, folders, services.catalog.open_index(resource, FOLDER))
        states = services.delta_state.load(resource)
        for folder in folders:
            try:
                container_delta.backup_folder(job, folder, states.get((MAIL, folder.id)))
            except Exception as exc:  # one folder failing must not stop the others
                report.fail(f"folder {folder.path}", exc)
        current = {f.id for f in folders}
        for category, folder_id in states:
            if category == MAIL and folder_id not in current:
                container_delta.end_removed_folder(job, folder_id)
        writer.flush()

    def restore(self, services: Services, request: RestoreRequest) -> RestoreReport:
        return restore_mail(services, request)
