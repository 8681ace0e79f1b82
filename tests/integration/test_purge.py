"""The purge (core/lifecycle/purge.py) against Azurite and the simulator, with backups at simulated times: a GFS
policy over 40 runs keeps exactly its points, each restoring byte-identical; marks wait out the grace and are
re-checked when it is over; a held resource loses nothing; a blob another mailbox still needs survives; an immutable
blob waits until its protection ends; rebuild-catalog brings nothing removed back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime as dt
from datetime import timedelta

import pytest

from core.lifecycle.purge import purge, sweep_blobs
from core.lifecycle.purge_cli import dry_run
from core.lifecycle.purge_plan import plan_resource
from core.planning import run_time
from core.rebuild_catalog import rebuild_catalog
from core.retention import Point, keep, parse_policy
from core.retention_cli import dry_run as retention_dry_run
from core.verify import verify
from tests.conftest import isolated_storage
from tests.integration.purge_runs import (
    LATER,
    NOW,
    backup_at,
    fresh_services,
    referenced_blobs,
    restored_as_of,
    simulated_history,
    stored_blobs,
    usable_points,
    with_settings,
)
from tests.integration.tenant import Tenant, open_tenant
from tests.integration.test_cli import _cli

GFS = "all=2d, daily=7, weekly=4, monthly=6, yearly=2"
DAYS = [700, 610, 520, 430, 390, 350, 310, 280, 250, 220, 190, 160, 130, 110, 95, 80, 66, 52, 41, 33,
        27, 22, 18, 15, 13, 11, 9.6, 8.4, 7.2, 6.5, 5.8, 5.1, 4.4, 3.7, 3.1, 1.4, 1.1, 0.8, 0.5, 0.1]  # fmt: skip
SHARED_MIME = (
    b"From: Legal <legal@contoso.example>\r\nTo: all@contoso.example\r\nSubject: The policy, again\r\n"
    b"Message-ID: <purge-shared-1@contoso.example>\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + b"One message in two mailboxes.\r\n" * 300
)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory, azurite) -> Iterator[Tenant]:
    settings = {"BACKUP_WORKLOADS": "exchange", "BACKUP_ARCHIVE_MAILBOXES": "false"}
    t = open_tenant(tmp_path_factory.mktemp("purge") / "sim", isolated_storage(azurite), settings, users=6,
                    messages=4, seed=61, contacts=0, events=0, tasks=0)  # fmt: skip
    yield t
    t.close()


def _override(resource: str, terms: str) -> str:
    return f"{resource} = {terms}"


def test_a_gfs_policy_over_40_runs_keeps_exactly_its_points_and_each_restores_byte_identical(tenant, azurite):
    assert len(DAYS) == 40
    user = tenant.user(0)["id"]
    resource = f"exchange:{user}"
    # the workload's own policy would keep one point: the resource's override is what applies
    settings = {"RETENTION_POLICIES": "default: daily=1", "RETENTION_OVERRIDES": _override(resource, GFS),
                "PURGE_GRACE_HOURS": "0"}  # fmt: skip
    with fresh_services(tenant, azurite, **settings) as services:
        held = simulated_history(tenant, services, user, DAYS, seed=7)
        expected = keep([Point(r, run_time(r), True) for r in held], parse_policy(GFS), LATER)
        # the daily, weekly and monthly tiers each keep a point of their own whatever today's date (yearly only on
        # some dates: its newest point of last year may be a monthly one), and the kept set is far from all 40
        assert {"daily", "weekly", "monthly"} <= {why.split()[0] for why in expected.values()}, expected
        assert 9 <= len(expected) <= 25, expected

        before = dry_run(services, [resource], LATER)
        assert [{k: v for k, v in row.items() if k != "held"} for row in before["resources"]] == [
            plan_resource(services, resource, LATER).row()
        ]
        today = dry_run(services, [resource])["resources"][0]  # as of now: the `retention` dry run's time
        assert retention_dry_run(services, [resource])[0] == {k: v for k, v in today.items() if k != "held"}
        assert before["resources"][0]["versions"] > 0 and before["blobs"] > 0

        summary = purge(services, [resource], now=LATER)
        assert summary["status"] == "succeeded", summary
        assert sorted(usable_points(services, resource)) == sorted(expected)
        assert summary["points"] == 40 - len(expected) == len(before["resources"][0]["expiring"])
        assert summary["versions"] == before["resources"][0]["versions"] and summary["blobs"] == before["blobs"]
        for run_id in expected:  # every kept point restores what the tenant held then, byte for byte
            assert restored_as_of(tenant, services, user, run_id) == held[run_id], run_id
        assert verify(services, [resource])["status"] == "ok"
        after = plan_resource(services, resource, LATER, versions=True)
        assert after.expiring == [] and after.expired == []  # nothing expired is left
        assert stored_blobs(services) == referenced_blobs(services)  # and no blob nothing references
        recorded = services.runs.purges.latest(1)[0]
        assert recorded["purge_id"] == summary["purge_id"] and recorded["points"] == summary["points"]
        audited = services.audit.list(5)[0][0]
        assert audited["action"] == "purge" and audited["counts"]["versions"] == summary["versions"]

        again = purge(services, [resource], now=LATER)  # idempotent: nothing more to do
        assert (again["points"], again["versions"], again["blobs"], again["marked"]) == (0, 0, 0, 0)


def test_marks_wait_out_the_grace_and_are_checked_again_when_it_ends(tenant, azurite):
    user = tenant.user(1)["id"]
    resource = f"exchange:{user}"
    daily = {"RETENTION_OVERRIDES": _override(resource, "daily=1"), "PURGE_GRACE_HOURS": "24"}
    with fresh_services(tenant, azurite, **daily) as services:
        held = simulated_history(tenant, services, user, [4, 3, 2, 1], seed=11)
        newest = max(held)
        first = purge(services, now=LATER)
        assert first["marked"] > 0 and (first["points"], first["versions"], first["blobs"]) == (0, 0, 0)
        assert len(usable_points(services, resource)) == 4
        # the policy changes before the grace ends: what became kept is unmarked, nothing goes
        keep_all = with_settings(services, retention_overrides=_override(resource, "all=3650d"))
        second = purge(keep_all, now=LATER + timedelta(hours=25))
        assert (second["points"], second["versions"]) == (0, 0) and second["unmarked"] >= 3
        assert services.runs.purge_marks.of("point", resource) == {}
        # back to one point a day: marked afresh, so removed only a grace period after that
        assert purge(services, now=LATER + timedelta(hours=26))["points"] == 0
        done = purge(services, now=LATER + timedelta(hours=51))
        assert done["points"] == 3 and done["versions"] > 0 and done["blobs"] > 0
        assert usable_points(services, resource) == [newest]
        assert restored_as_of(tenant, services, user, newest) == held[newest]
        assert stored_blobs(services) == referenced_blobs(services)


def test_a_held_resource_loses_nothing_and_is_reported(tenant, azurite):
    user = tenant.user(2)["id"]
    resource = f"exchange:{user}"
    with fresh_services(tenant, azurite, RETENTION_OVERRIDES=_override(resource, "daily=1"),
                        PURGE_GRACE_HOURS="0") as services:  # fmt: skip
        simulated_history(tenant, services, user, [5, 4, 3, 2, 1], seed=13)
        versions, blobs = len(list(services.catalog.all_versions(resource))), stored_blobs(services)
        services.holds.place(resource, "counsel@contoso.example", "litigation 2026-17")
        assert dry_run(services, now=LATER)["resources"][0]["held"] is True
        summary = purge(services, now=LATER)
        assert summary["held"] == 1 and summary["held_resources"] == [resource]
        assert (summary["points"], summary["versions"], summary["blobs"], summary["marked"]) == (0, 0, 0, 0)
        assert len(usable_points(services, resource)) == 5
        assert len(list(services.catalog.all_versions(resource))) == versions and stored_blobs(services) == blobs
        services.holds.release(resource)
        released = purge(services, now=LATER)
        assert released["held"] == 0 and released["points"] == 4 and released["versions"] > 0


def test_a_blob_an_expired_version_shares_with_a_kept_one_in_another_mailbox_survives(tenant, azurite):
    a, b = tenant.user(3)["id"], tenant.user(4)["id"]
    control = tenant.sim.control
    mine, theirs = control.add_message(a, mime=SHARED_MIME), control.add_message(b, mime=SHARED_MIME)
    assert mine["sha256"] == theirs["sha256"]
    resources = [f"exchange:{a}", f"exchange:{b}"]
    with fresh_services(tenant, azurite, RETENTION_OVERRIDES=_override(resources[0], "daily=1"),
                        PURGE_GRACE_HOURS="0") as services:  # fmt: skip
        backup_at(services, NOW - timedelta(days=3), resources)
        control.delete_message(a, mine["id"])
        backup_at(services, NOW - timedelta(days=2), resources)
        newest = backup_at(services, NOW - timedelta(days=1), resources)
        summary = purge(services, now=LATER)
        assert summary["points"] == 2 and summary["versions"] >= 1 and summary["still_referenced"] >= 1
        assert services.catalog.history(resources[0], "mail", mine["id"]) == []  # A's version is gone
        assert services.content.read(mine["sha256"]) == SHARED_MIME  # B's still needs the blob
        assert restored_as_of(tenant, services, b, newest) == tenant.live_messages(b)
        assert verify(services)["status"] == "ok"


class _ProtectedUntil:
    """A test adapter of the immutability port: every blob protected until one time."""

    def __init__(self, until: dt) -> None:
        self.until = until

    def protected_until(self, blob_names):
        return dict.fromkeys(blob_names, self.until)

    def protection_of(self, blob_names):
        return dict.fromkeys(blob_names, self.until)

    def extend(self, blob_name: str, until: dt) -> None:
        return None


def test_an_immutable_blob_keeps_its_mark_and_goes_once_its_protection_ends(tenant, azurite):
    user = tenant.user(5)["id"]
    resource = f"exchange:{user}"
    with fresh_services(tenant, azurite, RETENTION_OVERRIDES=_override(resource, "daily=1"),
                        PURGE_GRACE_HOURS="0") as services:  # fmt: skip
        held = simulated_history(tenant, services, user, [3, 2, 1], seed=17, changes=4)
        protected = _ProtectedUntil(NOW + timedelta(days=10))
        services.immutability = protected
        first = purge(services, now=LATER)
        assert first["points"] == 2 and first["versions"] > 0 and first["blobs"] == 0
        assert first["still_protected"] > 0 and first["status"] == "succeeded"
        waiting = set(services.runs.purge_marks.of("blob"))
        assert len(waiting) == first["still_protected"] and waiting <= stored_blobs(services)
        assert not waiting & referenced_blobs(services)
        cursor, calls, seen = "", 0, 0  # a sweep in slices of one walks past the protected marks to the end
        while True:
            calls += 1
            swept = sweep_blobs(services, LATER, after=cursor, limit=1)
            seen += swept["still_protected"]
            if not swept["more"]:
                break
            cursor = swept["next"]
        assert calls == seen == len(waiting)
        assert purge(services, now=LATER + timedelta(days=5))["blobs"] == 0  # still protected
        protected.until = NOW + timedelta(days=8)
        done = purge(services, now=NOW + timedelta(days=8, seconds=1))
        assert done["blobs"] == len(waiting) and done["bytes"] > 0 and done["still_protected"] == 0
        assert services.runs.purge_marks.of("blob") == {} and stored_blobs(services) == referenced_blobs(services)
        assert restored_as_of(tenant, services, user, max(held)) == held[max(held)]


def test_rebuild_catalog_after_a_purge_brings_nothing_removed_back(tenant, azurite):
    user = tenant.user(1)["id"]
    resource = f"exchange:{user}"
    with fresh_services(tenant, azurite, RETENTION_OVERRIDES=_override(resource, "daily=1"),
                        PURGE_GRACE_HOURS="0") as services:  # fmt: skip
        held = simulated_history(tenant, services, user, [3, 2, 1], seed=19)
        assert purge(services, now=LATER)["points"] == 2

        def state() -> tuple[list[str], list]:
            versions = sorted(services.catalog.all_versions(resource), key=lambda v: (v.category, v.item_id))
            return [p["run_id"] for p in services.runs.points(resource)], versions

        after = state()
        report = rebuild_catalog(services.settings)
        assert report["operations"]["catalog"] > 0
        assert state() == after
        assert restored_as_of(tenant, services, user, max(held)) == held[max(held)]


def test_the_cli_purges_lists_purges_and_refuses_an_unknown_resource(tenant, azurite):
    user = tenant.user(2)["id"]
    resource = f"exchange:{user}"
    settings = {"RETENTION_OVERRIDES": _override(resource, "daily=1"), "PURGE_GRACE_HOURS": "0"}
    with fresh_services(tenant, azurite, **settings) as services:
        simulated_history(tenant, services, user, [3, 2, 1], seed=23)
        storage = {"BACKUP_CONTAINER": services.settings.container}
        storage["BACKUP_TABLE_PREFIX"] = services.settings.table_prefix
        env = {**tenant.env, **storage, **settings}
        shown = _cli(env, "purge", "--dry-run")
        assert shown.returncode == 0 and f"{resource} (all=0d, daily=1): 2 points and" in shown.stdout
        assert "blobs would go (3 of them still immutable)" in shown.stdout  # written today: IMMUTABILITY_DAYS
        assert len(usable_points(services, resource)) == 3  # a dry run changes nothing
        done = _cli(env, "purge", "--json")
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["points"], summary["blobs"], summary["still_protected"]) == (2, 0, 3)
        listed = _cli(env, "purges")
        assert listed.returncode == 0 and "2 points" in listed.stdout and "(cli," in listed.stdout
        refused = _cli(env, "purge", "--resource", "exchange:nobody")
        assert refused.returncode == 2 and "no backup of exchange:nobody" in refused.stderr
