"""A restore of archived messages into the archive itself (`destination="into-archive"`): each message's export stream,
kept by its backup (archive_export.py), imported through the mailbox import API (core/workloads/exchange/
mailbox_api.py) into its original archive folder, found by path among the archive's folders as that API lists them.
The message is then in the archive as the owner had it: the stream is Exchange's full-fidelity copy, not a create
from MIME, so it is no draft and keeps its dates, read state, flag and categories.

- the session is made on the main archive (the id settings/exchange names) and reused for the job; a folder whose
  content an auxiliary archive holds answers 409 naming that mailbox: a session is made there and the import sent
  again (a documented refusal: nothing was imported), and later imports into that folder go there directly;
- an expired or refused session (401/404 at the import URL, nothing imported) is replaced once;
- never twice: the caller checks the archive folder (beta Mail API, by internetMessageId) before an import, and an
  import whose answer was lost (GraphAmbiguousWrite) is not sent again before that folder is listed afresh and shows
  no message with that internetMessageId; a message without one cannot be checked, so it is not sent again at all;
- folders are not created: a folder gone from the archive (recreating it would need MailboxFolder.ReadWrite.All,
  which this app does not ask for) makes the caller restore the message into the primary mailbox, with a note."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import GraphAmbiguousWrite, GraphAuthError, GraphConflict, GraphNotFound
from core.workloads.exchange import mailbox_api
from core.workloads.exchange.archive_backup import read_archive_id

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.storage.catalog import ItemVersion

IMPORT_ATTEMPTS = 3  # an import whose outcome stays unknown this many times (each checked first) is reported failed
MAX_MAILBOX_HOPS = 2  # main archive -> the auxiliary a 409 names (and one more, should that one move again)


class FolderGone(LookupError):
    """The archive folder a message came from is not in the archive now (or the owner has no archive now)."""


class ArchiveImports:
    """One restore part's imports into one user's archive: its folders listed once, one session per mailbox."""

    def __init__(self, services: Services, owner: str) -> None:
        self._services, self._graph, self._owner = services, services.graph, owner
        self._archive = ""
        self._folders: dict[str, str] | None = None
        self._sessions: dict[str, mailbox_api.ImportSession] = {}
        self._mailbox_of_folder: dict[str, str] = {}  # folder id -> the mailbox its imports go to (after a 409)

    def archive_id(self) -> str:
        """The owner's archive (settings/exchange); FolderGone when the owner has none now."""
        if not self._archive:
            self._archive = read_archive_id(self._graph, self._owner)
            if not self._archive:
                raise FolderGone(f"user {self._owner} has no in-place archive now")
        return self._archive

    def folder_id(self, path: str) -> str:
        """This API's id of the archive folder at `path`; FolderGone when there is none."""
        if self._folders is None:
            self._folders = mailbox_api.folder_paths(self._graph, self.archive_id())
        found = self._folders.get(path.strip("/"))
        if found is None:
            raise FolderGone(f"archive folder {path!r} is gone (making it needs MailboxFolder.ReadWrite.All)")
        return found

    def _session(self, mailbox_id: str, fresh: bool = False) -> mailbox_api.ImportSession:
        session = self._sessions.get(mailbox_id)
        if fresh or not mailbox_api.usable(session):
            session = self._sessions[mailbox_id] = mailbox_api.create_import_session(self._graph, mailbox_id)
        assert session is not None
        return session

    def _send(self, folder_id: str, stream: bytes) -> dict:
        """One import, following a 409 to the mailbox it names and replacing a refused session once."""
        mailbox = self._mailbox_of_folder.get(folder_id) or self.archive_id()
        refreshed = False
        for _hop in range(MAX_MAILBOX_HOPS + 1):
            try:
                return mailbox_api.import_item(self._graph, self._session(mailbox), folder_id, stream)
            except GraphConflict as exc:
                if not exc.location or exc.location == mailbox:
                    raise
                mailbox = self._mailbox_of_folder[folder_id] = exc.location
            except (GraphAuthError, GraphNotFound):
                if refreshed:
                    raise
                refreshed = True
                self._session(mailbox, fresh=True)
        raise GraphConflict(f"the import of folder {folder_id} kept naming another mailbox", status=409)

    def restore(self, version: ItemVersion, path: str, stream: bytes, present: Callable[[], bool]) -> str:
        """Import one message's stream into its archive folder once; the new item id ('' when a lost answer's
        import was found afterwards). `present()` lists the archive folder afresh and says whether it now holds a
        message with the version's internetMessageId."""
        folder_id = self.folder_id(path)
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                return str(self._send(folder_id, stream)["itemId"])
            except GraphAmbiguousWrite:
                if not version.internet_message_id:
                    raise  # nothing to recognise it by: never sent twice
                if present():
                    return ""
                if attempt == IMPORT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
