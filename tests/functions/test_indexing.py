"""What the Functions host will index: every function, its trigger and bindings, and host.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from function_app import app

ROOT = Path(__file__).resolve().parents[2]
ACTIVITIES = ("start_run", "discover_resources", "store_resources", "batch_resources", "backup_resource", "finish_run")
ACTIVITIES += ("plan_restore", "restore_part", "finish_restore")
ACTIVITIES += ("verify_plan", "verify_batch_resources", "verify_resource", "verify_finish")
ACTIVITIES += ("purge_plan", "purge_batch_resources", "purge_resource", "purge_blobs", "purge_erasures", "purge_finish")
ORCHESTRATORS = ("backup_orchestrator", "backup_fanout", "backup_batch", "restore_orchestrator", "restore_batch")
ORCHESTRATORS += ("verify_orchestrator", "verify_fanout", "verify_batch")
ORCHESTRATORS += ("purge_orchestrator", "purge_fanout", "purge_batch")
HTTP = ("backup_start", "backup_status", "restore_api")


@pytest.fixture(scope="module")
def functions() -> dict[str, dict]:
    indexed = app.get_functions()
    return {f.get_function_name(): {"json": json.loads(f.get_function_json()), "function": f} for f in indexed}


def bindings(functions: dict, name: str) -> dict[str, dict]:
    return {b["type"]: b for b in functions[name]["json"]["bindings"]}


def test_exactly_the_expected_functions(functions):
    timers = ("backup_timer", "verify_timer", "purge_timer")
    assert sorted(functions) == sorted((*timers, *HTTP, *ORCHESTRATORS, *ACTIVITIES))
    assert {f["json"]["scriptFile"] for f in functions.values()} == {"function_app.py"}


def test_timer_starter(functions):
    found = bindings(functions, "backup_timer")
    assert set(found) == {"timerTrigger", "durableClient"}
    assert found["timerTrigger"]["schedule"] == "%BACKUP_SCHEDULE%"
    assert found["timerTrigger"]["runOnStartup"] is False
    assert found["timerTrigger"]["direction"] == "IN"
    assert found["durableClient"] == {"direction": "IN", "type": "durableClient", "name": "client"}
    retry = functions["backup_timer"]["function"].get_settings_dict("retry_policy")
    assert retry["strategy"] == "exponential_backoff" and retry["max_retry_count"] == "3"


def test_verification_timer(functions):
    found = bindings(functions, "verify_timer")
    assert set(found) == {"timerTrigger", "durableClient"}
    assert found["timerTrigger"]["schedule"] == "%VERIFY_SCHEDULE%"
    assert found["timerTrigger"]["runOnStartup"] is False
    retry = functions["verify_timer"]["function"].get_settings_dict("retry_policy")  # as the backup timer's
    assert retry["strategy"] == "exponential_backoff" and retry["max_retry_count"] == "3"


def test_purge_timer(functions):
    found = bindings(functions, "purge_timer")
    assert set(found) == {"timerTrigger", "durableClient"}
    assert found["timerTrigger"]["schedule"] == "%PURGE_SCHEDULE%"
    assert found["timerTrigger"]["runOnStartup"] is False
    retry = functions["purge_timer"]["function"].get_settings_dict("retry_policy")  # as the backup timer's
    assert retry["strategy"] == "exponential_backoff" and retry["max_retry_count"] == "3"


@pytest.mark.parametrize(
    ("name", "route", "method"),
    [("backup_start", "v1/automation/backups", "POST"), ("backup_status", "v1/automation/backups/status", "GET")],
)
def test_http_functions(functions, name, route, method):
    found = bindings(functions, name)
    assert set(found) == {"httpTrigger", "http", "durableClient"}
    trigger = found["httpTrigger"]
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, [method], "FUNCTION")
    assert trigger["name"] == "req"
    assert found["http"] == {"direction": "OUT", "type": "http", "name": "$return"}
    assert found["durableClient"]["name"] == "client"
    assert functions[name]["function"].is_http_function()


def test_the_restore_api_is_one_anonymous_catch_all_route(functions):
    """Callers authenticate with Entra ID bearer tokens that the app checks; the host adds no key."""
    found = bindings(functions, "restore_api")
    assert set(found) == {"httpTrigger", "http", "durableClient"}
    trigger = found["httpTrigger"]
    assert (trigger["route"], trigger["authLevel"]) == ("v1/{*path}", "ANONYMOUS")
    assert sorted(trigger["methods"]) == ["GET", "POST"]


@pytest.mark.parametrize("name", ORCHESTRATORS)
def test_orchestrators(functions, name):
    assert functions[name]["json"]["bindings"] == [
        {"direction": "IN", "type": "orchestrationTrigger", "name": "context"}
    ]


@pytest.mark.parametrize("name", ACTIVITIES)
def test_activities(functions, name):
    assert functions[name]["json"]["bindings"] == [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]


def test_app_imports_and_indexes_with_no_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_", "AZURE_"))}
    code = "from function_app import app; print(len(app.get_functions()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(3 + len(HTTP) + len(ORCHESTRATORS) + len(ACTIVITIES))  # three timers


def test_host_json():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "M365Backup"  # a literal: no app setting for infra to define
    assert durable["hubName"].isalnum() and 3 <= len(durable["hubName"]) <= 45
    # a start under the fixed instance id must never replace a running run
    assert durable["overridableExistingInstanceStates"] == "NonRunningStates"
    assert durable["maxConcurrentActivityFunctions"] >= 1 and durable["maxConcurrentOrchestratorFunctions"] >= 1
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert host["functionTimeout"]
