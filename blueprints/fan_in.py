"""Fan-in for orchestrators that fan out: wait for every task without failing fast, and bounded error texts.
Shared by the backup and restore orchestrators; replay-safe (no I/O, no clock). Also the fan-out of a stored
resource list (core/storage/run_resources.py) that the verification and the purge share: a tree of at most
`fanout_width` children per orchestration (core.planning.plan_fanout), each batch reading its own keys."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from core.planning import plan_fanout, resources_in

if TYPE_CHECKING:
    from core.config import Settings
    from core.storage.run_resources import RunResources

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


# ------------------------------------------------------------------------------- a stored list's fan-out tree

REFERENCE = ("list", "resources", "batches", "batch_size", "fanout_width")  # what a stored list's plan returns


def store_list(lists: RunResources, owner_id: str, resources: list[str], settings: Settings) -> dict[str, Any]:
    """Store `resources` in batches of BACKUP_BATCH_SIZE under `owner_id` (an activity's work); return the
    reference an orchestration passes on instead of the list: {"list", "resources", "batches", "batch_size",
    "fanout_width"}, counts and ids only."""
    list_id, batches = lists.store(owner_id, resources, settings.batch_size)
    return {"list": list_id, "resources": len(resources), "batches": batches, "batch_size": settings.batch_size,
            "fanout_width": settings.fanout_width}  # fmt: skip


def forget_lists(lists: RunResources, owner_id: str) -> None:
    """Remove `owner_id`'s stored lists once it has finished; a failure only leaves a few rows behind."""
    try:
        lists.forget(owner_id)
    except Exception as exc:  # the outcome is recorded; the rows are harmless
        logging.getLogger(__name__).warning("resource lists of %s not removed: %s", owner_id, exc)


def fan_out_list(context: df.DurableOrchestrationContext, node: dict, names: tuple[str, str],
                 lost: Callable[[int, str], dict]) -> Generator[Any, Any, list]:  # fmt: skip
    """The results of batches `node["first"]` .. + `node["count"]` - 1 of a stored list, through at most
    `node["fanout_width"]` sub-orchestrations: `names[0]` for a single batch (input: the node and "batch"),
    `names[1]` for a fan-out node over a range (input: the node with its own "first" and "count"). Instance ids
    `<node["prefix"]>-<first batch, 5 digits>` (and `-<batches>` for a node). A child that failed gives
    `lost(how many resources it held, error text)`. The node: the list's reference (REFERENCE), "prefix", and
    whatever its batches need; ids and counts only, so no history here grows with the resources."""
    reference = {key: value for key, value in node.items() if key not in ("first", "count")}
    children = plan_fanout(node["first"], node["count"], node["fanout_width"])
    tasks = [
        context.call_sub_orchestrator(names[0], {**reference, "batch": start},
                                      instance_id=f"{node['prefix']}-{start:05d}", expected_type=dict)
        if span == 1
        else context.call_sub_orchestrator(names[1], {**reference, "first": start, "count": span},
                                           instance_id=f"{node['prefix']}-{start:05d}-{span}", expected_type=dict)
        for start, span in children
    ]  # fmt: skip
    parts = []
    for (start, span), (ok, value) in zip(children, (yield from settle(context, tasks)), strict=True):
        parts.append(value if ok else lost(resources_in(start, span, node["resources"], node["batch_size"]), value))
    return parts
