"""Build Durable Task histories and replay real orchestrator functions through azure-functions-durable, no host.

The history follows what the Durable extension sends an out-of-process orchestrator: episodes delimited by
OrchestratorStarted / OrchestratorCompleted; ExecutionStarted (Name, Version, Input); TaskScheduled,
SubOrchestrationInstanceCreated and TimerCreated take EventIds 0, 1, 2… in the order the orchestrator scheduled
them (as the Durable Task Framework numbers them); completions point back with TaskScheduledId / TimerId and carry a
JSON-string Result. A retried activity (call_activity_with_retry) fails, waits on a retry timer, is scheduled again
under a new id, and after its last attempt one more timer fires before the failure surfaces (the framework's
RetryInterceptor schedules a timer after every failed attempt, and the library waits for it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from core.backup_start import BACKUP_INSTANCE

START = datetime(2026, 11, 22, 6, 21, 0, 123456, tzinfo=UTC)

EXECUTION_STARTED = 0
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13

# action types in the state the orchestrator returns
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
WHEN_ALL = 12


def _timestamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class History:
    """A growing orchestration history. `context_json()` is what the extension hands the orchestrator trigger."""

    def __init__(
        self,
        name: str,
        input_: Any = None,
        *,
        instance_id: str = BACKUP_INSTANCE,
        start: datetime = START,
        schema: int = 0,
    ) -> None:
        self.name = name
        self.input = input_
        self.instance_id = instance_id
        self.schema = schema
        self.now = start
        self.events: list[dict] = []
        self._next_id = 0
        self._add(ORCHESTRATOR_STARTED)
        self._add(EXECUTION_STARTED, Name=name, Version="", Input=json.dumps(input_), OrchestrationInstance={})

    def _add(self, event_type: int, event_id: int = -1, **fields: Any) -> dict:
        event = {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": _timestamp(self.now)}
        event.update(fields)
        self.events.append(event)
        return event

    def _take_id(self) -> int:
        event_id = self._next_id
        self._next_id += 1
        return event_id

    # episodes
    def new_episode(self, seconds: float = 1.0) -> History:
        """End the current episode and start the next one `seconds` later (the orchestrator's clock moves)."""
        self._add(ORCHESTRATOR_COMPLETED)
        self.now += timedelta(seconds=seconds)
        self._add(ORCHESTRATOR_STARTED)
        return self

    # what the orchestrator scheduled (recorded by the framework when the episode's actions are applied)
    def task_scheduled(self, name: str, input_: Any = None) -> int:
        event_id = self._take_id()
        self._add(TASK_SCHEDULED, event_id, Name=name, Input=json.dumps(input_))
        return event_id

    def sub_orchestration_created(self, name: str, input_: Any = None, instance_id: str = "") -> int:
        event_id = self._take_id()
        self._add(SUB_ORCHESTRATION_CREATED, event_id, Name=name, Input=json.dumps(input_), InstanceId=instance_id)
        return event_id

    def timer_created(self, seconds: float) -> int:
        event_id = self._take_id()
        fire_at = _timestamp(self.now + timedelta(seconds=seconds))
        self._add(TIMER_CREATED, event_id, FireAt=fire_at)
        return event_id

    # what came back
    def task_completed(self, scheduled_id: int, result: Any) -> History:
        self._add(TASK_COMPLETED, TaskScheduledId=scheduled_id, Result=json.dumps(result))
        return self

    def task_failed(self, scheduled_id: int, reason: str, details: str = "") -> History:
        self._add(TASK_FAILED, TaskScheduledId=scheduled_id, Reason=reason, Details=details)
        return self

    def sub_orchestration_completed(self, scheduled_id: int, result: Any) -> History:
        self._add(SUB_ORCHESTRATION_COMPLETED, TaskScheduledId=scheduled_id, Result=json.dumps(result))
        return self

    def sub_orchestration_failed(self, scheduled_id: int, reason: str, details: str = "") -> History:
        self._add(SUB_ORCHESTRATION_FAILED, TaskScheduledId=scheduled_id, Reason=reason, Details=details)
        return self

    def timer_fired(self, timer_id: int) -> History:
        self._add(TIMER_FIRED, TimerId=timer_id, FireAt=_timestamp(self.now))
        return self

    def retried_activity_exhausted(
        self, first_id: int, name: str, input_: Any, attempts: int, reason: str, retry_seconds: float = 5.0
    ) -> int:
        """Play out every attempt of a retried activity scheduled as `first_id` failing: failure, retry timer,
        re-scheduled attempt…, and the final timer after the last attempt. Returns the last attempt's id."""
        attempt_id = first_id
        for attempt in range(1, attempts + 1):
            self.task_failed(attempt_id, reason, f"attempt {attempt}")
            timer_id = self.timer_created(retry_seconds)
            self.new_episode(retry_seconds).timer_fired(timer_id)
            if attempt < attempts:
                attempt_id = self.task_scheduled(name, input_)
                self.new_episode()
        return attempt_id

    def context_json(self) -> str:
        body = {
            "history": self.events,
            "instanceId": self.instance_id,
            "isReplaying": False,
            "parentInstanceId": None,
            "input": json.dumps(self.input),
            "upperSchemaVersion": self.schema,
        }
        return json.dumps(body)


class Replay:
    """The state an orchestrator returns after replaying a history."""

    def __init__(self, state: dict, error: str | None = None) -> None:
        self.state = state
        self.error = error

    @property
    def is_done(self) -> bool:
        return bool(self.state.get("isDone"))

    @property
    def output(self) -> Any:
        return self.state.get("output")

    @property
    def custom_status(self) -> Any:
        return self.state.get("customStatus")

    @property
    def actions(self) -> list[dict]:
        """Every action the orchestrator has asked for so far, in order, flattened (schema V1 nests one list per
        yield; V2+ wraps task_all in a WhenAll compound action), with each `input` decoded from its JSON string."""
        flat: list[dict] = []

        def add(action: dict) -> None:
            if "compoundActions" in action:
                for child in action["compoundActions"]:
                    add(child)
                return
            action = dict(action)
            if isinstance(action.get("input"), str):
                action["input"] = json.loads(action["input"])
            flat.append(action)

        for group in self.state.get("actions", []):
            for action in group:
                add(action)
        return flat


def replay(decorated_orchestrator: Any, history: History) -> Replay:
    """Replay `history` through a `@bp.orchestration_trigger` function exactly as the worker would invoke it."""
    handle = decorated_orchestrator._function.get_user_function()  # Orchestrator.create(fn)'s handle
    try:
        return Replay(json.loads(handle(history.context_json())))
    except Exception as error:  # an orchestrator failure: the state follows the out-of-proc error marker
        message = str(error)
        marker = "$OutOfProcData$:"
        if marker not in message:
            raise
        return Replay(json.loads(message.split(marker, 1)[1]), error=message.split(marker, 1)[0].strip())
