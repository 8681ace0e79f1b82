"""The simulator's contacts and calendar state: per-user stores, delta rounds (contacts per folder, calendarView per
calendar and window), attachment upload sessions. Tokens share the mail DeltaEngine's key and epochs, so expiring a
mailbox's delta tokens expires its contact and calendar tokens too."""

from __future__ import annotations

import itertools
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphsim.calendar_store import CalendarStore
from graphsim.contacts_store import ContactStore
from graphsim.delta import MAX_ROUNDS, DeltaEngine, DeltaPage, SyncStateNotFound
from graphsim.mailstore import Mailbox, Tenant

UPLOAD_SESSION_LIFETIME = 3600.0


@dataclass
class PimRound:
    id: int
    scope: str  # "contacts:<folder id>" or "view:<calendar id>"
    entries: list[dict[str, Any]]
    watermark: int
    select: list[str] | None
    epoch: int
    extra: dict[str, Any] = field(default_factory=dict)  # calendarView window {"a": start iso, "b": end iso}


class PimDelta:
    """Rounds fixed at their first page; opaque sealed skip/delta tokens bound to one scope."""

    def __init__(self, engine: DeltaEngine) -> None:
        self.engine = engine
        self._rounds: OrderedDict[int, PimRound] = OrderedDict()
        self._ids = itertools.count(1)

    def new_round(self, mailbox: Mailbox, scope: str, entries: list[dict[str, Any]], watermark: int,
                  select: list[str] | None, extra: dict[str, Any] | None = None) -> PimRound:  # fmt: skip
        round_ = PimRound(next(self._ids), scope, entries, watermark, select, mailbox.token_epoch, extra or {})
        self._rounds[round_.id] = round_
        while len(self._rounds) > MAX_ROUNDS:
            self._rounds.popitem(last=False)
        return round_

    def page(self, round_: PimRound, offset: int, size: int) -> DeltaPage:
        chunk = round_.entries[offset : offset + size]
        if round_.select is not None:
            keep = {"@odata.type", "@odata.etag", "id", "@removed", *round_.select}
            lowered = {k.lower() for k in keep}
            chunk = [{k: v for k, v in e.items() if k in keep or k.lower() in lowered} for e in chunk]
        g = self.engine.global_epoch
        if offset + size < len(round_.entries):
            return DeltaPage(chunk, self.engine.seal({"k": "s", "r": round_.id, "o": offset + size,
                                                      "e": round_.epoch, "g": g}), None)  # fmt: skip
        token = self.engine.seal({"k": "d", "f": round_.scope, "w": round_.watermark, "s": round_.select,
                                  "x": round_.extra, "e": round_.epoch, "g": g})  # fmt: skip
        return DeltaPage(chunk, None, token)

    def resolve_skip(self, token: str, mailbox: Mailbox, scope: str) -> tuple[PimRound, int]:
        payload = self.engine.unseal(token)
        self.engine._check_epoch(payload, mailbox)
        round_ = self._rounds.get(payload.get("r", -1)) if payload.get("k") == "s" else None
        if round_ is None or round_.scope != scope:
            raise SyncStateNotFound("The sync state is not found.")
        return round_, int(payload.get("o", 0))

    def resolve_delta(self, token: str, mailbox: Mailbox, scope: str) -> dict[str, Any]:
        payload = self.engine.unseal(token)
        self.engine._check_epoch(payload, mailbox)
        if payload.get("k") != "d" or payload.get("f") != scope:
            raise SyncStateNotFound("The sync state does not belong to this collection.")
        return payload


@dataclass
class AttachmentUpload:
    token: str
    user_id: str
    event_id: str
    name: str
    size: int
    content_type: str
    is_inline: bool
    expires: float
    data: bytearray = field(default_factory=bytearray)


@dataclass
class UserPim:
    contacts: ContactStore
    calendar: CalendarStore


class PimService:
    def __init__(self, tenant: Tenant, engine: DeltaEngine, seed: int, contacts: int, events: int) -> None:
        from graphsim.pim_seed import seed_pim

        self.tenant = tenant
        self.seed = seed
        self.delta = PimDelta(engine)
        self.users: dict[str, UserPim] = seed_pim(tenant, seed, contacts, events)
        self.uploads: dict[str, AttachmentUpload] = {}
        self.added = 0
        self.outbox: list[dict[str, Any]] = []  # meeting mail sent through Graph (graphsim/meeting_mail.py)

    def of(self, user_id: str) -> UserPim:
        return self.users[user_id]

    def next_number(self) -> int:
        self.added += 1
        return self.added

    def new_upload(self, user_id: str, event_id: str, name: str, size: int, content_type: str,
                   is_inline: bool) -> AttachmentUpload:  # fmt: skip
        now = time.time()
        for token in [t for t, u in self.uploads.items() if u.expires < now]:
            del self.uploads[token]
        upload = AttachmentUpload(secrets.token_urlsafe(24), user_id, event_id, name, size, content_type, is_inline,
                                  now + UPLOAD_SESSION_LIFETIME)  # fmt: skip
        self.uploads[upload.token] = upload
        return upload
