"""The simulator's Microsoft 365 Groups surface state: conversations (store.py) over the Teams surface's group store
(graphsim/teams/store.py: one store of groups for both surfaces), seeded (seed.py), member subscriptions, and
delivery of a new post to the mailboxes of the members who follow the group in their inbox."""

from __future__ import annotations

from graphsim.groups.seed import seed_conversations
from graphsim.groups.store import ConversationStore, Thread
from graphsim.teams.store import Group, TeamsStore
from graphsim.tenant import Tenant


class GroupsService:
    def __init__(self, tenant: Tenant, groups: TeamsStore, seed: int, posts: int) -> None:
        self.tenant = tenant
        self.groups = groups
        self.store = ConversationStore()
        # group id -> user ids following the group in their inbox. Members of a group made in Outlook are subscribed
        # (group resource: autoSubscribeNewMembers, isSubscribedByMail, https://learn.microsoft.com/graph/api/
        # resources/group); here every seeded member is, and so is every member added later
        self.subscribed: dict[str, set[str]] = {g.id: set(g.members) for g in groups.groups.values()}
        seed_conversations(self.store, tenant, list(groups.groups.values()), seed, posts)

    def group(self, group_id: str) -> Group | None:
        return self.groups.groups.get(group_id) or self.groups.groups.get(group_id.lower())

    def thread(self, group_id: str, thread_id: str) -> Thread | None:
        return self.store.of(group_id).get(thread_id)

    def add_member(self, group: Group, user_id: str, owner: bool) -> None:
        target = group.owners if owner else group.members
        target.append(user_id)
        if not owner:
            self.store.record(group.id, "members", user_id, True)
            self.subscribed.setdefault(group.id, set()).add(user_id)

    def remove_member(self, group: Group, user_id: str, owner: bool) -> None:
        target = group.owners if owner else group.members
        target.remove(user_id)
        if not owner:
            self.store.record(group.id, "members", user_id, False)
            self.subscribed.get(group.id, set()).discard(user_id)

    def subscribers(self, group: Group) -> list[str]:
        """The members who follow the group in their inbox: a new post is delivered to each (write_routes.py)."""
        return sorted(self.subscribed.get(group.id, set()))
