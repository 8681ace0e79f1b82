"""Deterministic contacts and calendars for every mailbox user: the same seed gives the same ids and properties."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from graphsim.ids import opaque_id
from graphsim.pim.calendar_store import DEFAULT_PROPS, Attachment, Calendar, CalendarStore, Event, normalize_prop
from graphsim.pim.common import Blob, iso_z
from graphsim.pim.contact_store import Contact, ContactFolder, ContactStore, Photo, contact_props
from graphsim.pim.recurrence import normalize
from graphsim.tenant import Tenant, User

BASE = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
BIG_ATTACHMENT = 10 * 1024 * 1024
PEOPLE = [
    ("Ana", "García", "Contoso Ltd", "Buyer"), ("Björn", "Ångström", "Nordic AB", "Engineer"),
    ("Chloé", "Dubois", "Fabrikam", "Director"), ("Dmitri", "Иванов", "Litware", "Analyst"),
    ("Emi", "佐藤", "Tailspin Toys", "Designer"), ("Farid", "Haddad", "Adatum", "Consultant"),
    ("Grace", "O'Neil", "Northwind", "Sales lead"), ("Hans", "Müller", "Proseware", "CFO"),
]  # fmt: skip
SUBJECTS = ["Budget review", "Design sync", "Réunion client — Lyon", "Vendor call", "会议：产品路线图",
            "Lunch with Ana 🍝", "Hiring panel", "Quarterly planning"]  # fmt: skip
CITIES = ["Paris", "München", "Tokyo", "Seattle", "Oslo"]


def jpeg_bytes(rng: random.Random, size: int = 3000) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + rng.randbytes(size) + b"\xff\xd9"


def small_attachment(key: str, rng: random.Random, index: int, size: int) -> Attachment:
    if index % 2 == 0:
        name, ctype, data = f"agenda-{index + 1}.pdf", "application/pdf", b"%PDF-1.4\n" + rng.randbytes(size)
    else:
        name, ctype, data = f"notes-{index + 1}.txt", "text/plain", ("Notes – ünïcode ✓\n" * (size // 20)).encode()
    return Attachment(opaque_id("AAMkA", key, "att", index), name, ctype, Blob.of(data))


def _seed_contacts(user: User, store: ContactStore, seed: int, count: int) -> None:
    uid = user.id
    default = store.add_folder(ContactFolder(opaque_id("AQMkA", seed, uid, "contacts"), "Contacts", store.root_id,
                                             well_known="contacts"))  # fmt: skip
    child = store.add_folder(ContactFolder(opaque_id("AQMkA", seed, uid, "contacts", "Suppliers"), "Suppliers",
                                           default.id))  # fmt: skip
    family = store.add_folder(ContactFolder(opaque_id("AQMkA", seed, uid, "contacts", "Family"), "Family",
                                            store.root_id))  # fmt: skip
    for k in range(count):
        rng = random.Random(f"contact:{seed}:{uid}:{k}")
        first, last, company, title = PEOPLE[(k + len(uid)) % len(PEOPLE)]
        folder = family if k == count - 1 and count >= 3 else (child if k % 3 == 2 else default)
        local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or f"contact{k}"
        domain = f"{company.split()[0].lower()}.example"
        birthday = f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T11:59:00Z"
        props = contact_props({
            "givenName": first, "surname": last, "displayName": f"{first} {last}",
            "emailAddresses": [{"name": f"{first} {last}", "address": f"{local}{k}@{domain}"}],
            "businessPhones": [f"+1 425 555 {rng.randint(1000, 9999)}"],
            "mobilePhone": f"+44 7700 {rng.randint(100000, 999999)}",
            "companyName": company, "jobTitle": title, "categories": ["Red category"] if k % 2 else [],
            "businessAddress": {"street": f"{rng.randint(1, 200)} Main St", "city": rng.choice(CITIES),
                                "countryOrRegion": "Wonderland", "postalCode": f"{rng.randint(10000, 99999)}"},
            "birthday": birthday if k % 2 == 0 else None,
            "personalNotes": "Met at the conference — prefers e-mail." if k == 0 else None,
        })  # fmt: skip
        when = BASE - dt.timedelta(days=60 - k)
        contact = Contact(opaque_id("AAMkA", seed, uid, "contact", k), folder.id, props, when, when)
        if k == 0:
            contact.photo = Photo(jpeg_bytes(rng))
        store.insert(contact)


def new_event(store: CalendarStore, eid: str, calendar_id: str, user: User, subject: str, start: dt.datetime,
              end: dt.datetime, **props: object) -> Event:  # fmt: skip
    merged = {**DEFAULT_PROPS, "subject": subject, **props}
    normalized = {k: normalize_prop(k, v) for k, v in merged.items()}
    organizer = {"emailAddress": {"name": user.display_name, "address": user.mail or user.user_principal_name}}
    created = min(start, BASE) - dt.timedelta(days=7)
    uid = "040000008200E00074C5B7101A82E008" + eid.encode().hex()[:64].upper()
    return Event(eid, calendar_id, normalized, start, end, organizer, created, created, uid)


def _seed_calendar(user: User, store: CalendarStore, seed: int, singles: int, others: list[User], big: bool) -> None:
    uid = user.id
    main = store.add_calendar(Calendar(opaque_id("AAMkA", seed, uid, "calendar"), "Calendar", is_default=True))
    second = store.add_calendar(Calendar(opaque_id("AAMkA", seed, uid, "calendar", 2), "Project Deadlines",
                                         color="lightGreen"))  # fmt: skip
    if singles <= 0:  # --events 0: empty calendars (no series, no attachments either)
        return
    for k in range(singles):
        rng = random.Random(f"event:{seed}:{uid}:{k}")
        start = BASE + dt.timedelta(days=2 * k - 6, hours=rng.randint(0, 7))
        attendees = [{"type": "required", "emailAddress": {"name": o.display_name, "address": o.mail}}
                     for o in others[: 1 + k % 2]]  # fmt: skip
        calendar = second if k % 3 == 2 else main
        all_day = k == 4
        if all_day:
            start = start.replace(hour=0)
        end = start + (dt.timedelta(days=1) if all_day else dt.timedelta(minutes=30 * rng.randint(1, 4)))
        event = new_event(store, opaque_id("AAMkA", seed, uid, "event", k), calendar.id, user,
                          SUBJECTS[k % len(SUBJECTS)], start, end, isAllDay=all_day, attendees=attendees,
                          body={"contentType": "html", "content": f"<p>Agenda {k}: décisions, 次のステップ</p>"},
                          location={"displayName": f"Room {rng.randint(100, 400)}, {rng.choice(CITIES)}"},
                          categories=["Blue category"] if k % 2 else [], showAs="free" if all_day else "busy",
                          importance="high" if k == 0 else "normal")  # fmt: skip
        if k in (1, 3):
            for i in range(1 if k == 1 else 2):
                att = small_attachment(event.id, rng, i, 4096 * (i * 4 + 1))
                event.attachments[att.id] = att
        store.insert(event)
    # a weekly series of 10 (Mondays): the 3rd occurrence edited (an exception), the 6th cancelled
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    series = new_event(store, opaque_id("AAMkA", seed, uid, "series", "standup"), main.id, user, "Team standup",
                       start, start + dt.timedelta(minutes=30), body={"contentType": "text", "content": "Daily-ish."},
                       attendees=[{"type": "required", "emailAddress": {"name": o.display_name, "address": o.mail}}
                                  for o in others[:2]])  # fmt: skip
    series.type = "seriesMaster"
    series.recurrence = normalize({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 10},
    })  # fmt: skip
    store.insert(series)
    originals = [i.start for i in store.series(series, None, None)]
    exc = store.make_exception(series, originals[2], BASE)
    exc.props["subject"] = "Team standup (moved to 11:00) — Raum 2"
    exc.start, exc.end = exc.start + dt.timedelta(hours=1), exc.end + dt.timedelta(hours=1)
    store.cancel_occurrence(series, originals[5])
    # a monthly series without end on the second calendar
    start = dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)
    monthly = new_event(store, opaque_id("AAMkA", seed, uid, "series", "monthly"), second.id, user,
                        "Monthly report review", start, start + dt.timedelta(hours=1))  # fmt: skip
    monthly.type = "seriesMaster"
    monthly.recurrence = normalize({"pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 5},
                                    "range": {"type": "noEnd", "startDate": "2026-01-05"}})  # fmt: skip
    store.insert(monthly)
    if big:
        start = BASE + dt.timedelta(days=3, hours=4)
        deck = new_event(store, opaque_id("AAMkA", seed, uid, "event", "deck"), main.id, user,
                         "Quarterly review — deck attached", start, start + dt.timedelta(hours=2))  # fmt: skip
        blob = Blob(BIG_ATTACHMENT, key=f"{seed}:{uid}:deck", prefix=b"PK\x03\x04")
        att = Attachment(opaque_id("AAMkA", deck.id, "att", 0), "Q1-review.pptx",
                         "application/vnd.openxmlformats-officedocument.presentationml.presentation", blob)  # fmt: skip
        deck.attachments[att.id] = att
        store.insert(deck)


@dataclass
class UserPim:
    """One user's contacts and calendar."""

    contacts: ContactStore
    calendar: CalendarStore


def seed_pim(tenant: Tenant, seed: int, contacts: int, events: int) -> dict[str, UserPim]:
    out: dict[str, UserPim] = {}
    users = [u for u in tenant.users.values() if u.mailbox is not None]
    for index, user in enumerate(users):
        assert user.mailbox is not None
        cstore = ContactStore(user.mailbox.well_known["msgfolderroot"])
        _seed_contacts(user, cstore, seed, contacts)
        kstore = CalendarStore()
        others = [u for u in users if u is not user][:3]
        _seed_calendar(user, kstore, seed, events, others, big=index == 0)
        out[user.id] = UserPim(cstore, kstore)
    return out


__all__ = ["UserPim", "iso_z", "jpeg_bytes", "new_event", "seed_pim"]
