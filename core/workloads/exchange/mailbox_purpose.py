"""What kind of mailbox a resource is: a user's own, or a shared, room or equipment mailbox. Graph lists shared
mailboxes as user objects (discovery backs them up like any mailbox); only the mailbox's settings tell them apart,
through the read-only `userPurpose` (https://learn.microsoft.com/graph/api/resources/mailboxsettings, application
permission MailboxSettings.Read). It is recorded with every restore point, with the time it was read
(`kind_read_at`), and read from Graph only when the mailbox has no kind read within the last day (`FRESH_FOR`):
the first backup, a backup after a failed reading, or the first backup a day after the last reading. So a daily
backup sends one mailboxSettings request per mailbox, however often it runs, and a shared mailbox converted to a
user mailbox (or back) is seen within a day. The last reading is found in the restore points of the last day
(`RunStore.recent_kind`: one table query, three columns, only when this asks), where the kind is recorded anyway,
so no other row has to be kept in step. Without the permission the backup goes on and says the kind is unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError, StorageError
from core.graph.batch import Read

if TYPE_CHECKING:
    from core.graph.client import GraphClient
    from core.models import BackupReport

PURPOSES = ("user", "linked", "shared", "room", "equipment", "others")
FRESH_FOR = timedelta(hours=24)  # how long a reading of userPurpose is used before it is read again


def purpose_read(owner: str) -> Read:
    """The GET of the mailbox's userPurpose (a first backup sends it ahead with its other first reads)."""
    return Read(f"users/{quote(owner, safe='')}/mailboxSettings", params={"$select": "userPurpose"})


def record_purpose(graph: GraphClient, owner: str, report: BackupReport) -> None:
    """Set `report.kind` to the mailbox's userPurpose, as read within the last day or read now ('' and a note when
    it cannot be read), and `report.kind_read_at` to when it was read."""
    now = datetime.now(UTC)
    try:
        kind, read_at = report.recent_kind(now - FRESH_FOR)
    except StorageError as exc:  # the points could not be read: Graph still can tell
        kind, read_at = "", ""
        report.note(f"last mailbox kind not read ({exc}); read from mailboxSettings")
    if kind in PURPOSES:
        report.kind, report.kind_read_at = kind, read_at
        return
    read = purpose_read(owner)
    try:
        body = graph.get_json(read.url, params=read.params)
    except GraphError as exc:
        report.note(f"mailbox kind not known: mailboxSettings answered {exc.status or exc} (MailboxSettings.Read)")
        return
    purpose = body.get("userPurpose") if isinstance(body, dict) else None
    report.kind = purpose if isinstance(purpose, str) and purpose in PURPOSES else ""
    report.kind_read_at = now.isoformat() if report.kind else ""
