"""The Exchange workload: one resource per mailbox user ('exchange:<user id>'), holding its mail (the default
category), contacts, calendar events, To Do tasks and its in-place archive, all backed up by one activity under
the mailbox's Graph budget."""

from __future__ import annotations

from core.workloads.base import Workload
from core.workloads.exchange.archive import ARCHIVE_CATEGORY
from core.workloads.exchange.contacts import CONTACT_CATEGORY
from core.workloads.exchange.events import EVENT_CATEGORY
from core.workloads.exchange.mail import MAIL_CATEGORY
from core.workloads.exchange.mailbox import ExchangeHandler
from core.workloads.exchange.mailbox_budget import mailbox_of
from core.workloads.exchange.mailbox_check import check_mailbox
from core.workloads.exchange.tasks import TASK_CATEGORY

EXCHANGE = Workload(
    name=ExchangeHandler.name,
    handler=ExchangeHandler(),
    categories=(MAIL_CATEGORY, CONTACT_CATEGORY, EVENT_CATEGORY, TASK_CATEGORY, ARCHIVE_CATEGORY),
    owner_path="users/{}",
    owner_noun="user",
    target_path="users/{}",
    target_noun="user",
    self_service=True,
    default_on=True,
    check_target=check_mailbox,
    throttle_scope=mailbox_of,
)
