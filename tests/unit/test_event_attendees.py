"""The summary a meeting restored without its attendees carries at the top of its body."""

from core.workloads.exchange.event_attendees import summary, without_attendees

EVENT = {
    "subject": "Budget",
    "organizer": {"emailAddress": {"name": "Adele Vance", "address": "adele@contoso.com"}},
    "attendees": [
        {"type": "required", "status": {"response": "accepted"},
         "emailAddress": {"name": "Alex <Ops> & Co", "address": "alex@contoso.com"}},
        {"type": "resource", "emailAddress": {"address": "room12@contoso.com"}},
    ],
    "body": {"contentType": "html", "content": "<html><head></head><body class='x'><p>Notes</p></body></html>"},
}  # fmt: skip


def test_summary_names_the_organizer_and_every_attendee_with_type_and_response():
    assert summary(EVENT) == (
        "Restored by M365 Backup. Organizer: Adele Vance <adele@contoso.com>. "
        "Attendees: Alex <Ops> & Co <alex@contoso.com> (required, accepted); room12@contoso.com (resource, none)."
    )


def test_html_bodies_get_the_summary_escaped_inside_their_body_element():
    payload, omitted = without_attendees(dict(EVENT), EVENT, create=True)
    assert omitted == 2 and "attendees" not in payload
    assert payload["body"]["content"].startswith(
        "<html><head></head><body class='x'><p>Restored by M365 Backup. Organizer: Adele Vance &lt;adele@contoso.com"
    )
    assert "Alex &lt;Ops&gt; &amp; Co" in payload["body"]["content"]
    assert payload["body"]["content"].endswith("<p>Notes</p></body></html>")


def test_text_bodies_get_a_first_line_and_events_without_attendees_are_left_alone():
    text = {**EVENT, "body": {"contentType": "text", "content": "Bring numbers."}}
    payload, _ = without_attendees(dict(text), text, create=True)
    assert payload["body"]["content"] == summary(EVENT) + "\n\nBring numbers."
    alone = {"subject": "Focus time", "attendees": [], "body": {"contentType": "text", "content": "x"}}
    assert without_attendees(dict(alone), alone, create=True) == ({"subject": "Focus time", "body": alone["body"]}, 0)
    patch = {"subject": "Moved", "attendees": EVENT["attendees"]}  # an exception's PATCH without a body
    assert without_attendees(patch, EVENT, create=False) == ({"subject": "Moved"}, 2)
