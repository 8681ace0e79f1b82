"""What the backup orchestrators' replay tests share: the run id, retry options, results and the stored list's
reference (tests/functions/test_replay.py, test_batch_replay.py)."""

from __future__ import annotations

from core.backup_start import BACKUP_INSTANCE
from core.planning import count_results, new_run_id
from tests.functions.durable_history import START

RUN_ID = new_run_id(START)
RETRY = {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 3}
FINISH_RETRY = {"firstRetryIntervalInMilliseconds": 10000, "maxNumberOfAttempts": 5}
KEYS = [f"exchange:user-{n}" for n in range(5)]
SCHEMAS = [0, 1, 2]  # replay schema V1 (nested action lists), V2 and V3 (WhenAll compound actions)
LIST = "0123456789ab"  # the stored list's id, as store_resource_list returns it


def ok(key: str, items: int = 1, status: str = "succeeded") -> dict:
    return {"resource": key, "status": status, "items": items, "bytes": 100 * items, "removed": 0, "failed_items": 0}


def calls(result) -> list[tuple[int, str]]:
    return [(a["actionType"], a["functionName"]) for a in result.actions]


def listed(keys: list[str], batch_size: int, width: int = 50, errors: dict | None = None) -> dict:
    """What discover_resources / store_resources return: the stored list's reference and counts."""
    found = {"run_id": RUN_ID, "list": LIST, "resources": len(keys), "batches": -(-len(keys) // batch_size),
             "batch_size": batch_size, "fanout_width": width}  # fmt: skip
    return {**found, "discovery_errors": errors} if errors else found


def reference(keys: list[str], batch_size: int = 2, width: int = 50) -> dict:
    """The run reference a backup_fanout node gets (before its first / count)."""
    return {"list": LIST, "resources": len(keys), "batch_size": batch_size, "fanout_width": width,
            "run_id": RUN_ID, "root": BACKUP_INSTANCE}  # fmt: skip


def counts_of(*results: dict) -> dict:
    return count_results(results)
