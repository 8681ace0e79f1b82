"""Deterministic To Do lists and tasks for every mailbox user: the default "Tasks" list (wellknownListName
defaultList) and a second list, `count` tasks over them, some with checklist items, a linked resource and a file
attachment. The same seed gives the same ids and properties."""

from __future__ import annotations

import datetime as dt
import random

from graphsim.ids import opaque_id
from graphsim.tenant import Tenant, User
from graphsim.todo.store import ChecklistItem, Task, TaskAttachment, TaskList, TodoStore, task_props

BASE = dt.datetime(2026, 3, 2, 8, 30, 0, tzinfo=dt.UTC)
TITLES = ["Renew passport", "Prepare Q3 budget", "Réserver la salle — Lyon", "Call the plumber", "准备季度报告",
          "Buy oat milk 🥛", "Review hiring plan", "Submit expenses"]  # fmt: skip
STEPS = ["Draft", "Review with Ana", "Send ✓"]


def _dt(value: dt.datetime) -> dict[str, str]:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def seed_user(user: User, seed: int, count: int) -> TodoStore:
    store = TodoStore()
    uid = user.id
    default = store.add_list(TaskList(opaque_id("AQMkA", seed, uid, "todo", "default"), "Tasks", "defaultList"))
    other = store.add_list(TaskList(opaque_id("AQMkA", seed, uid, "todo", "errands"), "Errands"))
    for k in range(count):
        rng = random.Random(f"todo:{seed}:{uid}:{k}")
        created = BASE + dt.timedelta(days=k, minutes=rng.randint(0, 600))
        task_list = other if k % 3 == 1 else default
        body = {"title": TITLES[(k + len(uid)) % len(TITLES)],
                "body": {"content": f"Notes for task {k + 1} — ünïcode ✓", "contentType": "text"},
                "importance": ("low", "normal", "high")[k % 3],
                "status": ("notStarted", "inProgress", "completed", "waitingOnOthers")[k % 4],
                "categories": ["Red category"] if k % 2 else [],
                "dueDateTime": _dt(created + dt.timedelta(days=7))}  # fmt: skip
        if k % 2 == 0:
            body["isReminderOn"] = True
            body["reminderDateTime"] = _dt(created + dt.timedelta(days=6, hours=1))
            body["startDateTime"] = _dt(created + dt.timedelta(days=1))
        if k % 4 == 2:
            body["completedDateTime"] = _dt(created + dt.timedelta(days=2))
        if k % 4 == 3:
            body["recurrence"] = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                                              "firstDayOfWeek": "sunday"},
                                  "range": {"type": "noEnd", "startDate": created.date().isoformat()}}  # fmt: skip
        tid = opaque_id("AAMkA", seed, uid, "todo", "task", k)
        task = Task(tid, task_list.id, task_props(body), created, created, created)
        if k % 2 == 0:
            for i, step in enumerate(STEPS[: 2 + k % 2]):
                cid = opaque_id("", seed, uid, "todo", "check", k, i)[:36]
                checked = created + dt.timedelta(hours=i + 1) if i == 0 else None
                task.checklist[cid] = ChecklistItem(cid, step, checked is not None, created, checked)
        if k % 3 == 0:
            lid = opaque_id("", seed, uid, "todo", "link", k)[:36]
            task.links[lid] = {"id": lid, "webUrl": f"https://contoso.example/tickets/{1000 + k}",
                               "applicationName": "Contoso Tickets", "displayName": f"Ticket {1000 + k}",
                               "externalId": f"T-{1000 + k}"}  # fmt: skip
        if k % 4 == 0:
            aid = opaque_id("AAMkA", seed, uid, "todo", "att", k)
            data = b"%PDF-1.4\n" + rng.randbytes(2000 + 500 * k)
            task.attachments[aid] = TaskAttachment(aid, f"checklist-{k + 1}.pdf", "application/pdf", data, created)
        store.insert(task)
    return store


def seed_todo(tenant: Tenant, seed: int, count: int) -> dict[str, TodoStore]:
    """A To Do store per mailbox user (a user without a mailbox has no To Do)."""
    return {u.id: seed_user(u, seed, count) for u in tenant.users.values() if u.mailbox is not None}
