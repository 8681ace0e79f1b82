"""The protection report (core/report.py): every discovered resource, by name, in its state (an excluded one and a
failing one among them), its last good point against BACKUP_RPO_HOURS, through core, the CLI (text, JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.report import COLUMNS, protection_report
from tests.integration.tenant import open_tenant
from tests.integration.test_cli import _cli


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite):
    from tests.conftest import isolated_storage

    options = {"users": 3, "messages": 2, "contacts": 0, "events": 0, "tasks": 0, "archive_messages": 0}
    t = open_tenant(tmp_path_factory.mktemp("report") / "sim", isolated_storage(azurite),
                    {"BACKUP_ARCHIVE_MAILBOXES": "false", "BACKUP_RPO_HOURS": "6"}, **options)  # fmt: skip
    people = [u for u in t.sim.control.state()["users"] if u["has_mailbox"] and u["purpose"] == "user"]
    good, failing, excluded = people[:3]
    t.env["BACKUP_EXCLUDE_USERS"] = excluded["userPrincipalName"]
    t.sim.control.set_faults({"kind": "mailbox", "user": failing["id"], "status": 500})
    done = _cli(t.env, "backup", "--json")
    assert done.returncode == 4 or done.returncode == 3, done.stderr  # a failed mailbox: the run is not a success
    t.sim.control.clear_faults()
    yield t, good, failing, excluded
    t.close()


def test_the_report_lists_excluded_and_failing_resources_with_their_names(world):
    tenant, good, failing, excluded = world
    report = protection_report(tenant.services)
    rows = {r["resource"]: r for r in report["resources"]}
    protected, failed, left_out = (rows[f"exchange:{u['id']}"] for u in (good, failing, excluded))
    assert (protected["state"], failed["state"], left_out["state"]) == ("protected", "failing", "excluded")
    assert protected["display_name"] == good["displayName"] and protected["address"] == good["mail"]
    assert protected["within_rpo"] is True and 0 <= protected["age_hours"] < 1 and protected["rpo_hours"] == 6
    assert protected["items"] == 2 and protected["bytes"] > 0 and protected["quarantined"] == 0
    assert protected["last_good_run_id"] == protected["last_run_id"]
    assert failed["last_status"] == "failed" and failed["last_good_run_id"] == "" and "500" in failed["error"]
    assert left_out["included"] is False and left_out["last_run_id"] == "" and left_out["display_name"]
    assert report["counts"]["failing"] >= 1 and report["counts"]["excluded"] == 1
    states = [r["state"] for r in report["resources"]]
    assert states.index("failing") < states.index("excluded") < states.index("protected")  # problems first

    later = protection_report(tenant.services, now=datetime.now(UTC) + timedelta(hours=7))
    aged = next(r for r in later["resources"] if r["resource"] == protected["resource"])
    assert aged["state"] == "past_rpo" and aged["within_rpo"] is False and aged["age_hours"] > 6


def test_the_cli_report_as_text_json_and_csv(world):
    tenant, good, failing, excluded = world
    text = _cli(tenant.env, "report")
    assert text.returncode == 3, text.stderr  # a failing resource needs attention
    line = next(ln for ln in text.stdout.splitlines() if failing["id"] in ln)
    assert line.startswith("failing") and failing["mail"] in line
    data = json.loads(_cli(tenant.env, "report", "--json").stdout)
    assert {r["resource"]: r["state"] for r in data["resources"]}[f"exchange:{excluded['id']}"] == "excluded"
    table = list(csv.DictReader(io.StringIO(_cli(tenant.env, "report", "--csv").stdout)))
    assert tuple(table[0]) == COLUMNS
    by_key = {r["resource"]: r for r in table}
    assert by_key[f"exchange:{good['id']}"]["state"] == "protected"
    assert by_key[f"exchange:{good['id']}"]["address"] == good["mail"]
    assert by_key[f"exchange:{failing['id']}"]["state"] == "failing"
