"""The Outlook kinds' adapter of the delta engine (core.delta.lifecycle.KindAdapter), one per item kind (mail,
contacts, events) of a mailbox: containers (mail folders, contact folders, calendars) recorded as catalog versions
(a new version when a container appears, is renamed or moved; ended when it disappears), a round per container
(container_delta.run_round), held items read by id (held_items.py), and a container gone from the listing ended
with its live items and its delta link.

A mailbox's kinds read ahead (`read_ahead=True`): before a full round (a new container, a first backup), the first
request of that round and of the next containers that start a full round too (up to 20) go in one JSON batch
(core/graph/batch.py), so the request slots are not idle while each container's first page is read alone. It is
the same GET the round sends a moment later (its delta path, the kind's query, its headers); an answer not used is
dropped when the kind is done (`read_ahead_keys`)."""

from __future__ import annotations

import json

from core.delta.containers import Container
from core.delta.lifecycle import RoundDone, Settlement, States
from core.graph.batch import MAX_BATCH, Key, Read, prefetch
from core.storage.catalog import ItemVersion, OpenVersion
from core.storage.delta_state import DeltaState
from core.storage.quarantine import HeldItem
from core.workloads import container_delta, held_items
from core.workloads.container_delta import MailboxJob, prefer_headers


class OutlookKind:
    """One Outlook item kind of one mailbox, as the engine drives it."""

    retry_outside = True  # a held item may have moved to another folder: it is looked for wherever it is

    def __init__(self, job: MailboxJob, folder_index: dict[str, OpenVersion], read_ahead: bool = False) -> None:
        self.job = job
        self.category = job.kind.category
        self.label = f"{job.kind.category} folder"
        self.held: dict[str, HeldItem] = job.held
        self._folder_index = folder_index
        self._containers: dict[str, Container] = {}
        self._read_ahead = read_ahead
        self._linked: set[str] | None = None  # containers with a saved link (read when a full round first comes)
        self._ahead: set[str] = set()  # containers whose first request was read ahead (or needs none)
        self.read_ahead_keys: set[Key] = set()  # answers kept by the read-ahead: forgotten when the kind is done

    def record(self, containers: list[Container]) -> None:
        self._containers = {c.id: c for c in containers}
        record_folders(self.job, containers, self._folder_index)

    def known(self, states: States) -> dict[str, str]:
        return {cid: state.container_path for (category, cid), state in states.items() if category == self.category}

    def run_round(self, container: Container, state: DeltaState | None) -> RoundDone:
        if state is None and self._read_ahead and container.id not in self._ahead:
            self._read_full_rounds_ahead(container)
        return container_delta.run_round(self.job, container, state)

    def _read_full_rounds_ahead(self, container: Container) -> None:
        """The first request of `container`'s full round and of the next ones (up to a batch), in one $batch."""
        if self._linked is None:
            states = self.job.delta_state.load(self.job.resource)
            self._linked = {cid for (category, cid), s in states.items() if category == self.category and s.delta_link}
        order = list(self._containers.values())
        start = next((n for n, c in enumerate(order) if c.id == container.id), len(order))
        window = [c for c in order[start:] if c.id not in self._ahead and c.id not in self._linked][:MAX_BATCH]
        self._ahead.update(c.id for c in window)
        self._ahead.add(container.id)
        if len(window) > 1:  # one alone is no round trip saved
            self.read_ahead_keys |= prefetch(self.job.graph, [first_read(self.job, c) for c in window])

    def end_unseen(self, container: Container, seen: set[str]) -> None:
        container_delta.end_unseen(self.job, container, seen)

    def read_held(self, item: HeldItem) -> dict | None:
        return held_items.read_held(self.job, item)

    def apply_held(self, read: dict[str, dict | None], unread: dict[str, Exception]) -> Settlement:
        states = self.job.delta_state.load(self.job.resource)  # the links this run saved: their rounds' windows
        return held_items.apply_held(self.job, read, unread, self._containers, states)

    def end_container(self, container: Container) -> Settlement:
        end_removed_folder(self.job, container.id)
        return Settlement()

    def flush(self) -> None:
        self.job.writer.flush()

    def dropped(self) -> int:
        return self.job.writer.dropped


def record_folders(job: MailboxJob, folders: list[Container], folder_index: dict[str, OpenVersion]) -> None:
    """Folder versions: a new version when a folder appears, is renamed or moved; ended when it disappears."""
    current = {f.id for f in folders}
    for folder in folders:
        previous = folder_index.get(folder.id)
        signature = folder.signature
        if previous is not None and previous.change_key == signature:
            continue
        job.writer.supersede(
            previous,
            ItemVersion(
                category=job.kind.folder_category,
                item_id=folder.id,
                first_seen_run=job.run_id,
                folder_id=folder.parent_id,
                folder_path=folder.path,
                name=folder.name,
                change_key=signature,
                extra=json.dumps({"wellKnownName": folder.well_known}) if folder.well_known else "",
            ),
        )
    for folder_id, previous in folder_index.items():
        if folder_id not in current:
            job.writer.close(job.kind.folder_category, folder_id, previous.first_seen_run, job.run_id)
    # not flushed here: the folder versions are the first operations of the kind's first commit, so none of its
    # items' rows is committed before them (core/delta/lifecycle.py commits rounds together)


def end_removed_folder(job: MailboxJob, folder_id: str) -> None:
    """A folder gone from the mailbox: its live items are ended and its delta link cleared."""
    for item_id, version in job.index.in_folder(folder_id):
        job.writer.close(job.kind.category, item_id, version.first_seen_run, job.run_id)
        del job.index[item_id]
        job.report.add(removed=1)
    job.writer.flush()
    job.delta_state.forget(job.resource, job.kind.category, folder_id, job.run_id)


def first_read(job: MailboxJob, container: Container) -> Read:
    """The first GET of a full round of `container`, exactly as container_delta._run_round sends it."""
    params = job.kind.params(job)
    return Read(job.kind.delta_path(job.user, container), params=params or None,
                headers=prefer_headers(job.kind, job.page_size))  # fmt: skip
