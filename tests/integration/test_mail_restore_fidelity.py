"""What the mailbox owner sees after a mail restore (issue 10): every restored message equals its original as Graph
reports it (not a draft, original dates, state, headers, body, file, inline and item attachments, any size), in its
original folder and in another mailbox whose folders are in another language; a restore over a connection that
keeps dropping lands every message exactly once; and a message's small files go in its create (issue 16)."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import os
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from core.errors import GraphError
from core.graph.client import GraphClient
from core.graph.retry import RetryPolicy
from core.restore import restore
from core.restore_request import RestoreRequest
from core.workloads.exchange.mail_restore import CREATE_BUDGET
from devenv.message_fidelity import differences, snapshot
from tests.integration.tenant import Tenant, open_tenant

WHEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    t = open_tenant(tmp_path / "sim", storage_env, policy=RetryPolicy(base_delay=0.01, max_delay=0.05),
                    users=3, messages=2, contacts=0, events=0, seed=41)  # fmt: skip
    yield t
    t.close()


def _mime(subject: str, n: int, *, message_id: bool = True, html: str | None = None) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr(("Dana Swope", "danas@fabrikam.example"))
    msg["To"] = "Alex Wilber <alexw@contoso.example>, lee@contoso.example"
    msg["Cc"] = "Büro Team <buero@contoso.example>"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(WHEN + dt.timedelta(minutes=n))
    if message_id:
        msg["Message-ID"] = f"<fidelity.{n}@fabrikam.example>"
    if html is not None:
        msg.set_content("plain alternative\n")
        msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(f"Hello,\n\nmessage number {n}.\n\nDana\n")
    return msg


def _fidelity_set() -> dict[str, bytes]:
    plain = _mime("A plain message", 1)
    state = _mime("Re: Unread, flagged and categorised", 2, html="<html><body><p>Please look.</p></body></html>")
    state["Reply-To"] = "Projects <projects@fabrikam.example>"
    state["In-Reply-To"] = "<fidelity.1@fabrikam.example>"
    state["References"] = "<fidelity.0@fabrikam.example> <fidelity.1@fabrikam.example>"
    big = _mime("Twelve megabytes", 3)
    big.add_attachment(os.urandom(12 * 1024 * 1024), maintype="application", subtype="pdf", filename="scan.pdf")
    inline = _mime("An inline image", 4, html='<html><body><p>Logo:</p><img src="cid:logo@fabrikam"></body></html>')
    inline.get_body(("html",)).add_related(PNG, maintype="image", subtype="png", cid="<logo@fabrikam>",
                                           filename="logo.png", disposition="inline")  # fmt: skip
    item = _mime("Forwarded as an attachment", 5)
    item.add_attachment(_mime("The original note", 6), filename="The original note.eml")
    no_id = _mime("Without a Message-ID", 7, message_id=False)
    on_behalf = _mime("Sent on behalf, with Bcc", 8)
    on_behalf["Sender"] = "Assistant <assistant@fabrikam.example>"
    on_behalf["Bcc"] = "auditor@contoso.example"
    return {m["Subject"]: m.as_bytes() for m in (plain, state, big, inline, item, no_id, on_behalf)}


def _folders(tenant: Tenant, user: str) -> list[dict]:
    return next(u for u in tenant.sim.control.state()["users"] if u["id"] == user)["folders"]


def _messages(tenant: Tenant, user: str) -> list[dict]:
    return next(u for u in tenant.sim.control.state()["users"] if u["id"] == user)["messages"]


def test_restored_messages_equal_their_originals_in_place_and_in_a_localized_mailbox(tenant: Tenant):
    source, other, german = (tenant.user(n)["id"] for n in range(3))
    graph, control = tenant.services.graph, tenant.sim.control
    ids = [control.add_message(source, "inbox", mime=mime)["id"] for mime in _fidelity_set().values()]
    flagged = ids[1]
    control.update_message(source, flagged, isRead=False, flag="flagged", categories=["Red category", "Projekt Ü"])
    control.update_message(source, ids[0], isRead=True)
    control.localize_mailbox(other)  # its Inbox is "Posteingang"
    control.localize_mailbox(german)
    german_message = control.add_message(german, "inbox", mime=_mime("Aus dem Posteingang", 9).as_bytes())["id"]
    tenant.backup()
    originals = {i: snapshot(graph, control, source, i) for i in ids}
    german_original = snapshot(graph, control, german, german_message)
    assert originals[ids[5]]["properties"]["internetMessageId"] is None
    for message_id in ids:
        control.delete_message(source, message_id)

    # into the original folder
    report = restore(tenant.services, RestoreRequest(f"exchange:{source}", item_ids=tuple(ids)))
    assert (report.restored, report.failed) == (len(ids), 0), report.failures
    by_original = {i["item_id"]: i["new_id"] for i in report.items}
    for original_id, view in originals.items():
        back = snapshot(graph, control, source, by_original[original_id])
        assert differences(view, back) == [], view["properties"]["subject"]
        assert back["properties"]["isDraft"] is False
    assert originals[flagged]["properties"]["flag"]["flagStatus"] == "flagged"

    # into another mailbox, whose folders are in German: the Inbox is its "Posteingang", no second Inbox is made
    folders_before = {f["path"] for f in _folders(tenant, other)}
    report = restore(tenant.services, RestoreRequest(f"exchange:{source}", item_ids=tuple(ids), target_owner=other))
    assert (report.restored, report.failed) == (len(ids), 0), report.failures
    assert {f["path"] for f in _folders(tenant, other)} == folders_before
    for item in report.items:
        back = snapshot(graph, control, other, item["new_id"])
        assert differences(originals[item["item_id"]], back) == []
        landed = next(m for m in _messages(tenant, other) if m["id"] == item["new_id"])
        assert landed["folder_path"] == "/Posteingang"

    # from the German mailbox's Inbox into an English one: its Inbox, not a new "Posteingang"
    report = restore(tenant.services, RestoreRequest(f"exchange:{german}", item_ids=(german_message,),
                                                     target_owner=source))  # fmt: skip
    assert report.restored == 1
    landed = next(m for m in _messages(tenant, source) if m["id"] == report.items[0]["new_id"])
    assert landed["folder_path"] == "/Inbox"
    assert differences(german_original, snapshot(graph, control, source, landed["id"])) == []


def test_a_restore_over_dropped_connections_lands_every_message_once(tenant: Tenant):
    user = tenant.user(0)["id"]
    control = tenant.sim.control
    folder = control.create_folder(user, "Bulk")["id"]
    ids = [control.add_message(user, folder, subject=f"Bulk {n}")["id"] for n in range(60)]
    tenant.backup()
    for message_id in ids:
        control.delete_message(user, message_id)
    control.set_faults({"kind": "reset_response", "ratio": 0.25, "user": user, "seed": 7})
    resource = f"exchange:{user}"

    def in_bulk() -> Counter:
        return Counter(m["subject"] for m in _messages(tenant, user) if m["folder_path"] == "/Bulk")

    report = restore(tenant.services, RestoreRequest(resource, folder="Bulk"))
    assert (report.restored, report.skipped, report.failed) == (60, 0, 0), report.failures
    assert in_bulk() == Counter(f"Bulk {n}" for n in range(60))  # each exactly once
    again = restore(tenant.services, RestoreRequest(resource, folder="Bulk"))
    assert (again.restored, again.skipped, again.failed) == (0, 60, 0)
    both = restore(tenant.services, RestoreRequest(resource, folder="Bulk", conflict="keep-both"))
    assert (both.restored, both.failed) == (60, 0)
    assert in_bulk() == Counter({f"Bulk {n}": 2 for n in range(60)})
    resets = control.stats()["resets"]
    assert resets >= 30, resets  # the faults really hit (a quarter of ~190 requests)
    assert tenant.services.graph.stats().get("ambiguous_writes", 0) >= 10


def test_a_draft_comes_back_as_a_draft(tenant: Tenant):
    """A message the owner had not sent yet is restored as a draft they can go on editing, and every other
    property equals the original's."""
    user = tenant.user(0)["id"]
    graph, control = tenant.services.graph, tenant.sim.control
    draft = {"subject": "Not sent yet", "body": {"contentType": "text", "content": "Half written"},
             "toRecipients": [{"emailAddress": {"address": "lee@contoso.example"}}]}  # fmt: skip
    drafts = [graph.post_json(f"users/{user}/mailFolders/drafts/messages", draft)["id"] for _ in range(2)]
    sent = control.add_message(user, "sentitems", subject="Sent already")["id"]
    assert all(m["isDraft"] for m in _messages(tenant, user) if m["id"] in drafts)
    tenant.backup()
    originals = {i: snapshot(graph, control, user, i) for i in (*drafts, sent)}
    for message_id in originals:
        control.delete_message(user, message_id)
    report = restore(tenant.services, RestoreRequest(f"exchange:{user}", item_ids=tuple(originals)))
    assert (report.restored, report.failed) == (len(originals), 0), report.failures
    for item in report.items:
        back = snapshot(graph, control, user, item["new_id"])
        assert differences(originals[item["item_id"]], back) == []
        assert back["properties"]["isDraft"] is (item["item_id"] != sent)


def _with_files(subject: str, n: int, files: list[tuple[str, bytes]], html: str | None = None) -> EmailMessage:
    msg = _mime(subject, n, html=html)
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def _names(graph: GraphClient, user: str, message_id: str) -> list[str]:
    return [a["name"] for a in graph.get_json(f"users/{user}/messages/{message_id}/attachments")["value"]]


def test_small_files_go_in_the_create_and_the_rest_follow_it_in_order(tenant: Tenant):
    """Requests a restore spends on attachments (issue 16): a message's files under 3 MB go in its create ("Create
    message": "When using JSON format, you can include an attachment to the message") while the request stays within
    the create budget, so a message with small files is one Graph request; what does not fit (a file of 3 MB or more
    and the files after it, what would take the create over its budget, an attached message) follows it in order.
    Either way the restored message equals its original, attachments in their original order."""
    user = tenant.user(0)["id"]
    graph, control = tenant.services.graph, tenant.sim.control
    per_file = 1_400_000  # base64 in JSON, one fits in the create budget and two do not
    assert 4 * per_file // 3 < CREATE_BUDGET < 2 * 4 * per_file // 3
    logo = '<html><body><p>Logo:</p><img src="cid:logo@fabrikam"></body></html>'
    small = _with_files("Small files", 11, [("report.pdf", os.urandom(40_000)), ("notes.txt", b"n" * 900)], logo)
    small.get_body(("html",)).add_related(PNG, maintype="image", subtype="png", cid="<logo@fabrikam>",
                                          filename="logo.png", disposition="inline")  # fmt: skip
    sandwich = [("a.txt", b"a" * 10_000), ("big.bin", os.urandom(3_500_000)), ("c.txt", b"c" * 10_000)]
    noted = _with_files("With a note", 14, [("d.txt", b"d" * 500)])
    noted.add_attachment(_mime("The original note", 15), filename="The original note.eml")
    over = _with_files("Over the budget", 13, [(f"part{k}.bin", os.urandom(per_file)) for k in range(3)])
    cases = [small, _with_files("Small, big, small", 12, sandwich), noted, _mime("Plain", 16), over]
    ids = [control.add_message(user, "inbox", mime=m.as_bytes())["id"] for m in cases]
    tenant.backup()
    originals = {i: snapshot(graph, control, user, i) for i in ids}
    order = {i: _names(graph, user, i) for i in ids}
    assert order[ids[0]] == ["logo.png", "report.pdf", "notes.txt"]  # as the original's MIME holds them
    for message_id in ids:
        control.delete_message(user, message_id)

    control.reset_stats()
    report = restore(tenant.services, RestoreRequest(f"exchange:{user}", item_ids=tuple(ids)))
    assert (report.restored, report.failed) == (len(ids), 0), report.failures
    by_kind = control.stats()["by_kind"]
    # one create per message; after it c.txt, the note, part1 and part2 by POST, big.bin through an upload session
    assert by_kind["create"] == len(ids)
    assert (by_kind["pim_create"], by_kind["attachment_session"], by_kind["attachment_upload"]) == (4, 1, 1), by_kind
    new = {i["item_id"]: i["new_id"] for i in report.items}
    for original_id, view in originals.items():
        back = snapshot(graph, control, user, new[original_id])
        assert differences(view, back) == [], view["properties"]["subject"]
        assert back["properties"]["isDraft"] is False
        assert _names(graph, user, new[original_id]) == order[original_id]  # in the original's order
    assert snapshot(graph, control, user, new[ids[3]])["properties"]["hasAttachments"] is False  # none made up


def test_a_create_carrying_attachments_makes_them_with_it_and_one_too_big_makes_nothing(tenant: Tenant):
    """The simulator as "Create message" documents it: a JSON create may include file and item attachments; a file
    of 3 MB or more is refused (413, as "Add attachment" and Graph's 4 MB request limit refuse it), so is an
    `attachments` that is not a list (400), and a refused create makes nothing."""
    user = tenant.user(1)["id"]
    graph, control = tenant.services.graph, tenant.sim.control
    file = {"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt", "contentType": "text/plain",
            "contentBytes": base64.b64encode(b"alpha").decode()}  # fmt: skip
    inline = {**file, "name": "logo.png", "contentType": "image/png", "isInline": True, "contentId": "logo@x",
              "contentBytes": base64.b64encode(PNG).decode()}  # fmt: skip
    note = {"@odata.type": "#microsoft.graph.itemAttachment", "name": "A note",
            "item": {"@odata.type": "#microsoft.graph.message", "subject": "A note",
                     "body": {"contentType": "text", "content": "hi"}}}  # fmt: skip
    body = {"subject": "Made with its files", "body": {"contentType": "text", "content": "See attached."},
            "attachments": [file, inline, note]}  # fmt: skip
    made = graph.post_json(f"users/{user}/mailFolders/inbox/messages", body)
    assert made["hasAttachments"] is True and made["isDraft"] is True  # a JSON create without flags is a draft
    listing = graph.get_json(f"users/{user}/messages/{made['id']}/attachments")["value"]
    assert [(a["@odata.type"], a["name"], a["isInline"]) for a in listing] == [
        ("#microsoft.graph.fileAttachment", "a.txt", False),
        ("#microsoft.graph.fileAttachment", "logo.png", True),
        ("#microsoft.graph.itemAttachment", "A note", False),
    ]
    assert base64.b64decode(listing[0]["contentBytes"]) == b"alpha" and listing[1]["contentId"] == "logo@x"
    count = len(control.list_messages(user))
    big = {**file, "name": "big.bin", "contentBytes": base64.b64encode(b"x" * (3 * 1024 * 1024)).decode()}
    for refused, status in (([big], 413), ({"name": "not a list"}, 400)):
        with pytest.raises(GraphError) as caught:
            graph.post_json(f"users/{user}/mailFolders/inbox/messages", {**body, "attachments": refused})
        assert caught.value.status == status
    assert len(control.list_messages(user)) == count  # nothing made by a refused create
