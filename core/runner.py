"""The local runner: the same use cases the Durable orchestrator fans out, run across resources (for the CLI, the
demo, tests and benchmarks) by a thread pool, or, with BACKUP_LOCAL_PROCESSES above 1 (default: one per CPU), by
worker processes that each own whole resources (core/resource_processes.py); the parent records the run either way.

A local run records its owner process and keeps a heartbeat (core/run_owner.py); before it starts, runs whose
process died are marked `interrupted`. A run that cannot go on records why before the error leaves: `failed` when
discovery or the runner itself fails, `interrupted` on Ctrl-C (KeyboardInterrupt) or SystemExit (the CLI turns
SIGTERM into one), with the counts of the resources it finished.

On an interrupt no new resource starts, and the ones under way stop at their next Graph request (core/stopping.py:
nothing half-done is recorded); the runner waits at most STOP_GRACE_SECONDS for them (worker processes still running
then are killed), then lets the error leave."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from datetime import UTC, datetime

from core.backup import backup_resource, discover_resources, end_run_early, finish_run, start_run
from core.bootstrap import Services
from core.planning import failed_result, new_run_id, summarize, with_discovery_errors
from core.resource_processes import ResourceProcesses, worker_processes
from core.run_owner import Heartbeat, RunOwner, interrupt_abandoned_runs
from core.stopping import request_stop, reset

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 3.0  # how long an interrupted run waits for its resources under way to stop


def run_backup(
    services: Services,
    resources: list[str] | None = None,
    trigger: str = "cli",
    on_resource: Callable[[dict], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_workers: Callable[[list[dict]], None] | None = None,
) -> dict:
    """One backup run of `resources` (default: everything discovered). Returns the run summary, with the
    per-resource results under 'results'. With worker processes, `on_workers` gets each one's figures at the end
    (pid, resources, cpu_s, peak_rss_bytes, graph stats, written counts: what benchmarks add up)."""
    reset()
    owner = RunOwner.current()
    interrupt_abandoned_runs(services.runs, owner)
    run_id = new_run_id(datetime.now(UTC))
    start_run(services, run_id, trigger, owner)
    results: list[dict] = []
    discovery_errors: dict[str, str] = {}
    pool = ThreadPoolExecutor(services.settings.local_concurrency, thread_name_prefix="resource")
    futures: dict[Future, str] = {}
    workers: list[ResourceProcesses] = []  # the run's worker processes, when it uses them
    with Heartbeat(services.runs, run_id):
        try:
            _run(services, run_id, pool, resources, results, discovery_errors, on_resource, on_plan, futures, workers)
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
            if interrupted:
                request_stop()  # the resources under way send no further request
            for processes in workers:
                processes.stop()  # in every worker process too
            pool.shutdown(wait=False, cancel_futures=True)  # resources not begun never start
            status = "interrupted" if interrupted else "failed"
            error = f"{status}: {type(exc).__name__}: {exc}".rstrip(": ")
            end_run_early(services, run_id, status, error, summarize(run_id, results))
            if interrupted:  # the resources under way stop at their next request (Ctrl-C again: at once)
                log.warning("run %s interrupted: stopping the resources under way", run_id)
                wait(futures, timeout=STOP_GRACE_SECONDS)
            for processes in workers:
                processes.close(grace=STOP_GRACE_SECONDS if interrupted else 0.0)
            raise
    pool.shutdown()
    for processes in workers:
        processes.close(grace=STOP_GRACE_SECONDS)  # they have ended, or end once they have sent their figures
        if on_workers:
            on_workers(processes.figures)
    summary = finish_run(services, run_id, with_discovery_errors(summarize(run_id, results), discovery_errors))
    return {**summary, "results": sorted(results, key=lambda r: r["resource"])}


def _run(
    services: Services,
    run_id: str,
    pool: ThreadPoolExecutor,
    resources: list[str] | None,
    results: list[dict],
    discovery_errors: dict[str, str],
    on_resource: Callable[[dict], None] | None,
    on_plan: Callable[[int], None] | None,
    futures: dict[Future, str],
    workers: list[ResourceProcesses],
) -> None:
    try:
        keys = resources if resources is not None else discover_resources(services, discovery_errors)
    except Exception as exc:  # nothing to fan out: the run failed, and says why
        error = f"discovery failed: {type(exc).__name__}: {exc}"
        end_run_early(services, run_id, "failed", error, summarize(run_id, []))
        raise
    if on_plan:
        on_plan(len(keys))
    processes = worker_processes(services.settings, len(keys))
    if processes > 1:  # whole resources per worker process; the results come back here, where the run is recorded
        workers.append(ResourceProcesses(services.settings, run_id, processes))
        for result in workers[0].results(keys):
            results.append(result)
            if on_resource:
                on_resource(result)
        return
    futures.update({pool.submit(backup_resource, services, run_id, key): key for key in keys})
    for future in as_completed(futures):
        try:
            result = future.result()
        except Exception as exc:  # the outcome could not be recorded; the run goes on
            result = failed_result(futures[future], str(exc)[:1000])
        results.append(result)
        if on_resource:
            on_resource(result)
