"""The ransomware signal end to end (Azurite + the simulator): busy normal days of edits teach a OneDrive's baseline
and are not flagged; the simulator's "encrypt" is flagged with its reasons, the point before it is the last clean
one, and a restore given no point uses it (tests/integration/ransomware_days.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.backup import backup_resource
from core.restore import restore
from core.restore_request import RestoreRequest
from core.signals.assessment import SUSPICIOUS_MESSAGE
from core.signals.clean_point import last_clean_point
from core.storage.runs import LAST_CLEAN
from tests.integration.drive_tenants import drive_tenant, my_drive
from tests.integration.ransomware_days import EDITS, busy_days_then_encrypt, content
from tests.integration.tenant import Tenant, sha256

REPO = Path(__file__).resolve().parents[2]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python -m core` as an operator runs it, with the tenant's settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPH_", "BACKUP_"))}
    env = {**clean, **env, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture
def tenant(tmp_path, storage_env) -> Iterator[Tenant]:
    yield from drive_tenant(tmp_path, storage_env, "onedrive", seed=151)


def test_an_encrypted_run_is_flagged_and_restores_default_to_the_last_clean_point(tenant: Tenant, caplog):
    drive, resource = my_drive(tenant)
    caplog.set_level(logging.WARNING, logger="core.signals.assessment")
    attack = busy_days_then_encrypt(tenant, drive["id"])
    assert all(r["status"] == "succeeded" for r in [*attack.normal, attack.attacked]), attack
    points = tenant.services.runs.points(resource)
    assert [p["suspicious"] for p in points] == [False] * len(attack.normal) + [True]  # normal days: not flagged
    busy = points[-2]["signals"]
    assert (busy["changed"], busy["renamed"], busy["encrypted"]) == (EDITS, 1, 0), busy
    assert busy["shares"]["changed"] > 0.3 and busy["limits"]["changed"] > busy["shares"]["changed"]  # learnt

    assert len(attack.hit) >= 20 and all(h["name"] == h["was"] + ".locky" for h in attack.hit)
    newest = points[-1]
    assert newest["run_id"] == attack.attacked["run_id"] and newest["suspicious"] is True
    reasons = " | ".join(newest["suspicious_reasons"])
    for expected in ("files changed", "files renamed", "new file contents look encrypted", "ransomware extension"):
        assert expected in reasons, reasons
    records = [r for r in caplog.records if r.getMessage() == SUSPICIOUS_MESSAGE]
    assert [(r.resource, r.run_id, r.signal) for r in records] == [
        (resource, attack.attacked["run_id"], "suspicious_restore_point")
    ]
    assert records[0].reasons == newest["suspicious_reasons"]

    previous = attack.normal[-1]["run_id"]
    assert last_clean_point(points) == previous
    assert tenant.services.runs.resolve_point(resource, LAST_CLEAN) == previous
    assert tenant.services.runs.resolve_point(resource) == attack.attacked["run_id"]  # browsing: still the newest

    victim = next(h for h in attack.hit if h["was"] in attack.ids)
    key = f"{drive['id']}/{victim['id']}"
    report = restore(tenant.services, RestoreRequest(resource, item_ids=(key,), destination="new-folder"))
    assert report.run_id == previous and report.restored == 1, report
    assert previous in report.point_note and attack.attacked["run_id"] in report.point_note
    (restored,) = report.items  # the clean content, not the encrypted one, as the simulator now holds it
    made = next(d for d in tenant.sim.control.drives_state()["drives"] if d["id"] == drive["id"])["items"]
    copy = next(i for i in made if i["id"] == restored["new_id"])
    assert copy["path"].startswith("/Restored ") and copy["name"] == victim["was"]
    assert copy["sha256"] == sha256(content(victim["was"], attack.day_of(victim["was"])))

    explicit = restore(tenant.services, RestoreRequest(resource, item_ids=(key,), destination="new-folder",
                                                       use_suspicious=True))  # fmt: skip
    assert explicit.run_id == attack.attacked["run_id"] and explicit.point_note == ""
    assert restore(tenant.services, RestoreRequest(resource, run_id=previous, item_ids=(key,),
                                                   destination="new-folder")).point_note == ""  # fmt: skip

    listing = _cli(tenant.env, "points", resource)
    assert listing.returncode == 0, listing.stderr
    flagged = [line for line in listing.stdout.splitlines() if "SUSPICIOUS: " in line]
    assert len(flagged) == 1 and flagged[0].startswith(attack.attacked["run_id"]), listing.stdout
    assert f"last clean point: {previous}" in listing.stdout
    by_cli = _cli(tenant.env, "restore", resource, "--item", key, "--destination", "new-folder")
    assert by_cli.returncode == 0, by_cli.stderr
    assert f"as of run {previous}" in by_cli.stdout and "flagged suspicious" in by_cli.stdout, by_cli.stdout
    as_of_clean = _cli(tenant.env, "items", resource, "--run", "last-clean", "--json")
    assert as_of_clean.returncode == 0 and json.loads(as_of_clean.stdout)["run_id"] == previous, as_of_clean.stderr
    forced = _cli(tenant.env, "restore", resource, "--item", key, "--destination", "new-folder", "--use-suspicious")
    assert forced.returncode == 0 and f"as of run {attack.attacked['run_id']}" in forced.stdout, forced.stdout

    retried = backup_resource(tenant.services, attack.attacked["run_id"], resource)  # the activity run again
    assert retried["suspicious"] is True  # it saw only the restored copies, and keeps the first attempt's flag
    assert tenant.services.runs.point(resource, attack.attacked["run_id"])["suspicious_reasons"] == reasons.split(" | ")

    refused = _cli(tenant.env, "clear-suspicious", resource, previous, "--reason", "checked")  # not flagged
    assert refused.returncode == 2 and "not flagged" in refused.stderr and "Traceback" not in refused.stderr
    cleared = _cli(tenant.env, "clear-suspicious", resource, attack.attacked["run_id"], "--reason", "a planned "
                   "archive", "--by", "ops@contoso", "--json")  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    assert json.loads(cleared.stdout)["suspicious_cleared"]["by"] == "ops@contoso"
    assert tenant.services.runs.resolve_point(resource, LAST_CLEAN) == attack.attacked["run_id"]
    audited = [e for e in tenant.services.audit.list()[0] if e["action"] == "signal.clear"]
    assert [(e["actor_name"], e["point"], e["result"]) for e in audited] == [
        ("ops@contoso", attack.attacked["run_id"], "succeeded")]  # fmt: skip
