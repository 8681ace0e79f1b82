"""Drive delta: rounds fixed at their first page, opaque sealed tokens, parents of changed items, deleted facets,
expiry (410 Gone with a resync code and a Location that starts a fresh enumeration)."""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphsim.delta import DeltaEngine, SyncStateNotFound
from graphsim.drives_store import Drive, DriveStore

MAX_ROUNDS = 200
# The order a round lists its items in. The driveItem delta docs promise none
# (https://learn.microsoft.com/graph/api/driveitem-delta): "The same item may appear more than once", and "you
# should only delete a folder locally if it is empty after syncing all the changes", so a client must apply a round
# only as a whole. 'tree': live items parents first, then deletions (what OneDrive usually does); 'newest_first':
# by change, the latest first (a folder's deletion before the move of a child out of it; a folder moved under
# another listed before that other moved out of it, a parent cycle that exists only mid-round); 'shuffle': any
# order, seeded per round.
ORDERS = ("tree", "newest_first", "shuffle")


class Resync(Exception):
    """The token can no longer be served: 410 Gone with `code` and a fresh enumeration link."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class DriveRound:
    id: int
    drive_id: str
    entries: list[dict[str, Any]]
    watermark: int
    epoch: tuple[int, int]
    size: int


class DriveDelta:
    def __init__(self, engine: DeltaEngine, store: DriveStore) -> None:
        self.engine = engine  # its seal/unseal (HMAC-signed tokens)
        self.store = store
        self._rounds: OrderedDict[int, DriveRound] = OrderedDict()
        self._ids = itertools.count(1)

    def _epoch(self, drive: Drive) -> tuple[int, int]:
        return drive.token_epoch, self.store.global_epoch

    def expire(self, drive: Drive | None, code: str = "resyncChangesApplyDifferences") -> None:
        for each in [drive] if drive else list(self.store.drives.values()):
            each.token_epoch += 1
            each.resync_code = code

    def start_round(
        self,
        drive: Drive,
        watermark: int | None,
        size: int,
        exclude_parents: bool,
        show_sharing: bool = False,
        order: str = "tree",
    ) -> DriveRound:
        if watermark is None:
            listed = drive.walk()
        else:
            changed = {i.id for i in drive.items.values() if i.seq > watermark}
            wanted = set(changed)
            if not exclude_parents:
                for iid in changed:
                    item = drive.items[iid]
                    while not item.deleted and item.parent_id is not None:
                        item = drive.items[item.parent_id]
                        wanted.add(item.id)
            live = [i for i in drive.walk() if i.id in wanted]
            gone = sorted((drive.items[i] for i in wanted if drive.items[i].deleted), key=lambda i: i.seq)
            listed = live + gone
        if order == "newest_first":
            listed = sorted(listed, key=lambda i: -i.seq)
        elif order == "shuffle":
            random.Random(f"{drive.id}:{drive.seq}:{watermark}").shuffle(listed)
        entries = []
        for item in listed:
            entry = drive.item_json(item, with_path=False)
            entry.pop("cTag", None)  # OneDrive for Business omits cTag in delta
            # Prefer: deltashowsharingchanges marks the items listed because their permissions changed ("Scanning
            # permissions hierarchies", https://learn.microsoft.com/graph/api/driveitem-delta)
            if show_sharing and watermark is not None and item.sharing_seq > watermark and not item.deleted:
                entry["@microsoft.graph.sharedChanged"] = "True"
            entries.append(entry)
        round_ = DriveRound(next(self._ids), drive.id, entries, drive.seq, self._epoch(drive), size)
        self._rounds[round_.id] = round_
        while len(self._rounds) > MAX_ROUNDS:
            self._rounds.popitem(last=False)
        return round_

    def page(self, round_: DriveRound, offset: int) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """(items, token of the next page or None, delta token or None)."""
        end = offset + round_.size
        chunk = round_.entries[offset:end]
        if end < len(round_.entries):
            token = self.engine.seal(
                {"k": "s", "r": round_.id, "o": end, "d": round_.drive_id, "e": list(round_.epoch)}
            )
            return chunk, token, None
        return chunk, None, self.latest(round_.drive_id, round_.watermark, round_.epoch, round_.size)

    def latest(self, drive_id: str, watermark: int, epoch: tuple[int, int], size: int) -> str:
        return self.engine.seal({"k": "d", "w": watermark, "d": drive_id, "e": list(epoch), "n": size})

    def fresh(self, drive: Drive) -> str:
        """A token that starts a new full enumeration (the 410 Location)."""
        return self.engine.seal({"k": "f", "d": drive.id, "e": list(self._epoch(drive))})

    def resolve(self, token: str, drive: Drive) -> dict[str, Any]:
        """The token's payload; Resync when it is expired, of another drive, or its round is gone."""
        try:
            payload = self.engine.unseal(token)
        except SyncStateNotFound:
            raise Resync("resyncRequired", "The delta token is not valid.") from None
        if payload.get("d") != drive.id:
            raise Resync("resyncRequired", "The delta token belongs to another drive.")
        if tuple(payload.get("e", ())) != self._epoch(drive):
            raise Resync(
                drive.resync_code,
                "Resync required. Replace any local items with the server's version "
                "(including deletes) if you're sure that the service was up to date with your local changes "
                "when you last sync'd. Upload any local changes that the server doesn't know about.",
            )
        if payload.get("k") == "s" and payload.get("r") not in self._rounds:
            raise Resync(drive.resync_code, "The delta round is no longer available.")
        return payload

    def round(self, payload: dict[str, Any]) -> DriveRound:
        return self._rounds[payload["r"]]
