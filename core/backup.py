"""Backup use cases, called alike by the Durable activities, the local CLI runner and the tests.

(Interface fixed; the engine behind it is being written.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.bootstrap import Services


def start_run(services: Services, run_id: str, trigger: str) -> None:
    """Record that run `run_id` started (trigger: 'schedule', 'http', 'cli')."""
    raise NotImplementedError


def discover_resources(services: Services) -> list[str]:
    """Resource keys (e.g. 'exchange:<user id>') of every resource the configured workloads back up."""
    raise NotImplementedError


def backup_resource(services: Services, run_id: str, resource_key: str) -> dict:
    """Back up one resource; returns its result dict (resource, status, items, bytes, removed, failed_items, error).
    Resource-level failures are returned with status 'failed', never raised."""
    raise NotImplementedError


def finish_run(services: Services, run_id: str, summary: dict) -> dict:
    """Record the run summary (see core.planning.summarize) and return it."""
    raise NotImplementedError
