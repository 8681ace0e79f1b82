"""The timer and HTTP starters, run against a real DurableOrchestrationClient whose two HTTP transport callables
(to the Durable extension's RPC endpoint) are replaced by a recording fake host."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from blueprints.backup import RequestProblem, backup_start, backup_status, backup_timer, parse_start_request

RPC = "http://127.0.0.1:17071/durabletask/"
WEBHOOK = "http://localhost:7071/runtime/webhooks/durabletask"
QUERY = "taskHub=M365Backup&connection=Storage&code=SYSTEMKEY"
BINDING = {
    "taskHubName": "M365Backup",
    "creationUrls": {
        "createNewInstancePostUri": f"{WEBHOOK}/orchestrators/{{functionName}}[/{{instanceId}}]?code=SYSTEMKEY",
        "createAndWaitOnNewInstancePostUri": f"{WEBHOOK}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout="
        "{timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=SYSTEMKEY",
    },
    "managementUrls": {
        "id": "INSTANCEID",
        "statusQueryGetUri": f"{WEBHOOK}/instances/INSTANCEID?{QUERY}",
        "sendEventPostUri": f"{WEBHOOK}/instances/INSTANCEID/raiseEvent/{{eventName}}?{QUERY}",
        "terminatePostUri": f"{WEBHOOK}/instances/INSTANCEID/terminate?reason={{text}}&{QUERY}",
        "rewindPostUri": f"{WEBHOOK}/instances/INSTANCEID/rewind?reason={{text}}&{QUERY}",
        "purgeHistoryDeleteUri": f"{WEBHOOK}/instances/INSTANCEID?{QUERY}",
        "restartPostUri": f"{WEBHOOK}/instances/INSTANCEID/restart?{QUERY}",
        "suspendPostUri": f"{WEBHOOK}/instances/INSTANCEID/suspend?reason={{text}}&{QUERY}",
        "resumePostUri": f"{WEBHOOK}/instances/INSTANCEID/resume?reason={{text}}&{QUERY}",
    },
    "rpcBaseUrl": RPC,
}


class FakeHost:
    """The Durable extension's RPC endpoint: one orchestration instance, or none."""

    def __init__(self, runtime_status: str | None = None, *, refuse_start: bool = False) -> None:
        self.runtime_status = runtime_status
        self.refuse_start = refuse_start
        self.gets: list[str] = []
        self.starts: list[tuple[str, Any]] = []

    def instance(self) -> dict:
        return {
            "name": "backup_orchestrator",
            "instanceId": "backup",
            "createdTime": "2026-11-22T06:21:00Z",
            "lastUpdatedTime": "2026-11-22T06:25:00Z",
            "runtimeStatus": self.runtime_status,
            "customStatus": {"run_id": "20261122T062100000000Z", "stage": "backing_up", "resources": 5, "batches": 3},
            "output": None,
        }

    async def get(self, url: str, *args: Any) -> list:
        self.gets.append(url)
        if self.runtime_status is None:
            return [404, ""]
        return [200 if self.runtime_status == "Completed" else 202, self.instance()]

    async def post(self, url: str, data: str | None, *args: Any) -> list:
        if self.refuse_start:  # another starter won the race; the host refuses to replace a running instance
            self.runtime_status = "Running"
            return [500, {"Message": "An orchestration with instance ID 'backup' already exists."}]
        self.starts.append((url, json.loads(data) if data else None))
        self.runtime_status = "Pending"
        return [202, {"id": "backup"}]

    def client(self) -> df.DurableOrchestrationClient:
        client = df.DurableOrchestrationClient(json.dumps(BINDING))
        client._get_async_request = self.get
        client._post_async_request = self.post
        return client


def post(body: bytes = b"") -> func.HttpRequest:
    return func.HttpRequest(
        method="POST",
        url="https://m365bk.azurewebsites.net/api/v1/automation/backups?code=FUNCTIONKEY",
        body=body,
        headers={},
    )


def call(function: Any, *args: Any) -> Any:
    """Run the user code behind a durable-client function with our client (the decorator keeps it there)."""
    return asyncio.run(function._function.get_user_function().client_function(*args))


START_URL = f"{RPC}orchestrators/backup_orchestrator/backup"


# -------------------------------------------------------------------------------------------------------- POST


@pytest.mark.parametrize("body", [b"", b"  ", b"{}", b'{"resources": null}'])
def test_post_without_resources_starts_a_full_run(body):
    host = FakeHost()
    response = call(backup_start, post(body), host.client())

    assert response.status_code == 202
    assert host.starts == [(START_URL, {"trigger": "http"})]
    links = json.loads(response.get_body())
    assert links["id"] == "backup"
    assert links["statusQueryGetUri"].startswith("https://m365bk.azurewebsites.net/runtime/webhooks/durabletask/")
    assert "/instances/backup?" in links["statusQueryGetUri"]
    assert response.headers["Location"] == links["statusQueryGetUri"]


def test_post_with_resources_starts_a_run_of_those_only():
    host = FakeHost()
    body = json.dumps({"resources": ["exchange:alice", "exchange:bob", "exchange:alice"]}).encode()
    response = call(backup_start, post(body), host.client())

    assert response.status_code == 202
    assert host.starts == [(START_URL, {"trigger": "http", "resources": ["exchange:alice", "exchange:bob"]})]


@pytest.mark.parametrize("previous", ["Completed", "Failed", "Terminated"])
def test_post_after_a_finished_run_starts_a_new_one(previous):
    host = FakeHost(previous)
    response = call(backup_start, post(), host.client())

    assert response.status_code == 202
    assert len(host.starts) == 1


@pytest.mark.parametrize("running", ["Running", "Pending"])
def test_post_while_a_run_is_active_is_a_conflict(running):
    host = FakeHost(running)
    response = call(backup_start, post(), host.client())

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["status"] == 409 and problem["title"] == "Conflict" and problem["type"] == "about:blank"
    assert problem["links"]["statusQueryGetUri"].startswith("https://m365bk.azurewebsites.net/")
    assert response.headers["Location"] == problem["links"]["statusQueryGetUri"]
    assert host.starts == []


def test_post_losing_a_start_race_is_a_conflict():
    host = FakeHost(refuse_start=True)
    response = call(backup_start, post(), host.client())

    assert response.status_code == 409
    assert host.starts == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'"exchange:alice"',
        b'{"resources": "exchange:alice"}',
        b'{"resources": []}',
        b'{"resources": [42]}',
        b'{"resources": ["alice"]}',
        b'{"resources": ["exchange:"]}',
        b'{"resources": ["exchange:a b"]}',
        b'{"resource": ["exchange:alice"]}',
        json.dumps({"resources": [f"exchange:u{n}" for n in range(1001)]}).encode(),
    ],
)
def test_malformed_post_is_a_bad_request_and_starts_nothing(body):
    host = FakeHost()
    response = call(backup_start, post(body), host.client())

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["type"] == "about:blank" and problem["title"] == "Bad Request" and problem["status"] == 400
    assert problem["detail"]
    assert host.starts == [] and host.gets == []


def test_parse_start_request():
    assert parse_start_request(b"") is None
    assert parse_start_request(b'{"resources": ["exchange:0a1b-2c", "exchange:x"]}') == [
        "exchange:0a1b-2c",
        "exchange:x",
    ]
    with pytest.raises(RequestProblem, match="resources\\[1\\]"):
        parse_start_request(b'{"resources": ["exchange:x", null]}')


# --------------------------------------------------------------------------------------------------------- GET


def get_status_request() -> func.HttpRequest:
    url = "https://m365bk.azurewebsites.net/api/v1/automation/backups/status"
    return func.HttpRequest(method="GET", url=url, body=b"")


def test_status_of_the_current_run():
    host = FakeHost("Running")
    response = call(backup_status, get_status_request(), host.client())

    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["instanceId"] == "backup"
    assert body["runtimeStatus"] == "Running"
    assert body["customStatus"] == host.instance()["customStatus"]
    assert body["output"] is None
    assert host.gets == [f"{RPC}instances/backup"]


def test_status_before_any_run_is_not_found():
    response = call(backup_status, get_status_request(), FakeHost().client())

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.get_body())["status"] == 404


# ------------------------------------------------------------------------------------------------------- timer


def timer() -> func.TimerRequest:
    return TimerRequest(past_due=False)


@pytest.mark.parametrize("previous", [None, "Completed", "Failed"])
def test_timer_starts_a_scheduled_run(previous):
    host = FakeHost(previous)
    call(backup_timer, timer(), host.client())

    assert host.starts == [(START_URL, {"trigger": "schedule"})]


@pytest.mark.parametrize("running", ["Running", "Pending"])
def test_timer_skips_while_a_run_is_active(running, caplog):
    host = FakeHost(running)
    call(backup_timer, timer(), host.client())

    assert host.starts == []
    assert "skipped" in caplog.text


def test_timer_losing_a_start_race_skips_quietly():
    host = FakeHost(refuse_start=True)
    call(backup_timer, timer(), host.client())

    assert host.starts == []
