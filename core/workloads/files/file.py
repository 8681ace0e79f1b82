"""Files, the one category of a drive (a OneDrive, a SharePoint document library): kept byte for byte with their
folders, sharing and metadata (core/workloads/files/drive_backup.py), restored into their folders or a new one
with skip / keep-both / replace / fail (drive_restore.py), downloaded as themselves and exported as a zip in their
folder structure (core/exports/files_export.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.exports.files_export import write_files_zip
from core.workloads.base import Category, Rendered, Selected, Selection
from core.workloads.files.drive_backup import DRIVE_FOLDER, FILE
from core.workloads.files.drive_restore import BEHAVIOUR, folder_paths, restore_files, select_files

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.catalog_view import Scope
    from core.restore_request import RestoreReport, RestoreRequest
    from core.storage.catalog import ItemVersion


def _select(services: Services, request: RestoreRequest, run_id: str) -> Selection:
    """The selected files, and the folders the restore recreates (a folder of only empty folders selects those)."""
    files, trees = select_files(services, request, run_id)
    return Selection(files, len(trees))


def _restore(services: Services, request: RestoreRequest, prepared: Any, items: list[Selected]) -> RestoreReport:
    return restore_files(services, request, items)


def _download(services: Services, scope: Scope, version: ItemVersion) -> Rendered:
    return Rendered(services.content.iter_chunks(version.content_hash), version.size)


FILE_CATEGORY = Category(
    name=FILE,
    folder_category=DRIVE_FOLDER,
    noun="files",
    conflicts=tuple(BEHAVIOUR),
    select=_select,
    restore=_restore,
    download=_download,
    export_zip=write_files_zip,
    own_paths=True,
    folder_paths=folder_paths,
    time_field="modified",
    fallback_name="file",
)
