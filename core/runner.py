"""The local runner: the same use cases the Durable orchestrator fans out, run with a thread pool across
resources (for the CLI, the demo, tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime

from core.backup import backup_resource, discover_resources, finish_run, start_run
from core.bootstrap import Services
from core.planning import failed_result, new_run_id, summarize


def run_backup(
    services: Services,
    resources: list[str] | None = None,
    trigger: str = "cli",
    on_resource: Callable[[dict], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> dict:
    """One backup run of `resources` (default: everything discovered). Returns the run summary, with the
    per-resource results under 'results'."""
    run_id = new_run_id(datetime.now(UTC))
    start_run(services, run_id, trigger)
    keys = resources if resources is not None else discover_resources(services)
    if on_plan:
        on_plan(len(keys))
    results = []
    with ThreadPoolExecutor(services.settings.local_concurrency, thread_name_prefix="resource") as pool:
        futures = {pool.submit(backup_resource, services, run_id, key): key for key in keys}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # the outcome could not be recorded; the run goes on
                result = failed_result(futures[future], str(exc)[:1000])
            results.append(result)
            if on_resource:
                on_resource(result)
    summary = finish_run(services, run_id, summarize(run_id, results))
    return {**summary, "results": sorted(results, key=lambda r: r["resource"])}
