"""Backups at simulated times for the purge tests: a run id encodes its time (core/planning.py new_run_id), so a run
started through the backup use cases with the id of a past time is a restore point taken then, as far as retention,
the catalog and every restore are concerned. Between runs the tenant changes through the simulator's control API,
and what each mailbox held at each point is kept to compare restores against."""

from __future__ import annotations

import hashlib
import random
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.backup import backup_resource, finish_run, start_run
from core.bootstrap import Services, build_services
from core.config import load_settings
from core.lifecycle.removal import content_of
from core.planning import new_run_id, summarize
from core.storage.runs import USABLE
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant

NOW = datetime.now(UTC)  # the simulated points are taken before it
# what the purges run as of: every blob the backups write now has outlived the IMMUTABILITY_DAYS=1 its container
# gives it (core/storage/immutability_local.py models that for Azurite), so only retention decides what goes
LATER = NOW + timedelta(days=2)


def backup_at(services: Services, when: datetime, resources: list[str]) -> str:
    """One backup run of `resources` taken at `when`; returns its run id (every resource must succeed)."""
    run_id = new_run_id(when)
    start_run(services, run_id, "test")
    results = [backup_resource(services, run_id, resource) for resource in resources]
    finish_run(services, run_id, summarize(run_id, results))
    assert all(r["status"] == "succeeded" for r in results), results
    return run_id


@contextmanager
def fresh_services(tenant: Tenant, azurite: Any, **settings: str):
    """Services on a storage slice of their own, backing up the tenant's simulator, with these settings (blobs
    immutable for IMMUTABILITY_DAYS=1 from their creation, as the local adapter models the container's default)."""
    env = {**tenant.env, **isolated_storage(azurite), "IMMUTABILITY_DAYS": "1", **settings}
    services = build_services(load_settings(env))
    try:
        yield services
    finally:
        services.close()


def with_settings(services: Services, **changes: Any) -> Services:
    """The same services (same clients) with some settings changed."""
    return replace(services, settings=replace(services.settings, **changes))


def churn(tenant: Tenant, user: str, rng: random.Random, changes: int = 3) -> None:
    """Seeded changes to a mailbox: messages added (some with attachments), edited, moved and deleted."""
    control = tenant.sim.control
    for _ in range(changes):
        messages = sorted(control.list_messages(user), key=lambda m: m["id"])
        action = rng.choice(("add", "add", "edit", "move", "delete")) if len(messages) > 3 else "add"
        if action == "add":
            control.add_message(user, rng.choice(("inbox", "archive")), subject=f"m{rng.getrandbits(32):08x}",
                                attachments=rng.choice((0, 0, 1)))  # fmt: skip
            continue
        message = rng.choice(messages)
        if action == "edit":
            control.update_message(user, message["id"], subject=f"edited {rng.getrandbits(32):08x}")
        elif action == "move":
            control.move_message(user, message["id"], rng.choice(("archive", "inbox", "deleteditems")))
        else:
            control.delete_message(user, message["id"])


def simulated_history(tenant: Tenant, services: Services, user: str, days_ago: list[float], seed: int,
                      changes: int = 3) -> dict[str, dict[str, tuple[str, str]]]:  # fmt: skip
    """A backup of the mailbox at each of `days_ago` (oldest first) before NOW, with churn before each but the
    first; returns run id -> the mailbox as the tenant held it then (message id -> (folder id, MIME sha256))."""
    rng, held = random.Random(seed), {}
    for n, days in enumerate(days_ago):
        if n:
            churn(tenant, user, rng, changes)
        run_id = backup_at(services, NOW - timedelta(days=days), [f"exchange:{user}"])
        held[run_id] = tenant.live_messages(user)
    return held


def restored_as_of(tenant: Tenant, services: Services, user: str, run_id: str) -> dict[str, tuple[str, str]]:
    """What the backup holds of the mailbox as of the run, every message's MIME read back whole (hash-checked by
    the store) and hashed again: message id -> (folder id, sha256 of the bytes read)."""
    found = {}
    for version in services.catalog.as_of(f"exchange:{user}", "mail", run_id):
        data = services.content.read(version.content_hash)
        found[version.item_id] = (version.folder_id, hashlib.sha256(data).hexdigest())
    return found


def usable_points(services: Services, resource: str) -> list[str]:
    return [p["run_id"] for p in services.runs.points(resource) if p["status"] in USABLE]


def stored_blobs(services: Services) -> set[str]:
    """sha256 of every content blob in the container."""
    container = services.content._container
    return {b.name.rsplit("/", 1)[-1] for b in container.list_blobs(name_starts_with="sha256/")}


def referenced_blobs(services: Services) -> set[str]:
    """sha256 of every blob some catalog version of some resource references."""
    found: set[str] = set()
    for resource, version in services.catalog.every_version():
        found |= content_of(resource, [version])
    return found
