"""core.backup_start: when a starter starts a backup run and what it sends (pure: a recording instance)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.backup_start import backup_run_input, start_backup_unless_running


class RecordingInstance:
    """A backup instance whose statuses are scripted; `start` records its input (and refuses when told)."""

    def __init__(self, *statuses: str | None, refuse: bool = False) -> None:
        self.statuses = list(statuses)
        self.refuse = refuse
        self.started: list[dict[str, Any]] = []

    async def runtime_status(self) -> str | None:
        return self.statuses.pop(0)

    async def start(self, run_input: dict[str, Any]) -> None:
        if self.refuse:
            raise RuntimeError("An orchestration with instance ID 'backup' already exists.")
        self.started.append(run_input)


def _start(instance: RecordingInstance, trigger: str, resources: list[str] | None = None) -> bool:
    return asyncio.run(start_backup_unless_running(instance, trigger, resources))


@pytest.mark.parametrize("status", [None, "Completed", "Failed", "Terminated"])
def test_an_idle_instance_is_started_with_the_run_input(status: str | None):
    instance = RecordingInstance(status)
    assert _start(instance, "api", ["exchange:alice"]) is True
    assert instance.started == [{"trigger": "api", "resources": ["exchange:alice"]}]


@pytest.mark.parametrize("status", ["Pending", "Running"])
def test_a_pending_or_running_instance_is_not_started_again(status: str):
    instance = RecordingInstance(status)
    assert _start(instance, "schedule") is False
    assert instance.started == []


def test_a_run_started_in_between_is_not_an_error():
    assert _start(RecordingInstance("Completed", "Running", refuse=True), "http") is False


def test_any_other_refusal_is_raised():
    with pytest.raises(RuntimeError):
        _start(RecordingInstance("Completed", "Completed", refuse=True), "http")


def test_every_trigger_sends_the_same_shape():
    assert backup_run_input("schedule") == {"trigger": "schedule"}
    assert backup_run_input("http", None) == backup_run_input("http", []) == {"trigger": "http"}
    resources = ["exchange:a", "onedrive:b"]
    assert backup_run_input("api", resources) == {"trigger": "api", "resources": resources}
    with pytest.raises(ValueError, match="unknown backup trigger"):
        backup_run_input("cli")
