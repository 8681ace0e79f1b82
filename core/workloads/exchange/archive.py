"""Archived messages, the category of a mailbox's in-place archive (Graph beta only; on by default,
BACKUP_ARCHIVE_MAILBOXES=false turns it off): kept as their MIME like mail (archive_backup.py) and as their export
stream (archive_export.py), restored where the owner sees them again, i.e. skipped while still in the archive, else
into the primary mailbox below "Restored from archive", or with `destination="into-archive"` into the archive itself
(archive_restore.py, archive_import.py), downloaded as .eml and exported as a zip of .eml files laid out by archive
folder (core/exports/mail_export.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from core.exports.mail_export import export_mail_zip
from core.workloads.base import Category, Rendered, Selected, Selection
from core.workloads.exchange.archive_backup import ARCHIVE, ARCHIVE_FOLDER
from core.workloads.exchange.archive_export import stream_of
from core.workloads.exchange.archive_restore import (
    CONFLICTS,
    prepare_archive_targets,
    restore_archive,
    select_archived,
)

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.catalog_view import Scope
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _content_refs(version: ItemVersion) -> tuple[str, ...]:
    """The MIME and, when its export succeeded, the message's export stream (what a restore into the archive needs)."""
    stream = stream_of(version.extra)
    return (version.content_hash, *([stream] if stream else []))


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_archived(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_archive(services, request, prepared, items)


def _download(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    return Rendered(services.content.iter_chunks(version.content_hash), version.size)


def _export(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    category = ARCHIVE_CATEGORY
    return export_mail_zip(services, scope.resource, scope.run_id, out, folder, category.name, category.folder_category)


ARCHIVE_CATEGORY = Category(
    name=ARCHIVE,
    folder_category=ARCHIVE_FOLDER,
    noun="archived messages",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    prepare=prepare_archive_targets,
    download=_download,
    export_zip=_export,
    fallback_name="no subject",
    suffix=".eml",
    media_type="message/rfc822",
    options=("into_archive",),  # destination 'into-archive': imported into the archive itself (archive_import.py)
    content_refs=_content_refs,
)
