import pytest

from core.errors import InvalidRequestError
from core.restore_request import RestoreRequest


def test_valid_request_from_dict():
    request = RestoreRequest.from_dict(
        {"resource": "exchange:u1", "item_ids": ["a", "b"], "at": "2026-11-22T06:00:00Z", "conflict": "keep-both"}
    )
    assert request.item_ids == ("a", "b")
    assert request.at is not None and request.at.utcoffset() is not None
    assert request.key.owner == "u1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resource": "exchange:u1"}, "exactly one scope"),
        ({"resource": "exchange:u1", "whole": True, "folder": "Inbox"}, "exactly one scope"),
        ({"resource": "u1", "whole": True}, "workload:owner"),
        ({"resource": "exchange:u1", "whole": True, "conflict": "overwrite"}, "conflict must be"),
        ({"resource": "exchange:u1", "whole": True, "destination": "elsewhere"}, "destination must be"),
        ({"resource": "exchange:u1", "whole": True, "colour": "red"}, "unknown fields: colour"),
        ({"resource": "exchange:u1", "item_ids": "abc"}, "list of non-empty strings"),
        ({"resource": "exchange:u1", "whole": "yes"}, "true or false"),
        ({"resource": "exchange:u1", "whole": True, "at": "yesterday"}, "ISO 8601"),
        ({"resource": "exchange:u1", "whole": True, "at": "2026-11-22T06:00:00"}, "time zone"),
        ({"resource": "exchange:u1", "whole": True, "run_id": "r", "at": "2026-11-22T06:00:00Z"}, "not both"),
        ({"whole": True}, "'resource' is required"),
        ({"resource": "exchange:u1", "whole": True, "category": "event", "notify_attendees": "yes"}, "true or false"),
        ({"resource": "exchange:u1", "whole": True, "notify_attendees": True}, "only to calendar events"),
        ([], "JSON object"),
    ],
)
def test_invalid_requests_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidRequestError, match=message):
        RestoreRequest.from_dict(data)


def test_notify_attendees_is_off_unless_asked_and_survives_a_round_trip():
    old = RestoreRequest.from_dict({"resource": "exchange:u1", "whole": True, "category": "event"})  # older JSON
    assert old.notify_attendees is False
    asked = RestoreRequest("exchange:u1", whole=True, category="event", notify_attendees=True)
    assert asked.to_dict()["notify_attendees"] is True
    assert RestoreRequest.from_dict(asked.to_dict()) == asked
