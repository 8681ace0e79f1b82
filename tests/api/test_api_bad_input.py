"""Bad restore requests get a clear RFC 9457 problem (4xx) and change nothing: no job recorded, nothing started,
no write to the tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.harness import Api


def _cases(api: Api) -> list[tuple[str, object, int, str]]:
    user, other = (u["id"] for u in api.tenant.mailboxes()[:2])
    mailbox = f"exchange:{user}"
    first_run = api.tenant.services.runs.list()[-1]["run_id"]
    before_first = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    return [
        ("malformed JSON", b'{"resource": ', 400, "not valid JSON"),
        ("not an object", [mailbox], 422, "body"),
        ("unknown member", {"resource": mailbox, "whole": True, "overwrite_everything": True}, 422, "overwrite"),
        ("wrong type", {"resource": mailbox, "whole": "yes"}, 422, "whole"),
        ("item ids not a list", {"resource": mailbox, "item_ids": "abc"}, 422, "item_ids"),
        ("empty item ids", {"resource": mailbox, "item_ids": []}, 422, "item_ids"),
        ("no scope", {"resource": mailbox}, 400, "scope"),
        ("two scopes", {"resource": mailbox, "whole": True, "folder": "Inbox"}, 400, "scope"),
        ("bad resource key", {"resource": "mailbox-of-bob", "whole": True}, 422, "resource"),
        ("unknown workload", {"resource": f"yammer:{user}", "whole": True}, 422, "resource"),
        ("unknown resource", {"resource": "exchange:00000000-0000-0000-0000-000000000000", "whole": True}, 404,
         "no completed backup"),
        ("unknown run", {"resource": mailbox, "whole": True, "run_id": "20010101T000000Z"}, 404, "run"),
        ("run and time", {"resource": mailbox, "whole": True, "run_id": first_run, "at": before_first}, 400,
         "not both"),
        ("time before the first backup", {"resource": mailbox, "whole": True, "at": before_first}, 404, "before"),
        ("time without zone", {"resource": mailbox, "whole": True, "at": "2026-11-22T06:00:00"}, 422, "timezone"),
        ("unknown item", {"resource": mailbox, "item_ids": ["AAMkADoesNotExist"]}, 404, "AAMkADoesNotExist"),
        ("unknown folder", {"resource": mailbox, "folder": "Inbox/No such folder"}, 404, "No such folder"),
        ("target outside the tenant", {"resource": mailbox, "whole": True,
                                       "target_resource": "exchange:11111111-2222-3333-4444-555555555555"}, 404,
         "in the tenant"),
        ("target of another workload", {"resource": mailbox, "whole": True, "target_resource": f"onedrive:{other}"},
         400, "another exchange"),
        ("conflict policy mail cannot do", {"resource": mailbox, "whole": True, "conflict": "replace"}, 400,
         "conflict"),
        ("unsafe folder name", {"resource": mailbox, "whole": True, "destination": "new-folder",
                                "destination_name": "../../etc"}, 400, "folder name"),
        ("category of another workload", {"resource": f"onedrive:{user}", "whole": True, "category": "contact"}, 400,
         "category"),
        ("notify flag not a boolean", {"resource": mailbox, "whole": True, "category": "event",
                                       "notify_attendees": "yes"}, 422, "notify_attendees"),
        ("invitations for mail", {"resource": mailbox, "whole": True, "notify_attendees": True}, 400,
         "calendar events"),
        ("oversized body", {"resource": mailbox, "item_ids": ["x" * 500] * 600}, 413, "over"),
    ]  # fmt: skip


def test_each_bad_request_is_a_problem_and_changes_nothing(api: Api):
    writes, jobs = api.writes(), api.tenant.services.restore_jobs.count()
    audited = len(api.audit())
    failures = []
    with api.operator() as operator:
        for name, body, status, words in _cases(api):
            if isinstance(body, bytes):
                response = operator.post("/api/v1/restores", content=body, headers={"Content-Type": "application/json"})
            else:
                response = operator.post("/api/v1/restores", json=body)
            problem = response.json() if response.headers.get("content-type") == "application/problem+json" else {}
            if response.status_code != status or words.lower() not in str(problem.get("detail", "")).lower():
                failures.append((name, response.status_code, response.text[:300]))
                continue
            assert problem["status"] == status and problem["title"] and problem["type"]
    assert failures == []
    assert api.writes() == writes
    assert api.tenant.services.restore_jobs.count() == jobs
    assert len(api.audit()) == audited  # rejected as malformed or unknown: nothing written, not even an audit entry


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/resources/exchange:{user}/items", {"page_size": 0}, 422),
        ("/api/v1/resources/exchange:{user}/items", {"continuation": "garbage!"}, 400),
        ("/api/v1/resources/exchange:{user}/items", {"after": "yesterday"}, 422),
        ("/api/v1/resources/exchange:{user}/tree", {"path": "No/Such/Folder"}, 404),
        ("/api/v1/resources/exchange:{user}/download", {"item_id": "nope"}, 404),
        ("/api/v1/resources/exchange:{user}/export", {"folder": "No such folder"}, 404),
        ("/api/v1/restores/r20990101T000000-00000000", {}, 404),
        ("/api/v1/restores/not-a-job-id", {}, 422),
        ("/api/v1/runs/20010101T000000Z", {}, 404),
        ("/api/v1/no-such-endpoint", {}, 404),
    ],
)
def test_bad_reads_are_problems(api: Api, path: str, params: dict, status: int):
    user = api.tenant.mailboxes()[0]["id"]
    with api.admin() as admin:
        response = admin.get(path.format(user=user), params=params)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_a_body_without_content_length_is_still_limited(api: Api):
    def chunks():
        for _ in range(100):
            yield b"x" * 10_000

    with api.operator() as operator:
        response = operator.post("/api/v1/restores", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_wrong_method_is_405(api: Api):
    with api.admin() as admin:
        response = admin.delete("/api/v1/restores")
    assert response.status_code == 405
    assert response.json()["status"] == 405
