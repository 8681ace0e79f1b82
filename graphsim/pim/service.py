"""The simulator's contacts and calendar state: per-user stores, delta rounds (graphsim/pim/delta.py: contacts per
folder, calendarView per calendar and window), attachment upload sessions."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from graphsim.mail.delta import MailDelta
from graphsim.pim.delta import PimDelta
from graphsim.pim.seed import UserPim, seed_pim
from graphsim.tenant import Tenant

UPLOAD_SESSION_LIFETIME = 3600.0


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


class PimService:
    def __init__(self, tenant: Tenant, mail_delta: MailDelta, seed: int, contacts: int, events: int) -> None:
        self.tenant = tenant
        self.seed = seed
        self.delta = PimDelta(mail_delta)
        self.users: dict[str, UserPim] = seed_pim(tenant, seed, contacts, events)
        self.uploads: dict[str, AttachmentUpload] = {}
        self.added = 0
        self.outbox: list[dict[str, Any]] = []  # meeting mail sent through Graph (graphsim/pim/meeting_mail.py)

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
