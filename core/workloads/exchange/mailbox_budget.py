"""The throttling scope of the Exchange workload: Outlook's limits (4 concurrent requests, 10,000 requests per 10
minutes per app and mailbox, https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits) count
per mailbox, so every request under a mailbox's messages, folders, contacts, calendars, To Do lists (stored in the
mailbox, listed among Outlook's resources) or mailbox settings shares its budget."""

from __future__ import annotations

import re

_MAILBOX_PATH = re.compile(
    r"(?:^|/)users/([^/?]+)/(?:messages|mailFolders|contactFolders|contacts|calendars|calendar|events|todo|"
    r"mailboxSettings)\b",
    re.IGNORECASE,
)
# the mailbox import/export API addresses a mailbox by its MBX id (an archive's: core/workloads/exchange/mailbox_api.py)
_ADMIN_MAILBOX_PATH = re.compile(r"(?:^|/)admin/exchange/mailboxes/([^/?]+)/", re.IGNORECASE)


def mailbox_of(url: str) -> str | None:
    """The mailbox (user id or UPN) a mailbox-scoped Graph URL addresses, for the per-mailbox budget."""
    match = _MAILBOX_PATH.search(url) or _ADMIN_MAILBOX_PATH.search(url)
    return match.group(1).lower() if match else None
