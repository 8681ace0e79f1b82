"""What kind of mailbox a resource is: a user's own, or a shared, room or equipment mailbox. Graph lists shared
mailboxes as user objects (discovery backs them up like any mailbox); only the mailbox's settings tell them apart,
through the read-only `userPurpose` (https://learn.microsoft.com/graph/api/resources/mailboxsettings, application
permission MailboxSettings.Read). It is read once per backup and recorded with the restore point; without the
permission the backup goes on and says the kind is unknown."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphError

if TYPE_CHECKING:
    from core.graph.client import GraphClient
    from core.models import BackupReport

PURPOSES = ("user", "linked", "shared", "room", "equipment", "others")


def record_purpose(graph: GraphClient, owner: str, report: BackupReport) -> None:
    """Set `report.kind` to the mailbox's userPurpose ('' and a note when it cannot be read)."""
    try:
        body = graph.get_json(f"users/{quote(owner, safe='')}/mailboxSettings", params={"$select": "userPurpose"})
    except GraphError as exc:
        report.note(f"mailbox kind not known: mailboxSettings answered {exc.status or exc} (MailboxSettings.Read)")
        return
    purpose = body.get("userPurpose") if isinstance(body, dict) else None
    report.kind = purpose if isinstance(purpose, str) and purpose in PURPOSES else ""
