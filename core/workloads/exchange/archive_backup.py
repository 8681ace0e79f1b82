"""The in-place archive of a mailbox, backed up with the mailbox (one activity, its kinds' pool), through the Graph
beta API as "Use Mail APIs with Exchange archive mailboxes" documents it (https://learn.microsoft.com/graph/
archive-mailbox-mail-api, beta: subject to change):

- `GET /beta/users/{id}/settings/exchange` (exchangeSettings, https://learn.microsoft.com/graph/api/resources/
  exchangesettings?view=graph-rest-beta, User.Read.All) names the archive, `inPlaceArchiveMailboxId`; that id is
  used as given, never built. No id: the mailbox has no archive, nothing is backed up and nothing noted. An error:
  a note in the report, and the rest of the mailbox is backed up as ever;
- the archive's folders are listed by id from its root and childFolders down (well-known names are not supported
  in archive mailboxes), and each folder's message delta is a round of the one delta engine on the archive id, with
  the mail kind's content (MIME), state and description (core/workloads/exchange/mail_backup.py), in catalog
  categories of its own (`archive`, `afolder`);
- an expanded folder (its content in an auxiliary archive of an auto-expanding archive) answers its delta and its
  messages' reads with 308 and the auxiliary archive's URL, which the Graph client follows on Graph's own origin
  (core/graph/client.py); the links the auxiliary archive then hands out name it and are followed as given;
- each new or changed message is also exported through the mailbox import/export API (beta), its opaque stream kept
  as a second blob for a restore into the archive itself (core/workloads/exchange/archive_export.py).

Budget: Graph counts Outlook's limits per mailbox; the Graph client scopes an archive's URLs to the archive's
mailbox id (core/workloads/exchange/mailbox_budget.py reads the id the URL names), a mailbox of its own for
Exchange, so the archive has a budget beside the primary's; it is backed up after the primary's kinds, one
after the other in the same activity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from core.delta.containers import Container
from core.errors import GraphError
from core.workloads.container_delta import ItemKind
from core.workloads.exchange.archive_export import export_page, fetch_with_stream
from core.workloads.exchange.mail_backup import MAIL_KIND
from core.workloads.exchange.mail_folders import list_folders

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.graph.client import GraphClient
    from core.models import BackupReport
    from core.storage.quarantine import HeldItem

ARCHIVE = "archive"
ARCHIVE_FOLDER = "afolder"


class KindRunner(Protocol):
    """What runs one item kind's containers through the engine (ExchangeHandler._backup_kind)."""

    def __call__(self, services: Services, run_id: str, owner: str, report: BackupReport, kind: ItemKind,
                 containers: list[Container], pool: ThreadPoolExecutor, held: list[HeldItem]) -> None: ...  # fmt: skip


def beta_users(graph: GraphClient) -> str:
    return f"{graph.endpoint}/beta/users"


def read_archive_id(graph: GraphClient, owner: str) -> str:
    """The user's inPlaceArchiveMailboxId as settings/exchange names it ('' when it has none); GraphError when it
    cannot be read."""
    archive = graph.get_json(f"{beta_users(graph)}/{quote(owner, safe='')}/settings/exchange").get(
        "inPlaceArchiveMailboxId"
    )
    return archive if isinstance(archive, str) else ""


def archive_mailbox_id(graph: GraphClient, owner: str, report: BackupReport) -> str:
    """The user's inPlaceArchiveMailboxId ('' when it has none, or when it cannot be read: then a note)."""
    try:
        return read_archive_id(graph, owner)
    except GraphError as exc:
        report.note(f"archive mailbox not known: settings/exchange answered {exc.status or exc} (User.Read.All)")
        return ""


def archive_kind(graph: GraphClient, archive_id: str) -> ItemKind:
    """The mail kind on one archive: its paths under the beta root and the archive id (whatever user a job names)."""
    mailbox = f"{beta_users(graph)}/{quote(archive_id, safe='')}"
    return replace(
        MAIL_KIND,
        category=ARCHIVE,
        folder_category=ARCHIVE_FOLDER,
        delta_path=lambda _user, folder: f"{mailbox}/mailFolders/{quote(folder.id, safe='')}/messages/delta",
        item_path=lambda _user, message_id: f"{mailbox}/messages/{quote(message_id, safe='')}",
        prepare=lambda job, folder, entries: export_page(job, archive_id, folder, entries),  # export streams
        fetch=fetch_with_stream,
    )


def archive_folders(graph: GraphClient, archive_id: str) -> list[Container]:
    """Every folder of the archive by id, parents before children (no well-known names in an archive)."""
    return [Container(f.id, f.display_name, f.parent_id, f.path, None)
            for f in list_folders(graph, archive_id, users_root=beta_users(graph))]  # fmt: skip


def backup_archive(
    services: Services,
    run_id: str,
    owner: str,
    report: BackupReport,
    run_kind: KindRunner,
    pool: ThreadPoolExecutor,
    held: list[HeldItem],
) -> None:
    """The archive of `owner`'s mailbox, if it has one and BACKUP_ARCHIVE_MAILBOXES is on."""
    if not services.settings.archive_mailboxes:
        return
    archive_id = archive_mailbox_id(services.graph, owner, report)
    if not archive_id:
        return
    try:
        folders = archive_folders(services.graph, archive_id)
    except GraphError as exc:
        report.fail(f"{ARCHIVE} containers", exc)
        return
    run_kind(services, run_id, owner, report, archive_kind(services.graph, archive_id), folders, pool, held)
