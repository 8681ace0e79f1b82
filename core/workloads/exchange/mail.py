"""Mail, the default category of a mailbox: messages kept as their MIME (core/workloads/exchange/mail_backup.py),
restored as messages that are not drafts, in their folders or a new one (mail_restore.py), downloaded as .eml and
exported as a zip of .eml files laid out by folder (core/exports/mail_export.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from core.exports.mail_export import export_mail_zip
from core.storage.catalog import FOLDER
from core.workloads.base import Category, Rendered, Selected, Selection
from core.workloads.exchange.mail_backup import MAIL
from core.workloads.exchange.mail_restore import CONFLICTS, prepare_targets, restore_mail, select_versions

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.catalog_view import Scope
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    return Selection(select_versions(services, request, run_id))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_mail(services, request, prepared, items)


def _download(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    return Rendered(services.content.iter_chunks(version.content_hash), version.size)


def _export(services: Services, scope: Scope, folder: str | None, out: BinaryIO | Any) -> dict[str, Any]:
    return export_mail_zip(services, scope.resource, scope.run_id, out, folder=folder)


MAIL_CATEGORY = Category(
    name=MAIL,
    folder_category=FOLDER,
    noun="messages",
    conflicts=CONFLICTS,
    select=_select,
    restore=_restore,
    prepare=prepare_targets,
    download=_download,
    export_zip=_export,
    fallback_name="no subject",
    suffix=".eml",
    media_type="message/rfc822",
)
