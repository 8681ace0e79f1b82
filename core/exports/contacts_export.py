"""A mailbox's contacts as of a run, as one .vcf file, streamed contact by contact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from core import work_progress
from core.exports.vcard import contact_to_vcard
from core.workloads.exchange.contacts_backup import CONTACT, CONTACT_FOLDER
from core.workloads.folder_paths import is_within

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.catalog import ItemVersion


def export_contacts_vcf(
    services: Services, resource: str, run_id: str | None, out: BinaryIO, folder: str | None = None
) -> dict:
    """Write every contact (of `folder` and below, if given) as of the run; returns {run_id, contacts}."""
    run = services.runs.resolve_point(resource, run_id)
    paths = {v.item_id: v.folder_path for v in services.catalog.as_of(resource, CONTACT_FOLDER, run)}

    def selected() -> Iterator[ItemVersion]:
        for version in services.catalog.as_of(resource, CONTACT, run):
            if folder is None or is_within(paths.get(version.folder_id, version.folder_path), folder):
                yield version

    count = 0
    for version in work_progress.counted(selected):  # watched: counted first (core/work_progress.py)
        contact = json.loads(services.content.read(version.content_hash))
        extra = json.loads(version.extra) if version.extra else {}
        photo = services.content.read(extra["photo"]) if extra.get("photo") else None
        out.write(contact_to_vcard(contact, photo).encode())
        count += 1
        work_progress.finished(version.item_id)
    return {"run_id": run, "contacts": count}
