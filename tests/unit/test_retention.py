"""GFS retention (core/retention.py): which of 40 days of twice-daily points a policy keeps, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ConfigError
from core.planning import new_run_id
from core.retention import Point, Policy, keep, parse_policies, parse_policy, policy_for

NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # a Wednesday


def _points(days: int = 40) -> list[Point]:
    """Every day at 00:00 and 12:00 UTC, from `days` days ago up to today 12:00 (81 points)."""
    start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC) - timedelta(days=days)
    times = [start + timedelta(hours=12 * n) for n in range(2 * days + 1)]
    return [Point(new_run_id(t), t, True) for t in times]


def _at(text: str) -> str:
    return new_run_id(datetime.fromisoformat(text).replace(tzinfo=UTC))


def test_a_gfs_policy_keeps_exactly_the_points_it_should():
    kept = keep(_points(), Policy(all_days=2, daily=5, weekly=4, monthly=3), NOW)
    expected = {
        # within 2 days: from 2026-11-30 12:30 on
        _at("2026-12-01T00:00"), _at("2026-12-01T12:00"), _at("2026-12-02T00:00"), _at("2026-12-02T12:00"),
        # the newest of each of the last 5 days (Nov 28 .. Dec 2): Nov 28, 29, 30 are new
        _at("2026-11-28T12:00"), _at("2026-11-29T12:00"), _at("2026-11-30T12:00"),
        # the newest of each of the last 4 ISO weeks (W49 from Nov 30, W48, W47, W46): W47, W46 are new
        _at("2026-11-22T12:00"), _at("2026-11-15T12:00"),
        # the newest of each of the last 3 months (Dec, Nov, Oct): Oct 31 is new
        _at("2026-10-31T12:00"),
    }  # fmt: skip
    assert set(kept) == expected
    assert kept[_at("2026-12-02T12:00")] == "newest usable point"
    assert kept[_at("2026-11-22T12:00")] == "weekly 2026-47"
    assert kept[_at("2026-10-31T12:00")] == "monthly 2026-10"
    assert kept[_at("2026-12-01T00:00")] == "within 2 days"


def test_the_newest_usable_point_is_kept_however_old_and_failed_points_never_count():
    old = [Point(new_run_id(NOW - timedelta(days=400 + n)), NOW - timedelta(days=400 + n), True) for n in range(3)]
    failed = Point(new_run_id(NOW - timedelta(hours=1)), NOW - timedelta(hours=1), False)
    kept = keep([*old, failed], Policy(all_days=30, daily=7), NOW)
    assert kept == {old[0].run_id: "newest usable point"}  # the failed point holds nothing usable


def test_no_policy_keeps_every_point():
    points = _points(3)
    assert set(keep(points, None, NOW)) == {p.run_id for p in points}


def test_policies_parse_per_workload_and_bad_terms_are_named():
    policies = parse_policies("default: all=30d, daily=30, weekly=12, monthly=12, yearly=7; teams: all=90d")
    assert policies["default"] == Policy(30, 30, 12, 12, 7)
    assert policy_for(policies, "teams") == Policy(all_days=90)
    assert policy_for(policies, "exchange") == policies["default"]
    assert policy_for(parse_policies(""), "exchange") is None
    assert parse_policy("weekly = 4").describe() == "all=0d, weekly=4"
    for bad, named in (("daily=x", "daily=x"), ("all=30", "all=30"), ("hourly=3", "hourly=3")):
        with pytest.raises(ConfigError, match=named):
            parse_policy(bad)
    with pytest.raises(ConfigError, match="must read"):
        parse_policies("all=30d")
