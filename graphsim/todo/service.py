"""The simulator's To Do state: a store per mailbox user (graphsim/todo/store.py) and the task delta rounds (one
scope per task list, sharing the mailbox's token generation with mail, contact and calendar delta: expiring a
mailbox's delta tokens expires its task delta tokens too)."""

from __future__ import annotations

from graphsim.errors import GraphError
from graphsim.mail.delta import MailDelta
from graphsim.pim.delta import PimDelta
from graphsim.tenant import Tenant
from graphsim.todo.seed import seed_todo
from graphsim.todo.store import TodoStore


class TodoService:
    def __init__(self, tenant: Tenant, mail_delta: MailDelta, seed: int, tasks: int) -> None:
        self.tenant = tenant
        self.seed = seed
        self.delta = PimDelta(mail_delta)
        self.users: dict[str, TodoStore] = seed_todo(tenant, seed, tasks)

    def of(self, user_id: str) -> TodoStore:
        store = self.users.get(user_id)
        if store is None:  # no mailbox, no To Do: answered as Outlook answers a user without a mailbox
            raise GraphError(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, "
                             "or is hosted on-premise.")  # fmt: skip
        return store
