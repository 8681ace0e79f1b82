"""The last clean point in the run store against a real Azurite: a flagged point kept with its reasons and signals,
what `clean`, LAST_CLEAN and a time resolve to, nothing changed while no point is flagged, and the baseline row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.config import load_settings
from core.errors import NotFoundError
from core.signals.assessment import Assessment
from core.storage.runs import LAST_CLEAN, RunStore
from core.storage.tables import table_clients

SECRETLESS = {"GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c", "GRAPH_CLIENT_SECRET": "unused"}
R1, R2, R3 = "20261122T060000000000Z", "20261122T070000000000Z", "20261122T080000000000Z"
CLEAN = Assessment({"changed": 1, "shares": {"changed": 0.01}})
FLAGGED = Assessment({"changed": 90, "shares": {"changed": 0.9}}, True, ["90 of 100 files changed (90%)"])


@pytest.fixture
def runs(storage_env) -> RunStore:
    tables = table_clients(load_settings({**SECRETLESS, **storage_env}))
    return RunStore(tables["runs"], tables["restorepoints"])


def _point(runs: RunStore, run_id: str, signal: Assessment | None, resource: str = "onedrive:u") -> None:
    runs.record_point(run_id, {"resource": resource, "status": "succeeded", "items": 1}, [], None, signal)


def test_without_a_flag_nothing_changes(runs: RunStore):
    _point(runs, R1, None)
    _point(runs, R2, CLEAN)
    assert runs.resolve_point("onedrive:u", clean=True) == runs.resolve_point("onedrive:u") == R2
    assert runs.resolve_point("onedrive:u", LAST_CLEAN) == R2
    assert [(p["suspicious"], p["suspicious_reasons"]) for p in runs.points("onedrive:u")] == [(False, [])] * 2
    assert runs.points("onedrive:u")[0]["signals"] == {} and runs.points("onedrive:u")[1]["signals"] == CLEAN.signals


def test_a_flagged_newest_point_resolves_to_the_last_clean_one_only_when_asked(runs: RunStore):
    _point(runs, R1, CLEAN)
    _point(runs, R2, None)
    _point(runs, R3, FLAGGED)
    newest = runs.point("onedrive:u", R3)
    assert newest["suspicious"] is True and newest["suspicious_reasons"] == FLAGGED.reasons
    assert newest["signals"] == FLAGGED.signals
    assert runs.resolve_point("onedrive:u") == R3  # browsing and exports: the newest, as before
    assert runs.resolve_point("onedrive:u", clean=True) == R2  # a restore without a point
    assert runs.resolve_point("onedrive:u", R3, clean=True) == R3  # a run named: as asked
    at = datetime(2026, 11, 22, 9, tzinfo=UTC)
    assert runs.resolve_point("onedrive:u", at=at, clean=True) == R3  # a time given: as asked
    assert runs.resolve_point("onedrive:u", LAST_CLEAN) == R2
    assert runs.points_by_resource()["onedrive:u"][-1]["suspicious"] is True  # the scan reads the flag too


def test_every_point_flagged_is_a_clear_error(runs: RunStore):
    _point(runs, R1, FLAGGED, "onedrive:v")
    with pytest.raises(NotFoundError, match="every backup of 'onedrive:v' is flagged suspicious"):
        runs.resolve_point("onedrive:v", clean=True)
    with pytest.raises(NotFoundError, match="use_suspicious"):
        runs.resolve_point("onedrive:v", LAST_CLEAN)
    assert runs.resolve_point("onedrive:v") == R1


def test_the_baseline_is_one_row_per_resource(runs: RunStore):
    assert runs.baselines.window("onedrive:w") == []
    runs.baselines.save("onedrive:w", [{"run": R1, "changed": 0.1}])
    runs.baselines.save("onedrive:w", [{"run": R1, "changed": 0.1}, {"run": R2, "changed": 0.2}])
    assert runs.baselines.window("onedrive:w") == [{"run": R1, "changed": 0.1}, {"run": R2, "changed": 0.2}]
    assert runs.list() == []  # the run listing does not see the baseline's partition
    runs.baselines.forget("onedrive:w")
    runs.baselines.forget("onedrive:w")  # already gone: no error
    assert runs.baselines.window("onedrive:w") == []
