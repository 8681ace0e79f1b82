"""What the OneDrive and SharePoint workloads share: backing up a resource's drives into one catalog partition, and
ending the drives that are gone from it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphNotFound
from core.workloads import drive_backup

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.models import BackupReport


def backup_drives(
    services: Services,
    run_id: str,
    resource: str,
    drives: list[tuple[str, str]],
    report: BackupReport,
    present: set[str] | None = None,
) -> None:
    """Back up each (drive id, name) of the resource; one drive failing does not stop the others. `present`: every
    drive the resource has now (backed up or not, e.g. excluded by a selector; default: `drives`). A drive the
    resource had before and no longer has is ended (drive_backup.end_drive) once a read by id confirms it is gone."""
    writer = services.catalog.writer(resource)
    files = services.catalog.open_index(resource, drive_backup.FILE)
    folders = services.catalog.open_index(resource, drive_backup.DRIVE_FOLDER)
    states = services.delta_state.load(resource)
    categories = (drive_backup.FILE, drive_backup.DRIVE_FOLDER)
    held = [i for i in services.quarantine.held(resource) if i.category in categories]
    present = {d for d, _ in drives} if present is None else present
    known = {c for category, c in states if category == drive_backup.DRIVE}
    known |= {key.split("/", 1)[0] for key in (*files, *folders)} | {i.container_id for i in held}
    with ThreadPoolExecutor(services.settings.item_concurrency, thread_name_prefix="drive-item") as pool:

        def job_for(drive_id: str, name: str) -> drive_backup.DriveJob:
            return drive_backup.DriveJob(
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
                quarantine=services.quarantine,
                held={i.item_id: i for i in held if i.container_id == drive_id},
            )

        for drive_id, name in drives:
            try:
                drive_backup.backup_drive(job_for(drive_id, name), states.get((drive_backup.DRIVE, drive_id)))
            except Exception as exc:  # this drive failed; the resource's other drives go on
                report.fail(f"drive {name}", exc)
        for drive_id in sorted(known - present):
            state = states.get((drive_backup.DRIVE, drive_id))
            name = state.container_path if state else drive_id
            try:
                _end_if_gone(services, job_for(drive_id, name), report)
            except Exception as exc:
                report.fail(f"removed drive {name}", exc)
    writer.flush()


def _end_if_gone(services: Services, job: drive_backup.DriveJob, report: BackupReport) -> None:
    """A drive no longer in the resource's list: ended if Graph confirms it is gone (404 by id), else left alone."""
    try:
        services.graph.get_json(f"drives/{quote(job.drive_id, safe='')}", params={"$select": "id"})
    except GraphNotFound:
        drive_backup.end_drive(job)
        report.note(f"drive {job.drive_name} is gone: its items end at this run")
        return
    report.note(f"drive {job.drive_name} is no longer listed but still exists: kept as it was")
