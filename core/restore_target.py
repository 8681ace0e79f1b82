"""The check a restore into a mailbox needs beyond "the user exists": the user has a mailbox now.

`validate_restore` (core/restore_plan.py) checks that the user, OneDrive or site restored into exists. A user
without a mailbox (unlicensed, on-premises, soft-deleted mailbox) exists too, and a restore into it could only fail
later, item by item, after a job was recorded. Graph answers a read of the mailbox's root folder with 404
MailboxNotEnabledForRESTAPI (or MailboxNotSupportedForRESTAPI) for such a user: one read, before anything is
written, refuses the request with a NotFoundError (404) naming the user."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from core.errors import GraphNotFound, NotFoundError

if TYPE_CHECKING:
    from core.bootstrap import Services
    from core.restore_request import RestoreRequest

MAILBOX_ROOT = "users/{}/mailFolders/msgfolderroot"


def restore_owner(request: RestoreRequest) -> str:
    """The owner restored into: the target (its owner part when given as a resource key), else the source's."""
    target = request.target_owner
    if target and ":" in target:
        target = target.partition(":")[2]
    return target or request.key.owner


def check_mailbox(services: Services, request: RestoreRequest) -> None:
    """For an Exchange restore: NotFoundError unless the user restored into has a mailbox. Other workloads: no-op."""
    if request.key.workload != "exchange":
        return
    owner = restore_owner(request)
    try:
        services.graph.get_json(MAILBOX_ROOT.format(quote(owner, safe="")), params={"$select": "id"})
    except GraphNotFound as exc:
        reason = f" ({exc.code})" if exc.code else ""
        raise NotFoundError(f"user {owner!r} has no mailbox to restore into{reason}") from None
