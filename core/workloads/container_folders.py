"""Containers of an Outlook item kind (mail folders, contact folders, calendars) as catalog versions: a new version
when a container appears, is renamed or moved; ended when it disappears, with its live items and its delta link."""

from __future__ import annotations

import json

from core.storage.catalog import ItemVersion, OpenVersion
from core.workloads.container_delta import Container, MailboxJob


def record_folders(job: MailboxJob, folders: list[Container], folder_index: dict[str, OpenVersion]) -> None:
    """Folder versions: a new version when a folder appears, is renamed or moved; ended when it disappears."""
    current = {f.id for f in folders}
    for folder in folders:
        previous = folder_index.get(folder.id)
        signature = folder_signature(folder)
        if previous is not None and previous.change_key == signature:
            continue
        job.writer.supersede(
            previous,
            ItemVersion(
                category=job.kind.folder_category,
                item_id=folder.id,
                first_seen_run=job.run_id,
                folder_id=folder.parent_id,
                folder_path=folder.path,
                name=folder.display_name,
                change_key=signature,
                extra=json.dumps({"wellKnownName": folder.well_known}) if folder.well_known else "",
            ),
        )
    for folder_id, previous in folder_index.items():
        if folder_id not in current:
            job.writer.close(job.kind.folder_category, folder_id, previous.first_seen_run, job.run_id)
    job.writer.flush()


def folder_signature(folder: Container) -> str:
    """What makes a new folder version: parent and path, and for a mailbox's top folder its well-known name
    ('-' when it has none), so a backup knows which of its folders was the Inbox whatever its display name."""
    signature = f"{folder.parent_id}\n{folder.path}"
    return f"{signature}\n{folder.well_known or '-'}" if folder.well_known is not None else signature


def end_removed_folder(job: MailboxJob, folder_id: str) -> None:
    """A folder gone from the mailbox: its live messages are ended and its delta link cleared."""
    for item_id, version in list(job.index.items()):
        if version.folder_id == folder_id:
            job.writer.close(job.kind.category, item_id, version.first_seen_run, job.run_id)
            del job.index[item_id]
            job.report.add(removed=1)
    job.writer.flush()
    job.delta_state.forget(job.resource, job.kind.category, folder_id, job.run_id)
