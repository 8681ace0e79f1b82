"""The restore of chat messages that cannot go back into their chat (a meeting chat, a chat that is gone or the
target user is not in, a message soft-deleted there since, every restore 'into a new folder'): each such chat's
messages, exactly those selected and as of the run, rendered as its self-contained HTML transcript and its
messages.json (core/exports/transcripts.py, the bytes a zip export of them holds) and uploaded into the chat
owner's OneDrive (the target user's, when the request names one): `Restored chats/<folder>/<chat name>.html` and
`.json`, <folder> the request's new folder name for a new-folder restore, else `As of run <run id>`.

Graph calls: the user's OneDrive (https://learn.microsoft.com/graph/api/drive-get, GET /users/{id}/drive; 404 when
the user has none), its root and the two folders found or created as a drive restore's are
(core/workloads/files/drive_restore.py), each file looked up by path (https://learn.microsoft.com/graph/api/
driveitem-get, /items/{folder id}:/{name}:) and uploaded when it is not there (https://learn.microsoft.com/graph/
api/driveitem-put-content with `@microsoft.graph.conflictBehavior=fail`, an upload session past 4 MiB: so a repeat
can only be refused, never land a second copy). Never twice: a file already there whose size and quickXorHash
(https://learn.microsoft.com/graph/api/resources/hashes) are those of the transcript is the earlier attempt's, so
a rerun uploads nothing and reports the messages 'skipped' (conflict 'skip') or failed (conflict 'fail'); a file of
that name with other content (another selection of the same chat and run) is left alone and the transcript goes to
`<chat name> (2).html` (and .json), the next free or identical pair."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import BackupError, GraphConflict, GraphNotFound, MalformedResponse
from core.exports.mail_export import safe_segment
from core.exports.transcripts import transcript_files
from core.graph.drive_upload import upload_file
from core.graph.quickxor import QuickXorHash
from core.restore_request import RestoreReport, RestoreRequest
from core.storage.catalog import ItemVersion
from core.workloads.chats.chat_messages import CHAT_MESSAGE
from core.workloads.files.drive_restore import ensure_drive_folder
from core.workloads.folder_paths import join_path, split_path

if TYPE_CHECKING:
    from core.bootstrap import Services

RESTORED_CHATS = "Restored chats"  # the OneDrive folder every chat transcript restore writes under
COPIES = 20  # names tried per chat: '<chat>.html', '<chat> (2).html', ...


class NoOneDrive(BackupError):
    """The user restored into has no OneDrive (not provisioned, or removed)."""


def drop_folder(request: RestoreRequest) -> str:
    """The OneDrive folder path a request's transcripts go to."""
    name = request.new_folder_name() if request.destination == "new-folder" else f"As of run {request.run_id}"
    return join_path([RESTORED_CHATS, name])


def _same(item: dict[str, Any], data: bytes) -> bool:
    """Whether a driveItem holds exactly `data` (its size and quickXorHash; without a hash it is not assumed)."""
    hashes = (item.get("file") or {}).get("hashes") or {}
    quickxor = QuickXorHash()
    quickxor.update(data)
    return item.get("size") == len(data) and hashes.get("quickXorHash") == quickxor.base64()


@dataclass
class TranscriptDrop:
    """Where one restore leaves its chat transcripts: the owner's OneDrive folder, found or made on first use."""

    services: Services
    request: RestoreRequest
    owner: str
    path: str = ""
    _place: tuple[str, str] | None = field(default=None, repr=False)  # (drive id, folder id)

    def __post_init__(self) -> None:
        self.path = drop_folder(self.request)

    def _folder(self) -> tuple[str, str]:
        if self._place is None:
            user = quote(self.owner, safe="")
            try:
                drive = self.services.graph.get_json(f"users/{user}/drive", params={"$select": "id"})
            except GraphNotFound:
                raise NoOneDrive(f"user {self.owner} has no OneDrive") from None
            if not isinstance(drive.get("id"), str):
                raise MalformedResponse(f"the OneDrive of user {self.owner} answered without an id")
            self._place = (drive["id"], ensure_drive_folder(self.services, drive["id"], self.path))
        return self._place

    def _lookup(self, name: str) -> dict[str, Any] | None:
        drive, folder = self._folder()
        item_path = f"drives/{quote(drive, safe='')}/items/{quote(folder, safe='')}:/{quote(name, safe='')}:"
        try:
            return self.services.graph.get_json(item_path)
        except GraphNotFound:
            return None

    def _put(self, name: str, data: bytes) -> dict[str, Any]:
        drive, folder = self._folder()
        try:
            return upload_file(self.services.graph, drive, folder, name, io.BytesIO(data), len(data), conflict="fail")
        except GraphConflict:  # made meanwhile (or by this very upload, its first answer lost): the same bytes?
            found = self._lookup(name)
            if found is None or not _same(found, data):
                raise
            return found

    def place(self, chat: str, files: tuple[tuple[str, bytes], ...]) -> tuple[str, str, bool]:
        """Upload `files` ((suffix, bytes)) as '<chat><suffix>' each, under the first stem whose files are absent
        or already these bytes: (stem, id of the first file, whether anything was uploaded)."""
        for copy in range(1, COPIES + 1):
            stem = chat if copy == 1 else f"{chat} ({copy})"
            found = [self._lookup(stem + suffix) for suffix, _data in files]
            if any(item is not None and not _same(item, data) for item, (_s, data) in zip(found, files, strict=True)):
                continue  # another transcript holds this name: left alone
            ids, made = [], False
            for item, (suffix, data) in zip(found, files, strict=True):
                if item is None:
                    item, made = self._put(stem + suffix, data), True
                ids.append(str(item.get("id") or ""))
            if not ids[0]:
                raise MalformedResponse(f"the upload of {stem + files[0][0]!r} answered without an id")
            return stem, ids[0], made
        raise GraphConflict(f"{COPIES} other transcripts named {chat!r} are already in {self.path}")

    def export(self, report: RestoreReport, path: str, versions: dict[str, ItemVersion], keys: list[str]) -> None:
        """Leave the transcript of the messages `keys` of the chat at `path` in the folder; report each."""
        if not keys:
            return
        segments = split_path(path)
        chat = safe_segment(segments[-1] if segments else "", "Chat")
        try:
            page, document = transcript_files(self.services, path, [versions[k] for k in sorted(keys)])
            stem, file_id, made = self.place(chat, ((".html", page), (".json", document)))
        except NoOneDrive as exc:
            run, resource = self.request.run_id, self.request.resource
            hint = f"python -m core export {resource} --zip --category {CHAT_MESSAGE} --folder {path!r} --run {run}"
            for key in keys:
                report.fail(key, f"{exc} to hold the transcript of {path!r}; export it instead: {hint} --out chat.zip")
            return
        except (BackupError, OSError, ValueError, KeyError) as exc:
            for key in keys:
                report.fail(key, exc)
            return
        report.destination = report.destination or self.path
        where = join_path([*split_path(self.path), f"{stem}.html"])
        for key in sorted(keys):
            entry = {"item_id": key, "folder": path, "sha256": versions[key].content_hash, "transcript": where}
            if made:
                report.done(entry, file_id, status="exported")
            elif self.request.conflict == "fail":
                report.fail(key, f"already exported to the OneDrive of {self.owner}: {where}")
            else:
                report.skip(entry, new_id=file_id)
