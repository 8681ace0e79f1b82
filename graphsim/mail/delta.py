"""Per-folder message delta (https://learn.microsoft.com/graph/api/message-delta): what a round lists (the whole
folder, or what changed since the watermark, filtered by changeType, with departures as @removed), and the
mailbox's token generation. Rounds, paging and tokens are graphsim/delta_rounds.py's."""

from __future__ import annotations

from typing import Any

from graphsim.delta_rounds import DeltaPage, DeltaRounds, Round, Sealer, StaleToken, SyncStateNotFound
from graphsim.mail.store import Mailbox

MAX_ROUNDS = 5000


class MailDelta:
    def __init__(self, sealer: Sealer) -> None:
        self.rounds = DeltaRounds(sealer, MAX_ROUNDS)
        self.global_epoch = 0

    def epoch_of(self, mailbox: Mailbox) -> list[int]:
        """The mailbox's token generation; contact and calendarView tokens share it (graphsim/pim/delta.py)."""
        return [mailbox.token_epoch, self.global_epoch]

    def expire(self, mailbox: Mailbox | None) -> None:
        """Invalidate every outstanding token of one mailbox (or, with None, of all mailboxes)."""
        if mailbox is None:
            self.global_epoch += 1
            self.rounds.forget_all()
            return
        mailbox.token_epoch += 1

    def check(self, rounds: DeltaRounds, token: str, mailbox: Mailbox, scope: str, kind: str,
              elsewhere: str) -> dict[str, Any]:  # fmt: skip
        """A token of `rounds` (mail's or PIM's), or SyncStateNotFound with Outlook's message: an older generation
        first, then `elsewhere` (another scope or kind, or a round no longer kept)."""
        try:
            return rounds.resolve(token, scope, self.epoch_of(mailbox), (kind,))
        except StaleToken as exc:
            if "expired" in exc.reasons:
                seen = exc.payload.get("e")
                generation = seen[0] if isinstance(seen, list) and seen else seen
                raise SyncStateNotFound(
                    f"The sync state generation is not found; generation={generation};[highest={mailbox.token_epoch}]."
                ) from None
            raise SyncStateNotFound(elsewhere) from None

    def start_round(self, mailbox: Mailbox, folder_id: str, watermark: int | None, select: list[str] | None,
                    change_type: str | None) -> Round:  # fmt: skip
        """Fix a round's membership now: everything in the folder (no watermark), or what changed since it."""
        folder = mailbox.folders[folder_id]
        entries: list[dict[str, Any]] = []
        if watermark is None:
            entries = [mailbox.messages[mid].to_json() for mid in folder.message_ids]
        else:
            for mid in folder.message_ids:
                message = mailbox.messages[mid]
                if message.seq <= watermark:
                    continue
                created = message.arrived_seq > watermark
                if (change_type == "created" and not created) or (change_type == "updated" and created):
                    continue
                if change_type != "deleted":
                    entries.append(message.to_json())
            if change_type in (None, "deleted"):
                seen: set[str] = set()
                for departure in mailbox.departures_since(watermark, folder_id):
                    mid = departure.message_id
                    if mid in folder.message_ids or mid in seen:
                        continue
                    seen.add(mid)
                    entries.append(
                        {"@odata.type": "#microsoft.graph.message", "id": mid, "@removed": {"reason": "deleted"}}
                    )
        baseline = {"w": mailbox.seq, "s": select, "c": change_type}
        return self.rounds.start(folder_id, entries, baseline, self.epoch_of(mailbox), select=select)

    def page(self, round_: Round, offset: int, size: int) -> DeltaPage:
        return self.rounds.page(round_, offset, size)

    def resolve_skip(self, token: str, mailbox: Mailbox, folder_id: str) -> tuple[Round, int]:
        payload = self.check(self.rounds, token, mailbox, folder_id, "s", "The sync state is not found.")
        return self.rounds.round_of(payload)

    def resolve_delta(self, token: str, mailbox: Mailbox, folder_id: str) -> dict[str, Any]:
        return self.check(self.rounds, token, mailbox, folder_id, "d", "The sync state does not belong to this folder.")
