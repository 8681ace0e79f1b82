"""A category's container lifecycle for one resource, the same for every category (mail, contacts, events, drives):

1. the containers listed now are recorded (`KindAdapter.record`: Outlook containers become catalog versions);
2. a delta round per container (`KindAdapter.run_round`, which follows the round through core.delta.rounds); one
   container failing is a failure of the run (`report.fail`) and the others go on. After a full round (no link, or
   one Graph no longer accepts) what it did not list is ended (`KindAdapter.end_unseen`). Rounds are committed
   together (`_HeldRounds`): up to `HOLD_ROUNDS` applied rounds, or those of `HOLD_ROUNDS_S`, wait for one commit
   (the writer flushed: their content is stored already, their catalog changes go in one transaction of up to
   100 operations instead of one per round); then, round by round, its failed items are held in the quarantine
   and the items it captured or found gone are released, and only then is the container's delta link saved
   (unless the round says why it must stay where it was). Once a commit of the category has failed
   (`KindAdapter.dropped` grew), no link of it moves in this run: each round committed afterwards is a failure of
   the run (its changes, or the containers' versions `record` wrote before it, may be among those lost). Several
   categories of a resource may hold their rounds together (`CategoryGroup`): steps 1-2 of each, then one commit
   for all of them (their adapters share a writer), then steps 3-5 of each;
3. the items held before this run that no round fetched are read by id (`KindAdapter.read_held`: the entry, or None
   for a 404) and applied as a round would apply them (`KindAdapter.apply_held`); flushed, then held again or
   released. One mechanism for every category: a hold is durable before a link moves past it, a release only after
   the version it stands for is committed;
4. containers the backup knew and the resource no longer lists are ended (`KindAdapter.end_container`: each kind
   keeps its own proof, e.g. a drive is ended only after a read by id answers 404);
5. the writer is flushed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.delta.containers import Container
from core.errors import GraphError, StorageError
from core.models import BackupReport
from core.storage.delta_state import DeltaState, DeltaStates
from core.storage.quarantine import HeldItem, QuarantineStore

States = dict[tuple[str, str], DeltaState]
HOLD_ROUNDS = 25  # applied rounds a category holds before it commits them together (a crash repeats them)
HOLD_ROUNDS_S = 30.0  # nor longer than this since the first of them: what a crash makes a run do again stays small


@dataclass(frozen=True)
class Failure:
    """An item to hold in the quarantine (the adapter has reported it as a failure of the run)."""

    key: str  # the item's catalog id
    category: str
    container_id: str
    error: Exception


@dataclass
class Settlement:
    """What applying items did to the quarantine: items to hold, and held items to release."""

    failures: list[Failure] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)  # (catalog id, 'captured' | 'deleted')


@dataclass
class RoundDone:
    """One container's round, applied (content stored; catalog changes written, not yet flushed)."""

    delta_link: str
    full: bool  # a full enumeration: what it did not list is ended
    seen: set[str]  # items live at the end of the round
    tried: set[str]  # items the round fetched or applied: their held entries are not retried by id
    settlement: Settlement
    query: str = ""  # the query the round chain began with (JSON; '' when none)
    keep_link: str = ""  # why the link must stay at the previous round (a note), '' to save it


class KindAdapter(Protocol):
    """How one category's containers of one resource are listed, backed up and ended."""

    category: str  # delta-state category of its containers' links ('mail', 'contact', 'event', 'drive')
    label: str  # how a container is named in failures ('mail folder', 'drive')
    held: dict[str, HeldItem]  # catalog id -> held when the run began (the engine removes what it releases)
    retry_outside: bool  # retry held items of containers not backed up this run (Outlook: items move)

    def record(self, containers: list[Container]) -> None:
        """Record the containers listed now (new, renamed, moved; those gone from the listing)."""
        ...

    def known(self, states: States) -> dict[str, str]:
        """Container id -> last known path, of every container the backup holds anything of."""
        ...

    def run_round(self, container: Container, state: DeltaState | None) -> RoundDone:
        """The container's round from its saved state (None: a full round), received and applied."""
        ...

    def end_unseen(self, container: Container, seen: set[str]) -> None:
        """After a full round: end the container's live items it did not list (as the kind proves them gone)."""
        ...

    def read_held(self, item: HeldItem) -> dict | None:
        """A held item read by id: its entry, or None when Graph answers 404. Raises GraphError otherwise."""
        ...

    def apply_held(self, read: dict[str, dict | None], unread: dict[str, Exception]) -> Settlement:
        """Apply held items read by id (None: gone) as a round would; `unread` failed to be read."""
        ...

    def end_container(self, container: Container) -> Settlement:
        """A container the resource no longer lists (`container.path`: its last known path)."""
        ...

    def flush(self) -> None:
        """Commit the catalog changes written so far."""
        ...

    def dropped(self) -> int:
        """Catalog changes lost so far to commits that failed (`CatalogWriter.dropped`)."""
        ...


@dataclass
class Resource:
    """The resource a lifecycle runs for, and the stores it settles in."""

    resource: str
    run_id: str
    report: BackupReport
    delta_state: DeltaStates
    quarantine: QuarantineStore
    clock: Callable[[], float] = time.monotonic  # how long rounds have been held


def run_category(
    where: Resource, adapter: KindAdapter, containers: list[Container], present: set[str] | None = None
) -> None:
    """Back up one category of a resource: `containers` are those to back up; `present` every container the
    resource has now (backed up or not, e.g. excluded by a selector; default: `containers`)."""
    group = CategoryGroup(where)
    group.run(adapter, containers, present)
    group.close()


class CategoryGroup:
    """Categories of one resource whose rounds wait for the same commits: a category's steps 1-2 are `run`, its
    steps 3-5 follow in `close`, once every category's rounds are committed. Categories whose adapters write to one
    catalog writer (a mailbox's mail, contacts, calendars and To Do lists) so share their commits: one for a small
    mailbox instead of one per category. `run` may be called from several threads at once, one category each;
    `close` once they have all returned. `lost` says whether a commit of the group failed."""

    def __init__(self, where: Resource) -> None:
        self._where = where
        self._held = _HeldRounds(where)
        self._ran: list[tuple[KindAdapter, list[Container], set[str] | None, States, set[str]]] = []
        self._lock = threading.Lock()

    def run(self, adapter: KindAdapter, containers: list[Container], present: set[str] | None = None) -> None:
        where = self._where
        self._held.begin(adapter)
        adapter.record(containers)
        states = where.delta_state.load(where.resource)
        tried: set[str] = set()
        for container in containers:
            try:
                done = _round(adapter, container, states.get((adapter.category, container.id)), tried)
                self._held.add(adapter, container, done)
            except Exception as exc:  # one container failing must not stop the others
                where.report.fail(f"{adapter.label} {container.path}", exc)
        with self._lock:
            self._ran.append((adapter, containers, present, states, tried))

    @property
    def lost(self) -> bool:
        return self._held.lost()

    def close(self) -> None:
        self._held.commit()
        with self._lock:
            ran, self._ran = self._ran, []
        for adapter, containers, present, states, tried in ran:
            _end_category(self._where, adapter, containers, present, states, tried)


def _end_category(
    where: Resource,
    adapter: KindAdapter,
    containers: list[Container],
    present: set[str] | None,
    states: States,
    tried: set[str],
) -> None:
    """Steps 3-5 of a category whose rounds are committed."""
    try:
        _retry_held(where, adapter, {c.id for c in containers}, tried)
    except Exception as exc:  # the held items stay held; the next run tries them again
        where.report.fail(f"{adapter.category} held items", exc)
    present = {c.id for c in containers} if present is None else present
    for container_id, path in sorted(adapter.known(states).items()):
        if container_id in present:
            continue
        try:
            settlement = adapter.end_container(Container(container_id, path, "", path))
            adapter.flush()
            settle(where, adapter, settlement)
        except Exception as exc:
            where.report.fail(f"removed {adapter.label} {path}", exc)
    adapter.flush()


def _round(adapter: KindAdapter, container: Container, state: DeltaState | None, tried: set[str]) -> RoundDone:
    """The container's round applied: its catalog changes written, not committed."""
    done = adapter.run_round(container, state)
    tried |= done.tried
    if done.full:
        adapter.end_unseen(container, done.seen)
    return done


class _HeldRounds:
    """Applied rounds waiting for their commit, of one category or of several (a `CategoryGroup`): their content
    is stored, their catalog changes are written and not yet committed, so their quarantine changes and links wait
    too. Rounds may be added from several threads; a commit holds the others back until it has settled."""

    def __init__(self, where: Resource) -> None:
        self._where = where
        self._rounds: list[tuple[KindAdapter, Container, RoundDone]] = []
        self._since = 0.0
        self._dropped: dict[int, tuple[KindAdapter, int]] = {}  # by adapter: what it had dropped when it began
        self._lock = threading.RLock()

    def begin(self, adapter: KindAdapter) -> None:
        with self._lock:
            self._dropped[id(adapter)] = (adapter, adapter.dropped())  # before the category wrote anything

    def lost(self) -> bool:
        """Whether a commit of any of the categories failed since it began."""
        with self._lock:
            return any(adapter.dropped() != before for adapter, before in self._dropped.values())

    def add(self, adapter: KindAdapter, container: Container, done: RoundDone) -> None:
        with self._lock:
            if not self._rounds:
                self._since = self._where.clock()
            self._rounds.append((adapter, container, done))
            if len(self._rounds) >= HOLD_ROUNDS or self._where.clock() - self._since >= HOLD_ROUNDS_S:
                self.commit()

    def commit(self) -> None:
        """The held rounds' catalog changes committed (each adapter flushed once: adapters sharing a writer commit
        them together); then, round by round in order, its quarantine changes (holds durable before the link moves
        past them) and its link."""
        with self._lock:
            rounds, self._rounds = self._rounds, []
            where = self._where
            failed: dict[int, Exception] = {}
            for adapter in {id(a): a for a, _, _ in rounds}.values():
                try:
                    adapter.flush()
                except Exception as exc:
                    failed[id(adapter)] = exc
            for adapter, container, done in rounds:
                try:
                    if id(adapter) in failed:
                        raise failed[id(adapter)]
                    if adapter.dropped() != self._dropped[id(adapter)][1]:
                        raise StorageError(f"a catalog commit of this {adapter.category} backup failed: link kept back")
                    _settle_round(where, adapter, container, done)
                except Exception as exc:
                    where.report.fail(f"{adapter.label} {container.path}", exc)


def _settle_round(where: Resource, adapter: KindAdapter, container: Container, done: RoundDone) -> None:
    settle(where, adapter, done.settlement)  # holds durable before the link moves past them
    if done.keep_link:
        where.report.note(done.keep_link)
        return
    where.delta_state.save(
        where.resource,
        DeltaState(adapter.category, container.id, done.delta_link, container.path, where.run_id, done.query),
    )


def _retry_held(where: Resource, adapter: KindAdapter, backed_up: set[str], tried: set[str]) -> None:
    """Every item held before this run that no round of it fetched, read by id and applied."""
    read: dict[str, dict | None] = {}
    unread: dict[str, Exception] = {}
    for key, item in sorted(adapter.held.items(), key=lambda kv: (kv[1].container_id, kv[0])):
        if key in tried or (item.container_id not in backed_up and not adapter.retry_outside):
            continue
        try:
            read[key] = adapter.read_held(item)
        except GraphError as exc:
            unread[key] = exc
    if not read and not unread:
        return
    settlement = adapter.apply_held(read, unread)
    adapter.flush()
    settle(where, adapter, settlement)


def settle(where: Resource, adapter: KindAdapter, settlement: Settlement) -> None:
    """After the versions are committed: hold what failed, release held items captured or found gone."""
    for failure in settlement.failures:
        where.quarantine.hold(where.resource, failure.category, failure.key, failure.container_id,
                              str(failure.error), where.run_id)  # fmt: skip
    for key, how in settlement.released:
        item = adapter.held.pop(key, None)
        if item is not None:
            where.quarantine.release(where.resource, item.category, key, where.run_id, released_as=how)
