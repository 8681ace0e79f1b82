"""A group post delivered to a member's inbox: the copy a member who follows the group in their inbox receives (the
group's mail goes to its subscribers: group resource, isSubscribedByMail / autoSubscribeNewMembers,
https://learn.microsoft.com/graph/api/resources/group), rendered as MIME and inserted by the mail surface."""

from __future__ import annotations

import datetime as dt
import uuid

from graphsim.groups.store import Post
from graphsim.mail.create import new_message
from graphsim.mail.mime import MessageSpec, render_mime
from graphsim.simulator import Context, Simulator
from graphsim.teams.store import Group
from graphsim.tenant import Tenant, User


def deliver_copy(sim: Simulator, user: User, group: Group, post: Post, topic: str) -> str:
    tenant: Tenant = sim.tenant
    assert user.mailbox is not None
    sender = post.data["from"]["emailAddress"]
    spec = MessageSpec(
        internet_message_id=f"<{post.id[:20]}.{uuid.uuid4().hex[:8]}@groups.example>",
        date=dt.datetime.now(dt.UTC).replace(microsecond=0),
        sender=(str(sender["name"]), str(sender["address"])),
        to=[(group.display_name, f"{group.mail_nickname}@{tenant.domain}")],
        subject=topic,
        body=str(post.data["body"]["content"]),
        boundary_seed=uuid.uuid4().hex[:16],
        attachments=[],
    )
    inbox = user.mailbox.resolve_folder("inbox")
    assert inbox is not None
    message = new_message(Context(sim, user), render_mime(spec), inbox, draft=False)
    return message.id
