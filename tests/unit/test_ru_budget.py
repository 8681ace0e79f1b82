"""The SharePoint/OneDrive resource-unit budget (core/graph/ru_budget.py) with an injected clock: what each request
costs as the SharePoint throttling page prices it, how the bucket paces, bursts and queues its spenders, and how it
follows RateLimit-Remaining/Reset and Retry-After. No real time passes: sleeping advances the fake clock."""

from __future__ import annotations

import pytest

from core.graph.ru_budget import MAX_COST, ResourceUnitBudget, request_cost, shared_budget

G = "https://graph.microsoft.com/v1.0"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def budget(per_window: float = 1200, window: float = 60.0) -> tuple[ResourceUnitBudget, FakeTime]:
    fake = FakeTime()
    return ResourceUnitBudget(per_window, window, clock=fake.clock, sleep=fake.sleep), fake


@pytest.mark.parametrize(
    ("method", "path", "cost"),
    [
        ("GET", "drives/d1/items/i1", 1),  # single item
        ("GET", "drives/d1/items/i1/content", 1),  # a download
        ("GET", "drives/d1/root/delta?token=abc", 1),  # delta with a token
        ("GET", "drives/d1/root/delta", 2),  # delta without one
        ("GET", "drives/d1/root/delta?$select=id,name", 2),
        ("GET", "drives/d1/root/delta(token='abc')", 1),
        ("GET", "drives/d1/items/i1/children", 2),  # multi-item
        ("GET", "users/u1/drives", 2),
        ("GET", "users/u1/drive", 1),
        ("GET", "sites?search=*", 2),
        ("GET", "sites/s1/lists/l1/items?$expand=fields", 2),
        ("GET", "sites/s1/lists/l1/items/delta?token=x", 1),
        ("GET", "sites/s1/lists/l1/items/7/versions", 2),
        ("GET", "drives/d1/items/i1/permissions", 5),  # every permission operation
        ("GET", "drives/d1/items/i1?$expand=permissions", 5),
        ("PUT", "drives/d1/items/p1:/a.txt:/content", 2),  # upload
        ("POST", "drives/d1/items/p1:/big.bin:/createUploadSession", 2),
        ("PATCH", "drives/d1/items/i1", 2),
        ("DELETE", "sites/s1/lists/l1/items/7", 2),
        ("GET", "shares/u!abc/driveItem", 1),
    ],
)
def test_costs_follow_the_documented_table(method: str, path: str, cost: int) -> None:
    assert request_cost(method, f"{G}/{path}") == cost
    assert request_cost(method, path) == cost  # a path under the version root prices the same


@pytest.mark.parametrize(
    "path", ["users/u1/messages/delta", "users/u1/mailFolders/inbox/messages", "teams/t1/channels", "users", ""]
)
def test_requests_outside_sharepoint_cost_nothing_here(path: str) -> None:
    assert request_cost("GET", f"{G}/{path}") is None


def test_a_burst_goes_at_once_then_requests_are_paced_at_the_refill_rate() -> None:
    ru, fake = budget(1200, 60.0)
    assert ru.capacity == 60 and ru.rate == pytest.approx((1080 - 60) / 60)  # 90% of the minute, burst included
    for _ in range(60):
        ru.spend(1)
    assert fake.slept == []
    ru.spend(1)
    assert fake.slept == [pytest.approx(1 / ru.rate)]
    assert ru.spent == 61


def test_no_window_ever_spends_more_than_the_budget() -> None:
    ru, fake = budget(100, 2.0)
    stamps: list[tuple[float, int]] = []
    for n in range(400):
        cost = (1, 2, 5)[n % 3]
        ru.spend(cost)
        stamps.append((fake.now, cost))
    for start, _ in stamps:
        in_window = sum(c for t, c in stamps if start <= t < start + 2.0)
        assert in_window <= 100
    assert stamps[-1][0] - stamps[0][0] > 2.0 * (sum(c for _, c in stamps) / 100 - 1)  # and it really paced


def test_concurrent_spenders_queue_in_order_by_debt() -> None:
    ru, _fake = budget(20, 1.0)  # capacity 5, rate 13 RU/s
    waits = [ru.reserve(1) for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == [pytest.approx(n / ru.rate) for n in (1, 2, 3)]


def test_retry_after_pauses_every_spender_and_empties_the_bucket() -> None:
    ru, fake = budget(1200)
    ru.observe(429, {"Retry-After": "3"})
    assert ru.pauses == 1 and ru.tokens() == 0
    ru.spend(1)
    assert sum(fake.slept) == pytest.approx(3)  # the pause (the bucket refills meanwhile: its debt is paid)
    ru.observe(503, {"Retry-After": "0.5"})
    ru.spend(1)
    assert fake.slept[-1] == pytest.approx(0.5)


def test_a_pause_that_starts_while_a_spender_waits_is_waited_out_too() -> None:
    ru, fake = budget(20, 1.0)
    for _ in range(5):
        ru.spend(1)
    wait = ru.reserve(1)
    ru.observe(429, {"Retry-After": "2"})  # another thread's answer, while this one is queued
    fake.sleep(wait)
    start = fake.now
    ru.spend(0)
    assert fake.now >= start + 2 - wait - 1e-9


def test_retry_after_on_a_success_is_not_a_pause() -> None:
    ru, _fake = budget(1200)
    ru.observe(200, {"Retry-After": "30"})
    assert ru.pauses == 0 and ru.tokens() == ru.capacity


def test_ratelimit_remaining_lowers_the_bucket_to_what_the_service_has_left() -> None:
    ru, fake = budget(1200)
    ru.observe(200, {"RateLimit-Limit": "1200", "RateLimit-Remaining": "100", "RateLimit-Reset": "4"})
    # at most 100 RU within the next 4 s, this bucket's refill included
    assert ru.tokens() == pytest.approx(100 - ru.rate * 4)
    start = fake.now
    spent = 0
    while fake.now < start + 4:
        ru.spend(2)
        spent += 2
    assert spent <= 100 + 2


def test_ratelimit_remaining_never_raises_the_bucket() -> None:
    ru, _fake = budget(1200)
    for _ in range(50):
        ru.spend(1)
    before = ru.tokens()
    ru.observe(200, {"RateLimit-Remaining": "1000", "RateLimit-Reset": "1"})
    assert ru.tokens() == pytest.approx(before)


def test_nothing_remaining_pauses_until_the_reset() -> None:
    ru, fake = budget(1200)
    ru.observe(200, {"RateLimit-Limit": "1200", "RateLimit-Remaining": "0", "RateLimit-Reset": "7"})
    ru.spend(1)
    assert fake.now - 1000.0 >= 7


def test_unreadable_headers_change_nothing() -> None:
    ru, _fake = budget(1200)
    ru.observe(200, {"RateLimit-Remaining": "lots", "RateLimit-Reset": "-3"})
    ru.observe(429, {"Retry-After": "soon"})
    assert ru.tokens() == ru.capacity and ru.pauses == 0


def test_small_budgets_still_fit_the_dearest_request() -> None:
    ru, fake = budget(10, 1.0)
    assert ru.capacity == MAX_COST
    ru.spend(5)
    assert fake.slept == []


def test_one_budget_per_tenant_per_process() -> None:
    a = shared_budget("Tenant-A", 600, 60)
    assert shared_budget("tenant-a", 600, 60) is a
    assert shared_budget("tenant-b", 600, 60) is not a


def test_a_budget_needs_units_and_a_window() -> None:
    with pytest.raises(ValueError):
        ResourceUnitBudget(0)
    with pytest.raises(ValueError):
        ResourceUnitBudget(100, 0)
