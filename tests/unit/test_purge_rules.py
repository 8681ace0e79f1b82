"""The purge's pure rules: RETENTION_OVERRIDES parsed and validated at start, a resource's policy chosen, which
versions a set of points reaches, what a plan expires, counts summed and a summary's status, the purge identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.config import load_settings
from core.errors import ConfigError
from core.lifecycle.purge import add_up, failed_resource, summarize
from core.lifecycle.purge_identity import purge_settings
from core.lifecycle.purge_plan import expired_versions, reached
from core.retention import Policy, parse_overrides, parse_policies, policy_of_resource
from core.storage.catalog import ItemVersion
from core.storage.purge_marks import Mark
from tests.unit.test_config import BASE

R1, R2, R3, R4 = "20260101T000000000000Z", "20260201T000000000000Z", "20260301T000000000000Z", "20260401T000000000000Z"


def test_overrides_replace_a_resources_workload_policy():
    overrides = parse_overrides("exchange:u1 = all=3650d; sharepoint:site,a,b = yearly=10 ;")
    assert overrides == {"exchange:u1": Policy(all_days=3650), "sharepoint:site,a,b": Policy(yearly=10)}
    policies = parse_policies("default: daily=7; exchange: weekly=4")
    assert policy_of_resource(policies, overrides, "exchange:u1") == Policy(all_days=3650)
    assert policy_of_resource(policies, overrides, "exchange:u2") == Policy(weekly=4)
    assert policy_of_resource(policies, overrides, "onedrive:u1") == Policy(daily=7)
    assert policy_of_resource({}, {}, "onedrive:u1") is None
    assert parse_overrides("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exchange:u1", "must read '<workload>:<id> = <terms>'"),
        ("u1 = daily=3", "must read"),
        ("exchange: = daily=3", "must read"),
        ("mailboxes:u1 = daily=3", "unknown workload 'mailboxes'"),
        ("exchange:u1 = hourly=3", "retention term 'hourly=3'"),
    ],
)
def test_a_bad_override_is_a_settings_error_named_at_start(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_overrides(text)
    with pytest.raises(ConfigError, match=message):
        load_settings({**BASE, "RETENTION_OVERRIDES": text})


def _v(first: str, deleted: str = "", item: str = "m") -> ItemVersion:
    return ItemVersion("mail", item, first, deleted_run=deleted, content_hash="a" * 64)


def test_a_version_is_reached_by_a_point_it_was_live_at():
    runs = [R2, R4]
    assert reached(_v(R1, R3), runs)  # live at R2
    assert not reached(_v(R3, R4), runs)  # first seen at R3, gone by R4
    assert reached(_v(R3), runs)  # still live: R4 holds it
    assert not reached(_v(R1, R2), runs)  # ended at R2 exactly: R2 no longer holds it
    assert not reached(_v(R1, R3), [])


def test_only_ended_versions_no_kept_point_reaches_expire_and_none_of_a_run_without_a_point():
    versions = [_v(R1, R2, "gone"), _v(R1, "", "live"), _v(R2, R4, "kept"), _v(R1, R4, "late")]
    # kept: R3 only; the newest point is R3 (R4 is a run still going)
    assert [v.item_id for v in expired_versions(versions, [R3], newest=R3)] == ["gone"]
    assert expired_versions(versions, [R1, R3], newest=R4) == []  # R1 kept again: 'gone' is reached


def test_counts_are_summed_and_a_summary_says_partial_when_something_waits():
    parts = [{"resources": 1, "points": 2, "versions": 5, "held_resources": []},
             {"resources": 1, "held": 1, "held_resources": ["exchange:h"]},
             failed_resource("exchange:f", "storage unreachable"),
             {"resources": 0, "blobs": 3, "bytes": 300}]  # fmt: skip
    totals = add_up(parts)
    assert (totals["resources"], totals["points"], totals["versions"], totals["blobs"]) == (3, 2, 5, 3)
    assert totals["held_resources"] == ["exchange:h"] and "exchange:f: storage unreachable" in totals["error"]
    assert summarize("p", "a", "b", "cli", totals)["status"] == "partial"
    assert summarize("p", "a", "b", "cli", add_up(parts[:2]))["status"] == "succeeded"
    assert summarize("p", "a", "b", "cli", add_up([{"deferred": 4}]))["status"] == "partial"


def test_a_mark_is_due_once_its_grace_has_passed():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    mark = Mark("point", "exchange:u", R1, at.isoformat())
    assert mark.due(at) and mark.due(at + timedelta(hours=1)) and not mark.due(at - timedelta(seconds=1))
    assert not Mark("point", "exchange:u", R1).due(at)


def test_the_purge_reaches_storage_as_its_own_identity():
    settings = load_settings({**BASE, "AZURE_CLIENT_ID": "backup-id", "PURGE_CLIENT_ID": "purge-id"})
    assert purge_settings(settings).managed_identity_client_id == "purge-id"
    plain = load_settings(BASE)
    assert purge_settings(plain) is plain
