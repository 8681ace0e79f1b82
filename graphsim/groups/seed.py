"""The seeded conversations: in every group of the tenant (the plain Microsoft 365 group and each team's group), a
thread of `posts` posts (the second answering the first, the first with a file attachment) and a thread of one
post, delivered at fixed times before the tenant starts."""

from __future__ import annotations

import datetime as dt

from graphsim.groups.store import ConversationStore
from graphsim.teams.store import Group
from graphsim.tenant import Tenant, User


def _users(tenant: Tenant) -> list[User]:
    users = sorted((u for u in tenant.users.values() if u.mail), key=lambda u: u.user_principal_name)
    return users or sorted(tenant.users.values(), key=lambda u: u.id)


def seed_conversations(store: ConversationStore, tenant: Tenant, groups: list[Group], seed: int, posts: int) -> None:
    users = _users(tenant)
    if not users or posts <= 0:
        return
    start = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 50)
    for g, group in enumerate(sorted(groups, key=lambda x: x.display_name)):
        when = start + dt.timedelta(days=g)
        first = store.new_thread(group.id, f"Plan for {group.display_name}")
        previous = ""
        for i in range(posts):
            when += dt.timedelta(minutes=11)
            body = {"contentType": "html", "content": f"<p>Post {i + 1} about the plan, seed {seed}.</p>"}
            files = [(f"plan-{seed}.txt", "text/plain", f"plan {seed} for {group.display_name}\n".encode())]
            post = store.new_post(first, users[i % len(users)], when, body, previous, files if i == 0 else None)
            previous = post.id if i == 0 else previous
        second = store.new_thread(group.id, f"Welcome to {group.display_name}")
        when += dt.timedelta(minutes=5)
        body = {"contentType": "html", "content": f"<p>Welcome, everyone ({seed}).</p>"}
        store.new_post(second, users[-1], when, body)
