import random
from datetime import UTC, datetime

from core.graph.retry import RetryPolicy, parse_retry_after


def test_retry_after_whole_and_decimal_seconds():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(" 2 ") == 2.0


def test_retry_after_http_date_is_relative_to_now():
    now = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 22 Nov 2026 06:00:07 GMT", now=now) == 7.0


def test_retry_after_absent_garbage_or_past():
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-4") == 0.0


def test_policy_prefers_retry_after_and_caps_it():
    policy = RetryPolicy(max_retry_after=10)
    assert policy.delay(1, "1.5") == 1.5
    assert policy.delay(1, "900") == 10


def test_backoff_grows_exponentially_with_jitter_under_a_cap():
    policy = RetryPolicy(base_delay=1, max_delay=8)
    rng = random.Random(7)
    samples = {attempt: [policy.backoff(attempt, rng) for _ in range(200)] for attempt in (1, 2, 3, 6)}
    assert all(0 <= s <= 1 for s in samples[1])
    assert all(0 <= s <= 4 for s in samples[3])
    assert all(0 <= s <= 8 for s in samples[6])
    assert max(samples[3]) > 2  # it does grow
    assert len(set(samples[2])) > 100  # and is jittered
