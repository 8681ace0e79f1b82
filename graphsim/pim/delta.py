"""Contact delta (per folder, https://learn.microsoft.com/graph/api/contact-delta) and calendarView delta (per
calendar and window, https://learn.microsoft.com/graph/api/event-delta): rounds bound to one scope, their tokens
sharing the mailbox's token generation with mail delta, so expiring a mailbox's delta tokens expires its contact
and calendar tokens too. What a round lists is the routes' (graphsim/pim/contact_routes.py,
graphsim/pim/calendar_routes.py); rounds, paging and tokens are graphsim/delta_rounds.py's."""

from __future__ import annotations

from typing import Any

from graphsim.delta_rounds import DeltaPage, DeltaRounds, Round
from graphsim.mail.delta import MailDelta
from graphsim.mail.store import Mailbox

MAX_ROUNDS = 5000


class PimDelta:
    def __init__(self, mail: MailDelta) -> None:
        self.mail = mail  # the token generations
        self.rounds = DeltaRounds(mail.rounds.sealer, MAX_ROUNDS)

    def new_round(self, mailbox: Mailbox, scope: str, entries: list[dict[str, Any]], watermark: int,
                  select: list[str] | None, extra: dict[str, Any] | None = None) -> Round:  # fmt: skip
        """`extra`: the calendarView window {"a": start iso, "b": end iso} the chain keeps."""
        baseline = {"w": watermark, "s": select, "x": extra or {}}
        return self.rounds.start(scope, entries, baseline, self.mail.epoch_of(mailbox), select=select, fold_case=True)

    def page(self, round_: Round, offset: int, size: int) -> DeltaPage:
        return self.rounds.page(round_, offset, size)

    def resolve_skip(self, token: str, mailbox: Mailbox, scope: str) -> tuple[Round, int]:
        payload = self.mail.check(self.rounds, token, mailbox, scope, "s", "The sync state is not found.")
        return self.rounds.round_of(payload)

    def resolve_delta(self, token: str, mailbox: Mailbox, scope: str) -> dict[str, Any]:
        elsewhere = "The sync state does not belong to this collection."
        return self.mail.check(self.rounds, token, mailbox, scope, "d", elsewhere)
