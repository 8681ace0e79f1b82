"""Issue 11: how the Exchange engine reads what Graph answers (booleans) and when it moves a calendar window."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import MalformedResponse
from core.workloads.exchange.events_backup import needs_reanchor, window
from core.workloads.exchange.mail_backup import MAIL_KIND


def test_is_read_is_parsed_strictly():
    """Issue 11 item 10b: isRead "false" (a string) reads as unread, not as read; a value that is no boolean is a
    malformed answer, not a guess."""
    assert MAIL_KIND.describe({"isRead": "false"})["is_read"] is False
    assert MAIL_KIND.describe({"isRead": "True"})["is_read"] is True
    assert MAIL_KIND.describe({"isRead": False, "hasAttachments": True})["has_attachments"] is True
    assert MAIL_KIND.describe({})["is_read"] is False
    with pytest.raises(MalformedResponse):
        MAIL_KIND.describe({"isRead": "yes"})


def test_the_window_is_reanchored_once_a_tenth_of_the_look_ahead_has_gone_by():
    """Issue 11 item 6: five years after the first backup the window has long moved: it is re-anchored once
    today's window ends a tenth of the look-ahead (here 182 days) beyond the saved one, or starts before it."""
    first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    saved = window(first, 3650, 1825)
    assert not needs_reanchor(saved, window(first + dt.timedelta(days=100), 3650, 1825), 1825)
    assert needs_reanchor(saved, window(first + dt.timedelta(days=182), 3650, 1825), 1825)
    assert needs_reanchor(saved, window(first + dt.timedelta(days=5 * 365), 3650, 1825), 1825)
    assert needs_reanchor(saved, window(first, 4000, 1825), 1825)  # the past was widened
    assert not needs_reanchor(saved, window(first, 30, 1825), 1825)  # narrowed: nothing new to see
    assert needs_reanchor({}, window(first), 1825)  # not recorded (a chain saved before windows were)
