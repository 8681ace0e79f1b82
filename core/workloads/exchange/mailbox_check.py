"""The check a restore into a mailbox needs beyond "the user exists": the user has a mailbox now.

Restore planning (core/restore_plan.py) checks that the user restored into exists. A user without a mailbox
(unlicensed, on-premises, soft-deleted mailbox) exists too, and a restore into it could only fail later, item by
item, after a job was recorded. Graph answers a read of the mailbox's root folder with 404
MailboxNotEnabledForRESTAPI (or MailboxNotSupportedForRESTAPI) for such a user: one read, before anything is
written, refuses the request with a NotFoundError (404) naming the user."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphNotFound, NotFoundError

if TYPE_CHECKING:
    from core.bootstrap import Services

MAILBOX_ROOT = "users/{}/mailFolders/msgfolderroot"


def check_mailbox(services: Services, owner: str) -> None:
    """NotFoundError unless the user `owner` has a mailbox to restore into."""
    try:
        services.graph.get_json(MAILBOX_ROOT.format(quote(owner, safe="")), params={"$select": "id"})
    except GraphNotFound as exc:
        reason = f" ({exc.code})" if exc.code else ""
        raise NotFoundError(f"user {owner!r} has no mailbox to restore into{reason}") from None
