"""Delta rounds: the one mechanism behind message delta (graphsim/mail/delta.py), contact and calendarView delta
(graphsim/pim/delta.py) and driveItem delta (graphsim/drives/delta.py).

A round is the answer to one delta request chain: its membership is fixed when its first page is served ("the
same set of items, paged", https://learn.microsoft.com/graph/delta-query-overview), later pages are read from it
by a skip token, and its last page hands out a delta token that records the round's baseline (watermark, $select,
window, page size) for the next round. Tokens are opaque and sealed (base64url JSON + HMAC, so a garbled or forged
token is detected), carry the scope they belong to (a mail folder, `contacts:<folder>`, `view:<calendar>`, a
drive) and the token generation (epoch) they were issued under: bumping a generation expires every outstanding
token of that scope's owner, as Graph does when it drops sync state (410 Gone: SyncStateNotFound for Outlook,
https://learn.microsoft.com/graph/api/message-delta; resyncRequired for drives,
https://learn.microsoft.com/graph/api/driveitem-delta). Rounds are kept up to a bound; a skip token of a round
no longer kept is stale too. Each surface decides what a round lists and how a stale token is answered."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphsim.identity.tokens import b64url, b64url_decode


class SyncStateNotFound(Exception):
    """The token is expired, unknown or garbled (Outlook answers 410 Gone, code SyncStateNotFound)."""


class StaleToken(SyncStateNotFound):
    """A sealed token that can no longer be served, with every reason found (the surface picks its answer):
    'elsewhere' (another scope, or not the kind of token asked for), 'expired' (an older token generation),
    'gone' (a skip token whose round is no longer kept)."""

    def __init__(self, reasons: set[str], payload: dict[str, Any]) -> None:
        super().__init__(", ".join(sorted(reasons)))
        self.reasons = reasons
        self.payload = payload


class Sealer:
    """Opaque tokens: base64url(JSON payload) + "." + HMAC, so garbling is detected. One key per simulator run,
    shared by delta tokens and the $skiptoken of plain paged collections (users, sites, children)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def seal(self, payload: dict[str, Any]) -> str:
        body = b64url(json.dumps(payload, separators=(",", ":")).encode())
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
        return f"{body}.{b64url(mac)}"

    def unseal(self, token: str) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        try:
            expected = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(expected, b64url_decode(mac)):
                raise SyncStateNotFound("The sync state is not valid.")
            payload = json.loads(b64url_decode(body))
        except (ValueError, TypeError) as exc:
            raise SyncStateNotFound("The sync state is not valid.") from exc
        if not isinstance(payload, dict):
            raise SyncStateNotFound("The sync state is not valid.")
        return payload


@dataclass
class Round:
    id: int
    scope: str  # what the round lists: a mail folder id, "contacts:<folder id>", "view:<calendar id>", a drive id
    entries: list[dict[str, Any]]
    baseline: dict[str, Any]  # what the round's delta token records for the next round
    epoch: list[int]  # the token generation the round was started under
    size: int | None = None  # a page size fixed with the round (drives); None: each request says
    select: list[str] | None = None  # $select of the chain: entries keep only these (and the id, type, etag)
    fold_case: bool = False  # $select names match case-insensitively (contacts, events)


@dataclass
class DeltaPage:
    value: list[dict[str, Any]]
    next_token: str | None  # skip token of the next page
    delta_token: str | None  # delta token for the next round (last page only)


class DeltaRounds:
    """Rounds of one surface, kept up to `max_rounds` (oldest dropped first), and their sealed tokens:
    skip {"k": "s", "f": scope, "r": round, "o": offset, "e": epoch}, delta {"k": "d", "f": scope, "e": epoch,
    **baseline}, and any other kind a surface issues through `token` (drives: "f", a fresh enumeration)."""

    def __init__(self, sealer: Sealer, max_rounds: int) -> None:
        self.sealer = sealer
        self.max_rounds = max_rounds
        self._rounds: OrderedDict[int, Round] = OrderedDict()
        self._ids = itertools.count(1)

    def start(self, scope: str, entries: list[dict[str, Any]], baseline: dict[str, Any], epoch: list[int],
              size: int | None = None, select: list[str] | None = None, fold_case: bool = False) -> Round:  # fmt: skip
        """Fix a round's membership now."""
        round_ = Round(next(self._ids), scope, entries, baseline, list(epoch), size, select, fold_case)
        self._rounds[round_.id] = round_
        while len(self._rounds) > self.max_rounds:
            self._rounds.popitem(last=False)
        return round_

    def forget_all(self) -> None:
        self._rounds.clear()

    def token(self, kind: str, scope: str, epoch: list[int], **fields: Any) -> str:
        return self.sealer.seal({"k": kind, "f": scope, "e": list(epoch), **fields})

    def delta_token(self, scope: str, baseline: dict[str, Any], epoch: list[int]) -> str:
        return self.token("d", scope, epoch, **baseline)

    def page(self, round_: Round, offset: int, size: int | None = None) -> DeltaPage:
        """`size` entries from `offset` (the round's own size when it has one), then a skip token, or on the last
        page the delta token."""
        end = offset + (round_.size if size is None else size)  # type: ignore[operator]
        chunk = round_.entries[offset:end]
        if round_.select is not None:
            keep = {"@odata.type", "@odata.etag", "id", "@removed", *round_.select}
            lowered = {k.lower() for k in keep} if round_.fold_case else set()
            chunk = [{k: v for k, v in e.items() if k in keep or k.lower() in lowered} for e in chunk]
        if end < len(round_.entries):
            return DeltaPage(chunk, self.token("s", round_.scope, round_.epoch, r=round_.id, o=end), None)
        return DeltaPage(chunk, None, self.delta_token(round_.scope, round_.baseline, round_.epoch))

    def resolve(self, token: str, scope: str, epoch: list[int], kinds: Iterable[str]) -> dict[str, Any]:
        """The payload of a token of `scope` and one of `kinds`, issued under `epoch`. Raises SyncStateNotFound
        when it is garbled, StaleToken (with every reason that applies) when it cannot be served."""
        payload = self.sealer.unseal(token)
        reasons: set[str] = set()
        if payload.get("k") not in set(kinds) or payload.get("f") != scope:
            reasons.add("elsewhere")
        if payload.get("e") != list(epoch):
            reasons.add("expired")
        if payload.get("k") == "s" and payload.get("r") not in self._rounds:
            reasons.add("gone")
        if reasons:
            raise StaleToken(reasons, payload)
        return payload

    def round_of(self, payload: dict[str, Any]) -> tuple[Round, int]:
        """The round and offset a resolved skip token points at."""
        return self._rounds[payload["r"]], int(payload.get("o", 0))
