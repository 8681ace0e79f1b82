"""The simulated tenant: its users (each with an optional mailbox) and how a request names one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphsim.mail.store import Mailbox


@dataclass
class User:
    id: str
    display_name: str
    user_principal_name: str
    mail: str | None
    given_name: str = ""
    surname: str = ""
    job_title: str | None = None
    mailbox: Mailbox | None = None
    # mailboxSettings.userPurpose (https://learn.microsoft.com/graph/api/resources/mailboxsettings): 'user', or
    # 'shared' for a shared mailbox (a user object with a mailbox that several people open), 'room', 'equipment'
    purpose: str = "user"
    archive: Any = None  # its in-place archive (graphsim/archive/store.py Archive), if it has one

    def to_json(self) -> dict[str, Any]:
        return {
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": self.given_name or None,
            "jobTitle": self.job_title,
            "mail": self.mail,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": self.surname or None,
            "userPrincipalName": self.user_principal_name,
            "id": self.id,
        }


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    users: dict[str, User] = field(default_factory=dict)
    added_counter: int = 0

    def resolve_user(self, ref: str) -> User | None:
        user = self.users.get(ref) or self.users.get(ref.lower())
        if user is None:
            lowered = ref.lower()
            user = next((u for u in self.users.values() if u.user_principal_name.lower() == lowered), None)
        return user
