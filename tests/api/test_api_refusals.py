"""Requests the API must refuse get a one-line problem (4xx, never a 500) and write nothing; a recorded restore that
cannot be started is recorded as failed; a flood of unauthenticated requests does not flood the audit log."""

from __future__ import annotations

import pytest

from tests.api.harness import Api


def _mailbox(api: Api) -> str:
    return f"exchange:{api.tenant.user(0)['id']}"


def _no_mailbox_user(api: Api) -> str:
    return next(u["id"] for u in api.tenant.sim.control.state()["users"] if not u["has_mailbox"])


@pytest.mark.parametrize(
    ("at", "status", "words"),
    [
        ("0001-01-01T00:00:00+01:00", 400, "before the first backup"),
        ("0001-01-01T00:00:00Z", 400, "before the first backup"),
        ("0999-06-01T00:00:00Z", 400, "before the first backup"),
        ("9999-12-31T23:59:59-01:00", 200, ""),
        ("9999-12-31T23:59:59.999999Z", 200, ""),
    ],
)
def test_times_near_year_1_and_9999_are_answered_not_500(api: Api, at: str, status: int, words: str):
    """Issue 11 item 11: `at` near year 1 or 9999 overflowed into a 500, and a year below 1000 resolved to the
    latest run (run ids compared as strings without a zero-padded year)."""
    latest = api.tenant.services.runs.list(1)[0]["run_id"]
    with api.admin() as admin:
        response = admin.get(f"/api/v1/resources/{_mailbox(api)}/items", params={"at": at, "page_size": 1})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["run_id"] == latest
    else:
        problem = response.json()
        assert words in problem["detail"] and "\n" not in problem["detail"]


@pytest.mark.parametrize(
    "token",
    ["garbage!", "abcdefg/x", "2026-13/0000000000000-00000000", "0000-01/1", "0001-01/9999999999999-abcdef12",
     "2026-11/", "/x", "2026-1/x", "2026-11/' or PartitionKey ne '"],
)  # fmt: skip
def test_a_malformed_audit_continuation_is_a_400(api: Api, token: str):
    """Issue 11 item 11: malformed /audit continuation tokens gave 500."""
    with api.admin() as admin:
        response = admin.get("/api/v1/audit", params={"continuation": token})
    assert response.status_code == 400, response.text
    assert "continuation token" in response.json()["detail"]


@pytest.mark.parametrize(
    ("target", "status", "words"),
    [(".", 400, "not a usable"), ("..", 400, "not a usable"), (None, 404, "has no mailbox")],
)
def test_an_unusable_target_is_refused_and_nothing_is_recorded(api: Api, target: str | None, status: int, words: str):
    """Issue 11 item 11: a restore target `exchange:.` was accepted (its Graph path became `users/`), and so was a
    user without a mailbox (the restore could only fail later)."""
    jobs, audited, writes = api.tenant.services.restore_jobs.count(), len(api.audit()), api.writes()
    owner = target if target is not None else _no_mailbox_user(api)
    body = {"resource": _mailbox(api), "whole": True, "target_resource": f"exchange:{owner}"}
    with api.operator() as operator:
        response = operator.post("/api/v1/restores", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"] and "\n" not in response.json()["detail"]
    assert api.tenant.services.restore_jobs.count() == jobs
    assert len(api.audit()) == audited
    assert api.writes() == writes


def test_a_restore_that_cannot_start_is_recorded_as_failed(fresh_api: Api):
    """Issue 11 item 11: after a job was recorded, a failed start left only its `accepted` audit entry."""
    api = fresh_api
    api.server.orchestrations.close()  # the orchestration starter now refuses every start, as a dead host would
    with api.operator() as operator:
        response = operator.post("/api/v1/restores", json={"resource": _mailbox(api), "whole": True})
        assert response.status_code == 503, response.text
        problem = response.json()
        assert "could not be started" in problem["detail"] and "\n" not in problem["detail"]
        job = operator.get(f"/api/v1/restores/{problem['job_id']}").json()
    assert job["status"] == "failed" and "could not start" in job["error"]
    entries = [e for e in api.audit() if e.get("detail", "").startswith(problem["job_id"])]
    assert sorted(e["result"] for e in entries if e["action"] == "restore") == ["accepted", "failed"]


def test_repeated_unauthenticated_requests_are_aggregated_in_the_audit_log(fresh_api: Api):
    """Issue 11 item 11: 4,000 unauthenticated requests wrote 4,000 audit rows (and slowed GET /audit 7x)."""
    api = fresh_api
    before = len(api.audit())
    with api.client() as anonymous:
        for _ in range(300):
            assert anonymous.get("/api/v1/runs").status_code == 401
    with api.admin() as admin:
        entries = admin.get("/api/v1/audit", params={"limit": 1000}).json()["items"]  # flushes what is pending
    denied = [e for e in entries if e["result"] == "denied"]
    assert len(entries) - before <= 5, [e["action"] for e in entries]
    assert sum(int((e.get("counts") or {}).get("requests", 1)) for e in denied) == 300
    repeated = [e for e in denied if e["action"] == "denied.repeated"]
    assert repeated and "127.0.0.1" in repeated[0]["detail"]
