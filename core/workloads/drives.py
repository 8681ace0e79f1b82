"""What the OneDrive and SharePoint workloads share: backing up a resource's drives into one catalog partition."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from core.workloads import drive_backup

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport


def backup_drives(
    services: Services, run_id: str, resource: str, drives: list[tuple[str, str]], report: BackupReport
) -> None:
    """Back up each (drive id, name) of the resource; one drive failing does not stop the others."""
    writer = services.catalog.writer(resource)
    files = services.catalog.open_index(resource, drive_backup.FILE)
    folders = services.catalog.open_index(resource, drive_backup.DRIVE_FOLDER)
    states = services.delta_state.load(resource)
    with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="drive-item") as pool:
        for drive_id, name in drives:
            job = drive_backup.DriveJob(
                resource=resource,
                run_id=run_id,
                drive_id=drive_id,
                drive_name=name,
                graph=services.graph,
                content=services.content,
                delta_state=services.delta_state,
                writer=writer,
                files=files,
                folders=folders,
                report=report,
                pool=pool,
                page_size=services.settings.page_size,
            )
            try:
                drive_backup.backup_drive(job, states.get((drive_backup.DRIVE, drive_id)))
            except Exception as exc:  # this drive failed; the resource's other drives go on
                report.fail(f"drive {name}", exc)
    writer.flush()
