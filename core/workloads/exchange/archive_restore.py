"""Restore of archived messages as of a run. "In place" means where the owner sees the message again:

- a message still in its archive folder (its id or internetMessageId there, read through the beta Mail API on the
  archive id, a 308 to an auxiliary archive followed) is skipped under `skip`;
- otherwise (gone from the archive, or `keep-both`) it is restored into the **primary** mailbox of the target user,
  below a folder "Restored from archive" and then its archive folder path (`destination=new-folder`: below
  "<destination_name>" instead), as a received message that is not a draft, with its dates, read state, flag,
  categories, importance and attachments: mail's own restore (core/workloads/exchange/mail_restore.py: the message
  created from JSON with its state at creation, attachments after, the restore marker, the target folders found
  or made once). `to_resource` restores into another user's primary mailbox the same way.

Into the archive itself (`destination="into-archive"`): the Mail API guide for archives ("Use Mail APIs with Exchange
archive mailboxes", https://learn.microsoft.com/graph/archive-mailbox-mail-api) documents no message create there;
the mailbox import API does (core/workloads/exchange/archive_import.py): the message's export stream, kept by its
backup, is imported into its original archive folder, unless under `skip` the folder holds it already. A message
without a stream (its export failed at backup), or whose folder is gone from the archive, is restored into the
primary mailbox as above, its report entry saying why (`note`). Only into the owner's own archive.

Never twice: each create carries the restore marker (`<resource>/archive/<item id>`), and `skip` lists each target
folder once and skips what an earlier attempt restored there."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError, GraphNotFound, NotFoundError, StorageError
from core.restore_request import RestoreReport, RestoreRequest
from core.workloads.base import Pick, Selected
from core.workloads.exchange import restore_marker
from core.workloads.exchange.archive_backup import ARCHIVE, ARCHIVE_FOLDER, beta_users, read_archive_id
from core.workloads.exchange.archive_export import stream_of
from core.workloads.exchange.archive_import import ArchiveImports, FolderGone
from core.workloads.exchange.mail_restore import CONFLICTS, restore_into, select_versions
from core.workloads.exchange.mail_targets import ROOT, MailTargets, Resolved
from core.workloads.exchange.restore_marker import ExistingKeys
from core.workloads.folder_paths import join_path

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.catalog import ItemVersion

__all__ = ["CONFLICTS", "prepare_archive_targets", "restore_archive", "select_archived"]
RESTORED_FROM_ARCHIVE = "Restored from archive"


def select_archived(services: Services, request: RestoreRequest, run_id: str) -> list[Selected]:
    return select_versions(services, request, run_id, category=ARCHIVE, folder_category=ARCHIVE_FOLDER)


def _targets(services: Services, request: RestoreRequest, prepared: dict[str, Resolved] | None) -> MailTargets:
    """The primary mailbox's target folders, below "Restored from archive" (or the new folder)."""
    target = request.target_owner or request.key.owner
    under = (prepared or {}).get(ROOT)
    if under is None:
        name = request.new_folder_name() if request.destination == "new-folder" else RESTORED_FROM_ARCHIVE
        under = MailTargets(services.graph, target, same_mailbox=False, well_known={}).resolve(join_path([name]))
    return MailTargets(services.graph, target, same_mailbox=False, well_known={}, under=under, prepared=prepared)


def prepare_archive_targets(services: Services, request: RestoreRequest, picks: list[Pick]) -> dict[str, Resolved]:
    """Every target folder of the job's selection, found or made once when the job is planned."""
    if request.destination == "into-archive":  # the primary's folders are made only for a message that falls back
        return {}
    targets = _targets(services, request, None)
    for folder_id, path in sorted({(p.folder_id, p.path) for p in picks}, key=lambda fp: (fp[1], fp[0])):
        targets.folder(folder_id, path)
    return targets.resolved()


class _InArchive:
    """What the owner's archive holds now, one listing per archive folder (an expanded folder's 308 followed)."""

    def __init__(self, services: Services, owner: str) -> None:
        self._graph, self._owner = services.graph, owner
        self._archive: str | None = None  # not read yet
        self._folders: dict[str, ExistingKeys] = {}

    def _archive_id(self) -> str:
        """The archive's id ('' when the user has none); a GraphError when it cannot be read (each item fails)."""
        if self._archive is None:
            try:
                self._archive = read_archive_id(self._graph, self._owner)
            except GraphNotFound:
                self._archive = ""
        return self._archive

    def holds(self, folder_id: str, item_id: str, internet_message_id: str, fresh: bool = False) -> bool:
        """Whether the archive folder holds the message (`fresh`: listed again, not from this job's listing)."""
        if not self._archive_id():
            return False
        if fresh or folder_id not in self._folders:
            url = (f"{beta_users(self._graph)}/{quote(self._archive_id(), safe='')}/mailFolders/"
                   f"{quote(folder_id, safe='')}/messages")  # fmt: skip
            try:
                self._folders[folder_id] = restore_marker.existing_keys(self._graph, url, messages=True)
            except GraphNotFound:  # the folder is gone from the archive
                self._folders[folder_id] = ExistingKeys()
        return self._folders[folder_id].holds("", item_id, internet_message_id)

    def add(self, folder_id: str, new_id: str, internet_message_id: str) -> None:
        """A message imported into the folder during this job (so a repeat in the job is skipped)."""
        keys = self._folders.get(folder_id)
        if keys is not None:  # not keys.add: its source "" would then match every message
            keys.ids.add(new_id)
            if internet_message_id:
                keys.internet_message_ids.add(internet_message_id)


def restore_archive(
    services: Services, request: RestoreRequest, prepared: dict[str, Resolved] | None, items: list[Selected]
) -> RestoreReport:
    """Restore `items` (this part's archived messages) as of the run the request is pinned to."""
    run_id = str(request.run_id)
    owner = request.key.owner
    target = request.target_owner or owner
    lazy: list[MailTargets] = []  # made when a message is to be restored: a restore that skips all makes no folder

    def targets() -> MailTargets:
        if not lazy:
            lazy.append(_targets(services, request, prepared))
        return lazy[0]

    root = request.new_folder_name() if request.destination == "new-folder" else RESTORED_FROM_ARCHIVE
    into_archive = request.destination == "into-archive"
    report = RestoreReport(request.resource, run_id, target, "" if into_archive else join_path([root]))
    in_place = request.conflict == "skip" and request.destination != "new-folder" and target == owner
    archive = _InArchive(services, owner) if in_place or into_archive else None
    imports = ArchiveImports(services, owner) if into_archive else None
    for version, path in sorted(items, key=lambda vp: (vp[1], vp[0].received, vp[0].item_id)):
        entry = {"item_id": version.item_id, "folder": path, "sha256": version.content_hash, "into": "primary"}
        source = restore_marker.source_key(request.resource, ARCHIVE, version.item_id)
        try:
            held = in_place and archive is not None
            if held and archive.holds(version.folder_id, version.item_id, version.internet_message_id):
                report.skip({**entry, "into": "archive"})  # still where the owner sees it
                continue
            if imports is not None and archive is not None:
                if target != owner:
                    raise ValueError("a restore into the archive goes only into the owner's own archive")
                note = _into_archive(services, imports, archive, version, path, report, entry)
                if not note:
                    continue
                entry = {**entry, "note": note}
            # skipped if restored before (a rerun), or a copy of it is there
            restore_into(services, targets(), target, request.conflict, (version, path), source, "", report, entry)
        except (GraphError, StorageError, NotFoundError, ValueError) as exc:
            report.fail(version.item_id, exc)
    return report


def _into_archive(services: Services, imports: ArchiveImports, archive: _InArchive, version: ItemVersion, path: str,
                  report: RestoreReport, entry: dict) -> str:  # fmt: skip
    """Import one message into its archive folder and report it; '' when done, else why it goes to the primary."""
    stream = stream_of(version.extra)
    if not stream:
        return "no export stream in the backup (its export failed): restored into the primary mailbox"
    imid = version.internet_message_id

    def present() -> bool:
        return archive.holds(version.folder_id, version.item_id, imid, fresh=True)

    try:  # the folder is looked up before anything is sent: FolderGone means nothing was imported
        new_id = imports.restore(version, path, services.content.read(stream), present)
    except FolderGone as exc:
        return f"{exc}: restored into the primary mailbox"
    archive.add(version.folder_id, new_id, imid)
    report.done({**entry, "into": "archive"}, new_id)
    return ""
