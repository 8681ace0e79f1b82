"""What a mailbox's backup reads every run, read ahead in JSON batches (core/graph/batch.py) before it starts:

- the fixed reads: the mail and contact folder trees' delta from their saved links, the calendars listing and the
  To Do lists listing (the in-place archive check, settings/exchange, is a beta request: sent alone);
- the first request of every container round that has a saved delta link (mail and contact folders, calendars,
  task lists): the link itself, with the headers the round sends (core.workloads.container_delta.prefer_headers);
- a tree without a link (a first backup, a lost link) reads its root and its first full delta page instead; a first
  backup (no link at all) also the eight well-known folder names and the mailbox's userPurpose, which it reads
  anyway (so its start-up is one round trip, not six one after another).

Each is exactly the GET the backup sends a moment later, so a no-change incremental of K containers is
⌈(K + 4) / 20⌉ HTTP round trips plus settings/exchange, while Graph still counts (and throttles) every inner
request. Nothing is decided from these answers here: the backup asks for each as before and gets the batch's
answer instead of a round trip; a container whose link Graph refuses (410), a new one, a deleted one, a round of
several pages: all go on exactly as without the batch."""

from __future__ import annotations

from urllib.parse import quote

from core.graph.batch import Read
from core.storage.delta_state import DeltaState
from core.workloads.container_delta import ItemKind, prefer_headers
from core.workloads.exchange.contacts_backup import CONTACT_KIND, contact_tree
from core.workloads.exchange.events_backup import EVENT_KIND
from core.workloads.exchange.folder_tree import TREE, mail_source, tree_headers
from core.workloads.exchange.mail_backup import MAIL_KIND
from core.workloads.exchange.mail_folders import well_known_reads
from core.workloads.exchange.mailbox_purpose import purpose_read
from core.workloads.exchange.tasks_backup import TASK_KIND, lists_url

KINDS: tuple[ItemKind, ...] = (MAIL_KIND, CONTACT_KIND, EVENT_KIND, TASK_KIND)


def mailbox_reads(owner: str, states: dict[tuple[str, str], DeltaState], page_size: int) -> list[Read]:
    """The GETs a run of `owner`'s mailbox starts with, as its code sends them (folder_tree.py, events_backup.py,
    tasks_backup.py, container_delta.py), from the delta links saved by the last run."""
    reads = []
    for kind, source in ((MAIL_KIND, mail_source(owner)), (CONTACT_KIND, contact_tree(owner))):
        tree = states.get((TREE, kind.folder_category))
        if tree is not None and tree.delta_link:
            reads.append(Read(tree.delta_link, headers=tree_headers(page_size)))
        else:
            reads.extend(source.full_round_reads(page_size))
    if not states:  # a first backup: what it reads once more before its containers
        reads.extend([*well_known_reads(owner), purpose_read(owner)])
    reads.append(Read(f"users/{quote(owner, safe='')}/calendars", params={"$top": "100"}))  # list_calendars
    reads.append(Read(lists_url(owner), params={"$top": "100"}))  # list_task_lists
    for kind in KINDS:
        headers = prefer_headers(kind, page_size)
        for (category, _container), state in sorted(states.items()):
            if category == kind.category and state.delta_link:
                reads.append(Read(state.delta_link, headers=headers))
    return reads
