"""Fan-in for orchestrators that fan out: wait for every task without failing fast, and bounded error texts.
Shared by the backup and restore orchestrators; replay-safe (no I/O, no clock)."""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import Any

import azure.durable_functions as df

MAX_ERROR_CHARS = 1_000


def error_text(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__)[:MAX_ERROR_CHARS]


def settle(context: df.DurableOrchestrationContext, tasks: Sequence[Any]) -> Generator[Any, Any, list]:
    """Wait for every task; return one `(True, result)` or `(False, error text)` per task, in order. Never raises.

    task_all in azure-functions-durable fails fast: the first failed child fails the WhenAll task at once (other
    children may still be pending). So on failure, each task is yielded on its own: finished ones resume at once
    with their value or error, pending ones wait for their own completion event. The tasks are already scheduled,
    so this adds no actions, and the same history always takes the same path: it is replay-safe."""
    if not tasks:
        return []
    try:
        results = yield context.task_all(list(tasks))
        return [(True, result) for result in results]
    except Exception:
        pass
    settled = []
    for task in tasks:
        try:
            settled.append((True, (yield task)))
        except Exception as error:
            settled.append((False, error_text(error)))
    return settled


_RUNNING = {"Running", "Pending", "ContinuedAsNew"}


async def start_unless_running(client: df.DurableOrchestrationClient, orchestrator: str, instance: str,
                               what: str) -> bool:  # fmt: skip
    """A scheduled singleton (the verification, the purge): start `orchestrator` as `instance` unless the last one
    is still going (then say so and skip). True when started."""
    status = await client.get_status(instance)
    if status and status.runtime_status and status.runtime_status.value in _RUNNING:
        logging.getLogger(__name__).warning("%s %r is still running: scheduled %s skipped", what, instance, what)
        return False
    await client.start_new(orchestrator, instance, {"trigger": "schedule"})
    return True
