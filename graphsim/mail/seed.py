"""Deterministic tenant seeding: the same --seed, --users and --messages give byte-identical MIME."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from graphsim.ids import opaque_id
from graphsim.mail.mime import Address, Attachment, MessageSpec, html_of
from graphsim.mail.store import Folder, Mailbox, Message
from graphsim.tenant import Tenant, User

DOMAIN = "simtenant.onmicrosoft.com"
BASE_DATE = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
BROADCAST_EVERY = 25  # message index k with k % 25 == 7 is a broadcast, identical in every mailbox

NAMES = [
    ("Adele", "Vance"), ("Alex", "Wilber"), ("Megan", "Bowen"), ("Lee", "Gu"), ("Nestor", "Wilke"),
    ("Isaiah", "Langer"), ("Lidia", "Holloway"), ("Joni", "Sherman"), ("Pradeep", "Gupta"), ("Grady", "Archie"),
    ("Zoë", "Müller"), ("José", "Núñez"),
]  # fmt: skip
EXTERNAL = [
    ("Dana Swope", "danas@fabrikam.example"), ("Samantha Booth", "samanthab@northwind.example"),
    ("Elliot Hyde", "elliot-hyde@tailspintoys.example"), ("Randi Welch", "randiw@adatum.example"),
    ("Björn Ångström", "bjorn@nordic.example"), ("François Lefèvre", "flefevre@contoso-fr.example"),
]  # fmt: skip
TOPICS = [
    "Quarterly report", "Budget review", "Holiday hours update", "Project kickoff", "Design sync", "Invoice",
    "Travel plans", "Security training", "Release notes", "Customer feedback", "Hiring update", "Office move",
]  # fmt: skip
INTL_SUBJECTS = [
    "Réunion d'équipe — ordre du jour", "Grüße aus München", "会议纪要：第三季度", "Informe de Ñandú S.A.",
    "Προσφορά για το έργο", "🚀 Launch checklist", "Отчёт за неделю", "日本語のテスト件名",
]  # fmt: skip
_WORD_TEXT = (
    "the team agreed to move forward with plan review numbers before friday please send comments on draft "
    "schedule budget customer launch meeting notes follow up with vendor contract renewal timeline update"
)
WORDS = _WORD_TEXT.split(" ")
INTL_LINES = ["Merci beaucoup, à bientôt !", "Viele Grüße aus Köln.", "谢谢大家的努力。", "¡Gracias por todo!"]

# (well-known or name, parent well-known or name, weight of messages it gets)
FOLDER_LAYOUT = [
    ("inbox", "msgfolderroot", 45),
    ("Projects", "inbox", 10),
    ("2026", "Projects", 5),
    ("sentitems", "msgfolderroot", 15),
    ("deleteditems", "msgfolderroot", 5),
    ("drafts", "msgfolderroot", 2),
    ("archive", "msgfolderroot", 10),
    ("junkemail", "msgfolderroot", 3),
    ("Sync Issues", "msgfolderroot", 5),  # hidden: only listed with includeHiddenFolders=true
]


def _sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    return " ".join(words).capitalize() + "."


def _body(rng: random.Random, intl: bool) -> str:
    paragraphs = [" ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 4))) for _ in range(2)]
    if intl:
        paragraphs.append(rng.choice(INTL_LINES))
    return "Hello,\n\n" + "\n\n".join(paragraphs) + "\n\nRegards\n"


def _attachment(rng: random.Random, size: int, index: int = 0) -> Attachment:
    if rng.random() < 0.5:
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(size)
        return Attachment(f"report-{index + 1}.pdf", "application/pdf", data)
    data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)
    return Attachment(f"image-{index + 1}.png", "image/png", data)


def make_spec(
    rng: random.Random, sender: Address, to: list[Address], date: dt.datetime, message_id: str, broadcast: bool = False
) -> MessageSpec:
    intl = rng.random() < 0.2
    subject = rng.choice(INTL_SUBJECTS) if intl else f"{rng.choice(TOPICS)} #{rng.randint(100, 999)}"
    if broadcast:
        subject = f"[All staff] {subject}"
    attachments = (
        [_attachment(rng, rng.randint(2048, 6144), i) for i in range(rng.choice([1, 1, 2]))]
        if rng.random() < 0.2
        else []
    )
    cc = [rng.choice(EXTERNAL)] if rng.random() < 0.3 else []
    return MessageSpec(
        internet_message_id=message_id,
        date=date,
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        body=_body(rng, intl),
        boundary_seed=f"{rng.getrandbits(64):016x}",
        html=rng.random() < 0.3,
        attachments=attachments,
        importance="high" if rng.random() < 0.05 else "normal",
    )


def message_from_spec(spec: MessageSpec, message_id: str, folder_id: str, read: bool) -> Message:
    return Message(
        id=message_id,
        folder_id=folder_id,
        raw=None,
        spec=spec,
        subject=spec.subject,
        sender=spec.sender,
        to=list(spec.to),
        cc=list(spec.cc),
        sent=spec.date,
        received=spec.date + dt.timedelta(seconds=7),
        created=spec.date + dt.timedelta(seconds=7),
        modified=spec.date + dt.timedelta(seconds=7),
        internet_message_id=spec.internet_message_id,
        has_attachments=bool(spec.attachments),
        body=html_of(spec.body) if spec.html else spec.body,  # Graph shows the HTML part when there is one
        body_type="html" if spec.html else "text",
        importance=spec.importance,
        is_read=read,
    )


def _seed_folders(mailbox: Mailbox, seed: int, user_id: str) -> dict[str, Folder]:
    by_name: dict[str, Folder] = {}
    root = mailbox.add_folder(
        Folder(opaque_id("AQMkA", seed, user_id, "root"), "Top of Information Store", None, well_known="msgfolderroot")
    )
    by_name["msgfolderroot"] = root
    names = {"inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items", "drafts": "Drafts",
             "archive": "Archive", "junkemail": "Junk Email"}  # fmt: skip
    for name, parent, _ in FOLDER_LAYOUT:
        folder = Folder(
            opaque_id("AQMkA", seed, user_id, name),
            names.get(name, name),
            by_name[parent].id,
            well_known=name if name in names else None,
            is_hidden=name == "Sync Issues",
        )
        by_name[name] = mailbox.add_folder(folder)
    return by_name


SHARED_NAMES = [("Sales Team", "sales"), ("Support Desk", "support"), ("Finance Office", "finance")]


def seed_tenant(seed: int, users: int, messages: int, shared_mailboxes: int = 0) -> Tenant:
    """`users` mailbox users, one user without a mailbox, and `shared_mailboxes` shared mailboxes (user objects
    whose mailboxSettings.userPurpose is 'shared'), each mailbox with `messages` messages."""
    rng = random.Random(f"tenant:{seed}")
    tenant = Tenant(tenant_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), domain=DOMAIN)
    people: list[User] = []
    for i in range(users):
        first, last = NAMES[i] if i < len(NAMES) else (f"User{i:04d}", "Sim")
        local = f"{first}.{last}".lower().replace("ü", "u").replace("é", "e").replace("ë", "e").replace("ú", "u")
        local = local.replace("ñ", "n")
        upn = f"{local}@{DOMAIN}"
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        people.append(User(uid, f"{first} {last}", upn, upn, first, last, "Staff", Mailbox()))
    no_mailbox = User(str(uuid.UUID(int=rng.getrandbits(128), version=4)), "Build Service", f"svc.build@{DOMAIN}", None)
    for i in range(shared_mailboxes):  # drawn after the others: their ids do not move when some are added
        name, local = SHARED_NAMES[i] if i < len(SHARED_NAMES) else (f"Shared {i:03d}", f"shared{i:03d}")
        address = f"{local}@{DOMAIN}"
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        people.append(User(uid, name, address, address, job_title=None, mailbox=Mailbox(), purpose="shared"))
    all_staff: Address = ("All Staff", f"allstaff@{DOMAIN}")
    for ui, user in enumerate(people):
        tenant.users[user.id] = user
        mailbox = user.mailbox
        assert mailbox is not None
        folders = _seed_folders(mailbox, seed, user.id)
        names = [n for n, _, _ in FOLDER_LAYOUT]
        weights = [w for _, _, w in FOLDER_LAYOUT]
        me: Address = (user.display_name, user.mail or "")
        senders = EXTERNAL + [(p.display_name, p.mail or "") for p in people if p is not user and p.purpose == "user"]
        for k in range(messages):
            mrng = random.Random(f"msg:{seed}:{ui}:{k}")
            folder_name = mrng.choices(names, weights)[0]
            date = BASE_DATE - dt.timedelta(minutes=37 * (messages - k) + mrng.randint(0, 30))
            if k % BROADCAST_EVERY == 7:
                j = k // BROADCAST_EVERY
                brng = random.Random(f"broadcast:{seed}:{j}")
                when = BASE_DATE - dt.timedelta(days=30 - j % 30, hours=j)
                imid = f"<broadcast.{seed}.{j}@{DOMAIN}>"
                spec = make_spec(brng, ("IT Department", f"it@{DOMAIN}"), [all_staff], when, imid, broadcast=True)
                folder_name = "inbox"
            elif folder_name in ("sentitems", "drafts"):
                to = [mrng.choice(EXTERNAL)]
                spec = make_spec(mrng, me, to, date, f"<{seed}.{ui}.{k}.{mrng.getrandbits(32):08x}@{DOMAIN}>")
            else:
                sender = mrng.choice(senders)
                spec = make_spec(mrng, sender, [me], date, f"<{seed}.{ui}.{k}.{mrng.getrandbits(32):08x}@mail.example>")
            message = message_from_spec(spec, opaque_id("AAMkA", seed, user.id, k), folders[folder_name].id,
                                        read=mrng.random() < 0.6)  # fmt: skip
            message.is_draft = folder_name == "drafts"
            mailbox.insert(message)
    tenant.users[no_mailbox.id] = no_mailbox
    return tenant
