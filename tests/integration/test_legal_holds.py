"""Legal holds through the CLI (core/lifecycle/holds_cli.py) against Azurite and the simulator: placed, listed,
shown by `points`, released; each change audited with who, when and why; a hold on a resource without a backup is
refused in one line (exit 2); and the holds survive the loss of their table (rebuild-catalog replays the journal:
a placed hold comes back, a released one stays released)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from azure.data.tables import TableServiceClient

from core.rebuild_catalog import rebuild_catalog
from core.storage.legal_holds import HOLD_PK
from tests.conftest import isolated_storage
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import _cli


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange,onedrive"}
    t = open_tenant(tmp_path_factory.mktemp("holds") / "sim", isolated_storage(azurite), settings, users=2,
                    messages=2, seed=61, contacts=0, events=0, drive_files=1, tasks=0)  # fmt: skip
    assert t.backup()["status"] == "succeeded"
    yield t
    t.close()


def _hold_rows(tenant: Tenant) -> list[dict]:
    settings = tenant.services.settings
    service = TableServiceClient.from_connection_string(settings.storage_connection_string)
    table = service.get_table_client(f"{settings.table_prefix}runs")
    return list(table.query_entities("PartitionKey eq @pk", parameters={"pk": HOLD_PK}))


def test_holds_are_placed_listed_shown_released_and_audited(tenant: Tenant):
    mailbox, drive = (f"{w}:{tenant.user(0)['id']}" for w in ("exchange", "onedrive"))
    placed = _cli(tenant.env, "hold", "place", "--resource", mailbox, "--reason", "Case 42: HR inquiry", "--by", "dpo")
    assert placed.returncode == 0, placed.stderr
    assert f"{mailbox} is on legal hold: Case 42: HR inquiry (by dpo)" in placed.stdout
    assert _cli(tenant.env, "hold", "place", "--resource", drive, "--reason", "Case 43", "--json").returncode == 0
    listed = json.loads(_cli(tenant.env, "hold", "list", "--json").stdout)
    assert {h["resource"]: h["reason"] for h in listed} == {mailbox: "Case 42: HR inquiry", drive: "Case 43"}
    assert next(h for h in listed if h["resource"] == mailbox)["placed_by"] == "dpo" and listed[0]["placed_at"]
    points = _cli(tenant.env, "points", mailbox).stdout
    assert "on legal hold since" in points and "by dpo: Case 42: HR inquiry" in points
    released = _cli(tenant.env, "hold", "release", "--resource", drive, "--by", "dpo")
    assert released.returncode == 0 and "hold released (it was: Case 43)" in released.stdout
    assert [h["resource"] for h in json.loads(_cli(tenant.env, "hold", "list", "--json").stdout)] == [mailbox]
    entries = [e for e in tenant.services.audit.list(20)[0] if e["action"].startswith("hold.")]
    assert [(e["action"], e["resource"], e["actor_name"]) for e in entries[:3]] == [
        ("hold.release", drive, "dpo"), ("hold.place", drive, _cli_default_user(tenant)), ("hold.place", mailbox, "dpo")
    ]  # fmt: skip
    assert entries[2]["detail"] == "Case 42: HR inquiry" and "Case 43" in entries[0]["detail"] and entries[0]["at"]


def _cli_default_user(tenant: Tenant) -> str:
    """Who the CLI acts as without --by: the OS user, as the placed hold recorded it."""
    return next(e for e in tenant.services.audit.list(20)[0] if e["detail"] == "Case 43")["actor_name"]


def test_unknown_resources_and_missing_holds_are_refused_in_one_line(tenant: Tenant):
    ghost = "exchange:00000000-0000-0000-0000-00000000dead"
    for args, message in (
        (("place", "--resource", ghost, "--reason", "x"), f"no backup of '{ghost}'"),
        (("release", "--resource", ghost), "is not on legal hold"),
        (("place", "--resource", "nosuch:abc", "--reason", "x"), "unknown workload 'nosuch'"),
        (("place", "--resource", f"onedrive:{tenant.user(1)['id']}", "--reason", "   "), "needs a reason"),
    ):
        done = _cli(tenant.env, "hold", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not any(h["resource"] == ghost for h in tenant.services.holds.all().values())


def test_holds_survive_a_rebuild_of_their_table(tenant: Tenant):
    kept, dropped = (f"{w}:{tenant.user(1)['id']}" for w in ("exchange", "onedrive"))
    assert _cli(tenant.env, "hold", "place", "--resource", kept, "--reason", "Case 44").returncode == 0
    assert _cli(tenant.env, "hold", "place", "--resource", dropped, "--reason", "Case 45").returncode == 0
    assert _cli(tenant.env, "hold", "release", "--resource", dropped).returncode == 0
    before = tenant.services.holds.all()
    settings = tenant.services.settings
    service = TableServiceClient.from_connection_string(settings.storage_connection_string)
    service.delete_table(f"{settings.table_prefix}runs")  # the runs table is lost, holds with it
    report = rebuild_catalog(settings)
    assert report["entries"]["runs"] > 0
    after = tenant.services.holds.all()
    assert after == before and kept in after and dropped not in after
    rows = {r["resource"]: r for r in _hold_rows(tenant)}  # a release rewrites the row (the app cannot delete)
    assert {k for k, r in rows.items() if not r.get("released_at")} == set(before)
    assert rows[dropped]["released_at"] and rows[dropped]["reason"] == "Case 45"
