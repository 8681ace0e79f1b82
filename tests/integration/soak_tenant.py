"""The soak test's moving parts: a seeded mix of Graph faults, seeded changes to a simulated tenant (mail,
contacts, events, OneDrive and site files), and what the tenant holds now against what a restore point holds."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.storage.catalog import FOLDER, ItemVersion
from core.workloads.exchange.contacts_backup import CONTACT, CONTACT_FOLDER
from core.workloads.exchange.events_backup import CALENDAR, EVENT
from core.workloads.exchange.mail_backup import MAIL
from core.workloads.files.drive_backup import DRIVE_FOLDER, FILE
from graphsim.control import SimControl
from tests.integration.days import at
from tests.integration.tenant import Tenant

ITEMS = (MAIL, CONTACT, EVENT, FILE)  # what the tenant holds, and the test compares version by version
# Every kind of item a restore point holds, containers included: at most one live version of each at any run.
CATEGORIES = {"exchange": (MAIL, FOLDER, CONTACT, CONTACT_FOLDER, EVENT, CALENDAR), "drive": (FILE, DRIVE_FOLDER)}
# Request kinds a throttle is aimed at (None: whichever requests come next).
THROTTLED = (None, "delta", "value", "contacts_delta", "events_delta", "drive_delta", "download_redirect", "children")
NOT_FOUND = ("value", "download_redirect", "attachments", "photo")  # content reads that answer a transient 404


def fault_mix(rng: random.Random, round_no: int) -> list[dict[str, Any]]:
    """One run's faults: 429 with and without Retry-After, 503, connection resets after the headers of a share of
    the reads, and transient 404s on content (each a few times, aimed at seeded request kinds)."""
    faults: list[dict[str, Any]] = [
        {"kind": "throttle", "status": 429, "retry_after": "0.2", "count": rng.randint(2, 6),
         "endpoint": rng.choice(THROTTLED)},
        {"kind": "throttle", "status": 429, "retry_after": None, "count": rng.randint(1, 3),
         "endpoint": rng.choice(THROTTLED)},
        {"kind": "throttle", "status": 503, "retry_after": rng.choice([None, "0.1"]), "count": rng.randint(1, 3),
         "endpoint": rng.choice(THROTTLED)},
        {"kind": "reset_response", "ratio": 0.04, "methods": ["GET"], "seed": round_no},
    ]  # fmt: skip
    for endpoint in rng.sample(NOT_FOUND, 2):
        faults.append({"kind": "not_found", "endpoint": endpoint, "count": rng.randint(1, 3)})
    return faults


@dataclass
class Changes:
    """Seeded changes to the simulated tenant between (and during) backup runs; counts what it did."""

    control: SimControl
    users: list[str]
    drives: list[str]  # the OneDrive of a mailbox user and a site's library
    rng: random.Random
    done: Counter[str]

    def some(self, n: int) -> None:
        for _ in range(n):
            getattr(self, self.rng.choice(("mail", "mail", "contact", "event", "file", "file")))()

    def _apply(self, what: str, items: list[dict[str, Any]], add: Callable[[], object],
               **acts: Callable[[dict[str, Any]], object]) -> None:  # fmt: skip
        """One seeded change: an addition (twice as likely as each other act, and always when fewer than three
        `items` are left), or one of `acts` on a seeded one of `items`."""
        action = self.rng.choice(("add", "add", *acts))
        if action == "add" or len(items) < 3:
            action = "add"
            add()
        else:
            acts[action](self.rng.choice(sorted(items, key=lambda i: i["id"])))
        self.done[f"{what} {action}"] += 1

    def _tag(self) -> str:
        return f"{self.rng.getrandbits(32):08x}"

    def mail(self) -> None:
        user, control = self.rng.choice(self.users), self.control
        self._apply(
            "mail", control.list_messages(user),
            add=lambda: control.add_message(user, folder=self.rng.choice(("inbox", "archive")), subject=self._tag()),
            update=lambda m: control.update_message(user, m["id"], subject=f"edited {self._tag()}"),
            move=lambda m: control.move_message(user, m["id"], self.rng.choice(("archive", "inbox"))),
            delete=lambda m: control.delete_message(user, m["id"]),
        )  # fmt: skip

    def contact(self) -> None:
        user, control = self.rng.choice(self.users), self.control
        name = f"Soak {self._tag()}"
        self._apply(
            "contact", control.pim(user)["contacts"],
            add=lambda: control.add_contact(user, properties={"displayName": name, "givenName": name},
                                            photo=self.rng.random() < 0.3),
            update=lambda c: control.update_contact(user, c["id"], {"jobTitle": f"T{self._tag()}"}),
            delete=lambda c: control.delete_contact(user, c["id"]),
        )  # fmt: skip

    def event(self) -> None:
        user, control = self.rng.choice(self.users), self.control
        singles = [e for e in control.pim(user)["events"] if e["type"] == "singleInstance"]
        self._apply(
            "event", singles, add=lambda: self._add_event(user),
            update=lambda e: control.update_event(user, e["id"], subject=f"Moved {self._tag()}"),
            delete=lambda e: control.delete_event(user, e["id"]),
        )  # fmt: skip

    def _add_event(self, user: str) -> None:
        day = self.rng.randint(1, 30)
        event = self.control.add_event(user, subject=f"Soak {day}", start=at(day, 9), end=at(day, 10))
        if self.rng.random() < 0.4:
            self.control.add_event_attachment(user, event["id"], size=self.rng.randint(500, 6000))

    def file(self) -> None:
        drive, control = self.rng.choice(self.drives), self.control
        items = control.drive(drive)["items"]
        folders = ["/", *sorted(i["id"] for i in items if i["folder"] and i["parent_id"])]
        self._apply(
            "file", [i for i in items if not i["folder"]],
            add=lambda: control.add_drive_item(drive, f"soak-{self._tag()}.bin", parent=self.rng.choice(folders),
                                               size=self.rng.randint(0, 50_000)),
            modify=lambda f: control.modify_drive_item(drive, f["id"], size=self.rng.randint(1, 40_000)),
            rename=lambda f: control.rename_drive_item(drive, f["id"], f"renamed-{self._tag()}-{f['name']}"),
            move=lambda f: control.move_drive_item(drive, f["id"], self.rng.choice(folders), f"moved-{self._tag()}"),
            delete=lambda f: control.delete_drive_item(drive, f["id"]),
        )  # fmt: skip


def seed_calendar(control: SimControl, user: str) -> None:
    """A few single events (one with an attachment) and a weekly series with an exception and a cancellation."""
    for day in (2, 5, 9):
        control.add_event(user, subject=f"Review {day}", start=at(day, 10), end=at(day, 11))
    single = control.add_event(user, subject="Kick-off", start=at(3, 14), end=at(3, 15))
    control.add_event_attachment(user, single["id"], size=3000)
    recurrence = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"]},
                  "range": {"type": "numbered", "startDate": at(1, 0)[:10], "numberOfOccurrences": 8}}  # fmt: skip
    series = control.add_event(user, subject="Soak sync", start=at(1, 9), end=at(1, 10), recurrence=recurrence)
    control.edit_occurrence(user, series["id"], index=2, subject="Soak sync (moved)", shift_minutes=60)
    control.cancel_occurrence(user, series["id"], index=4)


def resources(tenant: Tenant) -> dict[str, str]:
    """resource key -> its kind ('exchange' or 'drive') for everything the tenant holds."""
    out = {f"exchange:{u['id']}": "exchange" for u in tenant.mailboxes()}
    for drive in tenant.sim.control.drives_state()["drives"]:
        out[drive_resource(drive)] = "drive"
    return out


def drive_resource(drive: dict[str, Any]) -> str:
    return f"onedrive:{drive['owner_id']}" if drive["owner_kind"] == "user" else f"sharepoint:{drive['owner_id']}"


def tenant_items(tenant: Tenant) -> dict[str, dict[tuple[str, str], str]]:
    """resource -> {(category, item id): what identifies its current version} for every item the tenant holds:
    a message's MIME sha256, a file's content sha256, a contact's or event's change key."""
    out: dict[str, dict[tuple[str, str], str]] = {}
    for user in tenant.sim.control.state()["users"]:
        if not user["has_mailbox"]:
            continue
        items = {(MAIL, m["id"]): m["sha256"] for m in user["messages"]}
        items |= {(CONTACT, c["id"]): c["changeKey"] for c in user["contacts"]}
        items |= {(EVENT, e["id"]): e["changeKey"] for e in user["events"] if e["type"] != "occurrence"}
        out[f"exchange:{user['id']}"] = items
    for drive in tenant.sim.control.drives_state()["drives"]:
        files = {(FILE, f"{drive['id']}/{i['id']}"): i["sha256"] for i in drive["items"] if not i["folder"]}
        out.setdefault(drive_resource(drive), {}).update(files)
    return out


def point_items(versions: Iterable[ItemVersion]) -> dict[tuple[str, str], str]:
    """The same view of a restore point's versions (change keys for contacts and events, else content hashes)."""
    return {(v.category, v.item_id): v.change_key if v.category in (CONTACT, EVENT) else v.content_hash
            for v in versions}  # fmt: skip


def duplicates(versions: Iterable[ItemVersion]) -> list[tuple[str, str]]:
    """(category, item id) of every item with more than one of the given versions."""
    seen = Counter((v.category, v.item_id) for v in versions)
    return sorted(key for key, n in seen.items() if n > 1)
