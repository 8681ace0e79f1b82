"""Drive delta (https://learn.microsoft.com/graph/api/driveitem-delta): what a round lists (the whole drive, or
what changed since the watermark with the parents of changed items and deleted facets), in which order, and expiry
(410 Gone with a resync code and a Location that starts a fresh enumeration). Rounds, paging and tokens are
graphsim/delta_rounds.py's; a drive round keeps the page size it started with."""

from __future__ import annotations

import random
from typing import Any

from graphsim.delta_rounds import DeltaRounds, Round, Sealer, StaleToken, SyncStateNotFound
from graphsim.drives.store import Drive, DriveStore

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


class DriveDelta:
    def __init__(self, sealer: Sealer, store: DriveStore) -> None:
        self.rounds = DeltaRounds(sealer, MAX_ROUNDS)
        self.store = store

    def epoch(self, drive: Drive) -> list[int]:
        return [drive.token_epoch, self.store.global_epoch]

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
    ) -> Round:
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
        baseline = {"w": drive.seq, "n": size}
        return self.rounds.start(drive.id, entries, baseline, self.epoch(drive), size)

    def page(self, round_: Round, offset: int) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """(items, token of the next page or None, delta token or None)."""
        page = self.rounds.page(round_, offset)
        return page.value, page.next_token, page.delta_token

    def latest(self, drive: Drive, size: int) -> str:
        """A delta token of the drive as it is now (token=latest: no items, only what changes from here)."""
        return self.rounds.delta_token(drive.id, {"w": drive.seq, "n": size}, self.epoch(drive))

    def fresh(self, drive: Drive) -> str:
        """A token that starts a new full enumeration (the 410 Location)."""
        return self.rounds.token("f", drive.id, self.epoch(drive))

    def resolve(self, token: str, drive: Drive) -> dict[str, Any]:
        """The token's payload; Resync when it is garbled, of another drive, expired, or its round is gone."""
        try:
            return self.rounds.resolve(token, drive.id, self.epoch(drive), ("s", "d", "f"))
        except StaleToken as exc:
            if "elsewhere" in exc.reasons:
                raise Resync("resyncRequired", "The delta token belongs to another drive.") from None
            if "expired" in exc.reasons:
                raise Resync(
                    drive.resync_code,
                    "Resync required. Replace any local items with the server's version "
                    "(including deletes) if you're sure that the service was up to date with your local changes "
                    "when you last sync'd. Upload any local changes that the server doesn't know about.",
                ) from None
            raise Resync(drive.resync_code, "The delta round is no longer available.") from None
        except SyncStateNotFound:
            raise Resync("resyncRequired", "The delta token is not valid.") from None

    def round(self, payload: dict[str, Any]) -> tuple[Round, int]:
        return self.rounds.round_of(payload)
