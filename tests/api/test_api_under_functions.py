"""The same API under the Functions entry point: `restore_api` (blueprints/api.py) hands a real func.HttpRequest to
the FastAPI app through AsgiMiddleware, and the app starts orchestrations through the Durable client the host binds
(a real DurableOrchestrationClient whose RPC transport is the recording fake host of test_starters)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func

from blueprints.api import restore_api
from tests.api.harness import ADMIN, OPERATOR, Api
from tests.functions.test_starters import RPC, FakeHost


class _Context:
    """The invocation context the host passes (AsgiMiddleware only reads these)."""

    invocation_id = "00000000-0000-0000-0000-000000000001"
    function_name = "restore_api"
    function_directory = "."
    trace_context = None
    retry_context = None


def _call(method: str, path: str, host: FakeHost, token: str | None = None, body: Any = None) -> func.HttpResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = func.HttpRequest(method=method, url=f"https://m365bk.azurewebsites.net{path}", body=data, headers=headers,
                               route_params={"path": path.removeprefix("/api/")})  # fmt: skip
    user_function = restore_api._function.get_user_function().client_function
    return asyncio.run(user_function(request, _Context(), host.client()))


def test_the_openapi_document_and_a_read_go_through_the_functions_entry(api: Api):
    host = FakeHost()
    document = _call("GET", "/api/v1/openapi.json", host)
    assert document.status_code == 200
    assert "/api/v1/restores" in json.loads(document.get_body())["paths"]

    operator = api.token("00000000-0000-0000-0000-00000000000b", (OPERATOR,))
    runs = _call("GET", "/api/v1/runs", host, operator)
    assert runs.status_code == 200
    assert [r["run_id"] for r in json.loads(runs.get_body())["items"]] == [
        r["run_id"] for r in api.tenant.services.runs.list()
    ]
    refused = _call("GET", "/api/v1/runs", host)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"


def test_backups_and_restores_start_durable_orchestrations_through_the_bound_client(api: Api):
    host = FakeHost()
    admin = api.token("00000000-0000-0000-0000-0000000000ad", (ADMIN,))
    started = _call("POST", "/api/v1/backups", host, admin, {"resources": [f"exchange:{api.tenant.user(0)['id']}"]})
    assert started.status_code == 202, started.get_body()
    assert host.starts == [(f"{RPC}orchestrators/backup_orchestrator/backup",
                            {"trigger": "api", "resources": [f"exchange:{api.tenant.user(0)['id']}"]})]  # fmt: skip
    busy = _call("POST", "/api/v1/backups", host, admin)  # the fake host now reports the instance as Pending
    assert busy.status_code == 409 and len(host.starts) == 1

    user = api.tenant.user(1)["id"]
    message = api.tenant.sim.control.list_messages(user)[0]
    body = {"resource": f"exchange:{user}", "item_ids": [message["id"]]}
    accepted = _call("POST", "/api/v1/restores", host, admin, body)
    assert accepted.status_code == 202, accepted.get_body()
    job = json.loads(accepted.get_body())["id"]
    assert host.starts[-1] == (f"{RPC}orchestrators/restore_orchestrator/restore-{job}", {"job_id": job})
    assert api.tenant.services.restore_jobs.get(job)["status"] == "accepted"  # the (fake) host has not run it
