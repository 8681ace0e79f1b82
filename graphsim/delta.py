"""Per-folder message delta: rounds fixed at their first page, opaque signed skip/delta tokens, expiry."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphsim.mailstore import Mailbox
from graphsim.tokens import b64url, b64url_decode

MAX_ROUNDS = 5000


class SyncStateNotFound(Exception):
    """The token is expired, unknown or garbled (Outlook answers 410 Gone, code SyncStateNotFound)."""


@dataclass
class Round:
    id: int
    user_id: str
    folder_id: str
    entries: list[dict[str, Any]]
    watermark: int
    select: list[str] | None
    change_type: str | None
    epoch: int


@dataclass
class DeltaPage:
    value: list[dict[str, Any]]
    next_token: str | None  # $skiptoken of the next page
    delta_token: str | None  # $deltatoken for the next round (last page only)


class DeltaEngine:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._rounds: OrderedDict[int, Round] = OrderedDict()
        self._ids = itertools.count(1)
        self.global_epoch = 0

    # --- tokens: base64url(JSON payload) + "." + HMAC, so garbling is detected ---
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

    def _check_epoch(self, payload: dict[str, Any], mailbox: Mailbox) -> None:
        if payload.get("e") != mailbox.token_epoch or payload.get("g") != self.global_epoch:
            raise SyncStateNotFound(
                f"The sync state generation is not found; generation={payload.get('e')};"
                f"[highest={mailbox.token_epoch}]."
            )

    def expire(self, mailbox: Mailbox | None) -> None:
        """Invalidate every outstanding token of one mailbox (or, with None, of all mailboxes)."""
        if mailbox is None:
            self.global_epoch += 1
            self._rounds.clear()
            return
        mailbox.token_epoch += 1

    # --- rounds ---
    def start_round(
        self,
        user_id: str,
        mailbox: Mailbox,
        folder_id: str,
        watermark: int | None,
        select: list[str] | None,
        change_type: str | None,
    ) -> Round:
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
        round_ = Round(
            next(self._ids), user_id, folder_id, entries, mailbox.seq, select, change_type, mailbox.token_epoch
        )
        self._rounds[round_.id] = round_
        while len(self._rounds) > MAX_ROUNDS:
            self._rounds.popitem(last=False)
        return round_

    def page(self, round_: Round, offset: int, size: int, mailbox: Mailbox) -> DeltaPage:
        chunk = round_.entries[offset : offset + size]
        if round_.select is not None:
            keep = {"@odata.type", "@odata.etag", "id", "@removed", *round_.select}
            chunk = [{k: v for k, v in entry.items() if k in keep} for entry in chunk]
        if offset + size < len(round_.entries):
            token = self.seal({"k": "s", "r": round_.id, "o": offset + size, "e": round_.epoch, "g": self.global_epoch})
            return DeltaPage(chunk, token, None)
        delta = self.seal({"k": "d", "f": round_.folder_id, "w": round_.watermark, "s": round_.select,
                            "c": round_.change_type, "e": round_.epoch, "g": self.global_epoch})  # fmt: skip
        return DeltaPage(chunk, None, delta)

    def resolve_skip(self, token: str, mailbox: Mailbox, folder_id: str) -> tuple[Round, int]:
        payload = self.unseal(token)
        self._check_epoch(payload, mailbox)
        round_ = self._rounds.get(payload.get("r", -1)) if payload.get("k") == "s" else None
        if round_ is None or round_.folder_id != folder_id:
            raise SyncStateNotFound("The sync state is not found.")
        return round_, int(payload.get("o", 0))

    def resolve_delta(self, token: str, mailbox: Mailbox, folder_id: str) -> dict[str, Any]:
        payload = self.unseal(token)
        self._check_epoch(payload, mailbox)
        if payload.get("k") != "d" or payload.get("f") != folder_id:
            raise SyncStateNotFound("The sync state does not belong to this folder.")
        return payload
