"""A local stand-in for the Durable Functions host, for the demo and the tests; not used in Azure.

`run_orchestration` runs a real orchestrator function (by default the ones in blueprints.backup and
blueprints.restore) the way the Durable extension does: it replays the function through azure-functions-durable's
`Orchestrator.create(fn)` with a growing history, reads the actions it asks for, carries them out, appends the
completion events and replays again until the orchestrator is done. Activities are the real activity functions, called
in-process with the payload the worker would pass (the JSON input decoded) and their return value serialized to a JSON
string as the worker does; an episode's activities run in parallel in a thread pool. Sub-orchestrations run
recursively, each with its own history, in their own threads. Timers fire after their (scaled) delay.

History shape (what the library expects; see also tests/functions/durable_history.py): episodes delimited by
OrchestratorStarted / OrchestratorCompleted, the first holding ExecutionStarted (Name, Version, Input); the clock is
the OrchestratorStarted timestamp (real time here). TaskScheduled, SubOrchestrationInstanceCreated and TimerCreated
take EventIds 0, 1, 2... in the order the library numbers its tasks; completions point back with TaskScheduledId /
TimerId and carry a JSON-string Result. Retries (call_*_with_retry) are the host's job: a failed attempt is followed
by a retry timer, then a new attempt under a new id; after the last attempt one more timer fires before the failure
reaches the orchestrator. The library numbers a retry timer when it sees the failure and a new attempt when it sees
the timer fire, so each episode delivers those "retry bookkeeping" events first (their ids are known without
replaying), then the events the orchestrator code sees, whose follow-up actions are numbered after the replay.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions import Orchestrator

from core.backup_start import BACKUP_INSTANCE
from devenv.durable_result import LocalResult

# DurableTask.Core.History.EventType values
EXECUTION_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 0, 4, 5, 6
SUB_CREATED, SUB_COMPLETED, SUB_FAILED, TIMER_CREATED, TIMER_FIRED = 7, 8, 9, 10, 11
ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED = 12, 13
# action types in the state the orchestrator returns
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB, CALL_SUB_WITH_RETRY, CREATE_TIMER = 0, 1, 2, 3, 5
OUT_OF_PROC_MARKER = "$OutOfProcData$:"

Handle = Callable[[str], str]  # Orchestrator.create(fn): context JSON in, state JSON out


@dataclass
class _Outcome:
    ok: bool
    result: str | None = None  # JSON string
    reason: str = ""
    details: str = ""
    child: LocalResult | None = None


@dataclass
class _Work:
    """Something the orchestration waits for: an activity or sub-orchestration attempt, or a timer."""

    event_id: int
    kind: str  # "activity", "sub" or "timer"
    name: str = ""
    input: str | None = None
    instance_id: str = ""
    retry: dict | None = None  # retryOptions of a *_with_retry call
    attempt: int = 1
    fire_at: str = ""
    retry_of: _Work | None = None  # for a retry timer: the attempt that failed
    parent: str | None = None  # for a sub-orchestration: the calling instance


def _timestamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _after(seconds: float) -> Future:
    future: Future = Future()
    if seconds <= 0:
        future.set_result(None)
    else:
        threading.Timer(seconds, future.set_result, [None]).start()
    return future


def _in_thread(function: Callable[[], Any]) -> Future:
    future: Future = Future()

    def body() -> None:
        try:
            future.set_result(function())
        except BaseException as error:  # handed to whoever waits on the future
            future.set_exception(error)

    threading.Thread(target=body, daemon=True).start()
    return future


def _flatten(groups: list) -> list[dict]:
    """Every action asked for so far, in order (schema V1 nests lists, V2+ nests WhenAll/WhenAny compounds)."""
    flat: list[dict] = []

    def add(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                add(child)
        elif "compoundActions" in item:
            add(item["compoundActions"])
        else:
            flat.append(item)

    add(groups)
    return flat


def default_functions() -> tuple[dict[str, Handle], dict[str, Callable[[Any], Any]]]:
    """The orchestrators (replay handles) and activities (user functions) registered on blueprints.backup,
    blueprints.restore, blueprints.verify and blueprints.purge. A name registered twice is an error (the Functions
    host would refuse it too)."""
    from blueprints.backup import bp as backup_bp
    from blueprints.purge import bp as purge_bp
    from blueprints.restore import bp as restore_bp
    from blueprints.verify import bp as verify_bp

    orchestrators: dict[str, Handle] = {}
    activities: dict[str, Callable[[Any], Any]] = {}
    for bp in (backup_bp, restore_bp, verify_bp, purge_bp):
        for builder in bp._function_builders:
            function = builder._function
            name = function.get_function_name()
            triggers = {binding.type for binding in function.get_bindings()}
            if name in orchestrators or name in activities:
                raise ValueError(f"function {name!r} is registered twice")
            if "orchestrationTrigger" in triggers:
                orchestrators[name] = function.get_user_function()
            elif "activityTrigger" in triggers:
                activities[name] = function.get_user_function()
    return orchestrators, activities


def _resolve(name_or_fn: Any, orchestrators: dict[str, Handle]) -> tuple[str, Handle]:
    if isinstance(name_or_fn, str):
        return name_or_fn, orchestrators[name_or_fn]
    if hasattr(name_or_fn, "_function"):  # a @bp.orchestration_trigger function
        return name_or_fn._function.get_function_name(), name_or_fn._function.get_user_function()
    if hasattr(name_or_fn, "orchestrator_function"):  # an Orchestrator.create handle
        return name_or_fn.orchestrator_function.__name__, name_or_fn
    return name_or_fn.__name__, Orchestrator.create(name_or_fn)  # a plain generator function


def _user_function(function: Any) -> Callable[[Any], Any]:
    """A decorated activity's own function, or the callable itself."""
    return function._function.get_user_function() if hasattr(function, "_function") else function


def run_orchestration(
    name_or_fn: Any,
    input: Any = None,
    activities: dict[str, Callable[[Any], Any]] | None = None,
    max_parallel: int = 4,
    *,
    orchestrators: dict[str, Any] | None = None,
    instance_id: str = BACKUP_INSTANCE,
    retry_delay_scale: float = 1.0,
    timer_delay_scale: float = 1.0,
    schema: int = 0,
) -> LocalResult:
    """Run an orchestration to its end. `name_or_fn`: a registered name, a decorated orchestrator, or a generator
    function. `activities` / `orchestrators` add to (or replace by name) the ones of the blueprints. Retry and timer
    waits are multiplied by the scales (0 fires at once). `schema` is the replay schema the host advertises."""
    default_orchestrators, default_activities = default_functions()
    engine = _Engine(
        {name: _resolve(fn, {})[1] for name, fn in {**default_orchestrators, **(orchestrators or {})}.items()},
        {name: _user_function(fn) for name, fn in {**default_activities, **(activities or {})}.items()},
        retry_delay_scale,
        timer_delay_scale,
        schema,
    )
    name, handle = _resolve(name_or_fn, engine.orchestrators)
    pool = ThreadPoolExecutor(max_parallel, thread_name_prefix="activity")
    engine.pool = pool
    try:
        result = engine.run(name, handle, json.dumps(input), instance_id, None)
    except BaseException:  # Ctrl-C: activities not begun never start, and the ones under way are not waited for
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return result


class _Engine:
    def __init__(
        self,
        orchestrators: dict[str, Handle],
        activities: dict[str, Callable[[Any], Any]],
        retry_scale: float,
        timer_scale: float,
        schema: int,
    ) -> None:
        self.orchestrators, self.activities = orchestrators, activities
        self.retry_scale, self.timer_scale, self.schema = retry_scale, timer_scale, schema
        self.pool: ThreadPoolExecutor

    def run(self, name: str, handle: Handle, input_json: str, instance_id: str, parent: str | None) -> LocalResult:
        events: list[dict] = []
        next_id = 0
        clock = datetime.now(UTC)

        def add(event_type: int, event_id: int = -1, **fields: Any) -> None:
            events.append(
                {
                    "EventType": event_type,
                    "EventId": event_id,
                    "IsPlayed": False,
                    "Timestamp": _timestamp(clock),
                    **fields,
                }
            )

        def start_episode(at_least: datetime | None = None) -> None:
            """The clock is real time, except that a timer fired early (scaled wait) moves it to the timer's time."""
            nonlocal clock
            clock = max(clock, datetime.now(UTC), at_least or clock)
            add(ORCHESTRATOR_STARTED)

        def schedule(work: _Work) -> None:
            """Number a new attempt or timer, record it and start it."""
            nonlocal next_id
            work.event_id, next_id = next_id, next_id + 1
            if work.kind == "timer":
                add(TIMER_CREATED, work.event_id, FireAt=work.fire_at)
            elif work.kind == "sub":
                add(SUB_CREATED, work.event_id, Name=work.name, Input=work.input, InstanceId=work.instance_id)
            else:
                add(TASK_SCHEDULED, work.event_id, Name=work.name, Input=work.input)
            future = self._start(work, clock)
            if future is not None:
                pending[future] = work

        result = LocalResult(instance_id, "Running", None, None)
        pending: dict[Future, _Work] = {}
        known = 0
        start_episode()
        add(
            EXECUTION_STARTED,
            Name=name,
            Version="",
            Input=input_json,
            OrchestrationInstance={"InstanceId": instance_id},
            ParentInstance=parent,
        )
        while True:
            context = {
                "history": events,
                "instanceId": instance_id,
                "isReplaying": False,
                "parentInstanceId": parent,
                "input": input_json,
                "upperSchemaVersion": self.schema,
            }
            result.episodes += 1
            replay_started = time.thread_time()
            try:
                state, error = json.loads(handle(json.dumps(context))), None
            except Exception as failure:  # the orchestrator raised: its state follows the out-of-proc marker
                message = str(failure)
                if OUT_OF_PROC_MARKER not in message:
                    raise
                text, state_json = message.split(OUT_OF_PROC_MARKER, 1)
                state, error = json.loads(state_json), text.strip()
            finally:
                replayed = time.thread_time() - replay_started
                result.replay_seconds += replayed
                result.own_replay_seconds += replayed
            result.custom_status = state.get("customStatus")
            if error is not None or state.get("isDone"):
                add(ORCHESTRATOR_COMPLETED)
                result.runtime_status = "Failed" if error is not None else "Completed"
                result.output, result.error = (None, error) if error is not None else (state.get("output"), None)
                break
            actions = _flatten(state.get("actions") or [])
            for action in actions[known:]:
                schedule(self._work_for(action, instance_id, clock))
            known = len(actions)
            add(ORCHESTRATOR_COMPLETED)
            if not pending:
                raise RuntimeError(f"orchestration {instance_id!r} waits for nothing but is not done: a history bug")
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            fired = [_parse_time(pending[f].fire_at) for f in done if pending[f].kind == "timer"]
            start_episode(max(fired, default=None))
            finished = sorted(((pending.pop(f), f.result()) for f in done), key=lambda pair: pair[0].event_id)
            # retry bookkeeping first: the library numbers its retry timers and new attempts as it reads these
            finished.sort(key=lambda pair: not self._is_bookkeeping(*pair))
            for work, outcome in finished:
                follow_up = self._deliver(work, outcome, add, result, clock)
                if follow_up is not None:
                    schedule(follow_up)
        result.history = events
        result.max_history = max(result.max_history, len(events))
        result.history_bytes = len(json.dumps(events).encode())
        result.max_history_bytes = max(result.max_history_bytes, result.history_bytes)
        return result

    def _work_for(self, action: dict, instance_id: str, now: datetime) -> _Work:
        kind = action["actionType"]
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
            return _Work(-1, "activity", action["functionName"], action.get("input"), retry=action.get("retryOptions"))
        if kind in (CALL_SUB, CALL_SUB_WITH_RETRY):
            child_id = action.get("instanceId") or f"{instance_id}:{action['functionName']}:{now.timestamp()}"
            retry = action.get("retryOptions")
            return _Work(-1, "sub", action["functionName"], action.get("input"), child_id, retry, parent=instance_id)
        if kind == CREATE_TIMER:
            return _Work(-1, "timer", fire_at=action["fireAt"], name="cancelled" if action.get("isCanceled") else "")
        raise NotImplementedError(f"action type {kind} is not supported by the local Durable runner: {action}")

    def _start(self, work: _Work, now: datetime) -> Future | None:
        if work.kind == "activity":
            return self.pool.submit(self._call_activity, work.name, work.input)
        if work.kind == "sub":
            return _in_thread(lambda: self._call_sub(work))
        if work.name == "cancelled":
            return None
        delay = (_parse_time(work.fire_at) - now).total_seconds()
        return _after(delay * (self.retry_scale if work.retry_of else self.timer_scale))

    def _call_activity(self, name: str, input_json: str | None) -> _Outcome:
        function = self.activities.get(name)
        if function is None:
            return _Outcome(False, reason=f"The function '{name}' doesn't exist, is disabled, or is not an activity")
        try:
            value = function(None if input_json is None else json.loads(input_json))
            return _Outcome(True, json.dumps(value))
        except Exception as error:
            reason = f"Activity function '{name}' failed: {type(error).__name__}: {error}"
            stack = traceback.format_exception(type(error), error, error.__traceback__.tb_next)  # without this frame
            return _Outcome(False, reason=reason, details="".join(stack))

    def _call_sub(self, work: _Work) -> _Outcome:
        handle = self.orchestrators.get(work.name)
        if handle is None:
            return _Outcome(False, reason=f"The function '{work.name}' doesn't exist or is not an orchestrator")
        child = self.run(work.name, handle, work.input or "null", work.instance_id, work.parent)
        if child.runtime_status == "Completed":
            return _Outcome(True, json.dumps(child.output), child=child)
        return _Outcome(False, reason=f"Orchestrator function '{work.name}' failed: {child.error}", child=child)

    @staticmethod
    def _is_bookkeeping(work: _Work, outcome: _Outcome | None) -> bool:
        """A failed attempt of a retried call, or a retry timer that leads to another attempt."""
        if work.kind == "timer":
            return work.retry_of is not None and work.retry_of.attempt < work.retry_of.retry["maxNumberOfAttempts"]
        return work.retry is not None and outcome is not None and not outcome.ok

    def _deliver(
        self, work: _Work, outcome: _Outcome | None, add: Callable[..., None], result: LocalResult, now: datetime
    ) -> _Work | None:
        """Append the event for finished work; return the retry timer or new attempt the host would schedule."""
        if work.kind == "timer":
            add(TIMER_FIRED, TimerId=work.event_id, FireAt=work.fire_at)
            if self._is_bookkeeping(work, outcome):
                failed = work.retry_of
                return dataclasses.replace(failed, event_id=-1, attempt=failed.attempt + 1)
            return None
        assert outcome is not None
        if work.kind == "activity":
            result.activities += 1
        if outcome.child is not None:
            result.absorb(outcome.child)
        sub = work.kind == "sub"
        if outcome.ok:
            add(SUB_COMPLETED if sub else TASK_COMPLETED, TaskScheduledId=work.event_id, Result=outcome.result)
            return None
        fields = {"TaskScheduledId": work.event_id, "Reason": outcome.reason, "Details": outcome.details}
        add(SUB_FAILED if sub else TASK_FAILED, **fields)
        if work.retry is None:
            return None
        retry = work.retry
        delay_ms = retry["firstRetryIntervalInMilliseconds"] * retry.get("backoffCoefficient", 1) ** (work.attempt - 1)
        delay_ms = min(delay_ms, retry.get("maxRetryIntervalInMilliseconds") or delay_ms)
        return _Work(-1, "timer", fire_at=_timestamp(now + timedelta(milliseconds=delay_ms)), retry_of=work)
