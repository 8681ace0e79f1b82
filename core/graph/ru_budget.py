"""The tenant-wide SharePoint/OneDrive resource-unit (RU) budget every Graph client of a process spends from.

SharePoint Online limits each application per tenant in resource units per minute (1,200 / 2,400 / 3,600 / 4,800 /
6,000 for tenants of 0-1k / 1k-5k / 5k-15k / 15k-50k / 50k+ licences; since March 2026 one quota for all app
registrations of a vendor), and prices each Microsoft Graph request ("Avoid getting throttled or blocked in
SharePoint Online", https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online):

    1 RU   a single-item query (get an item), a delta with a token, a file download (`/content`)
    2 RU   a multi-item query (children, list items, drives, sites), a delta without a token, create, update,
           delete, upload
    5 RU   every permission operation, `$expand=permissions` included

Throttled requests count too; a throttled request is answered 429 (or 503) with Retry-After, and past ~80% of the
minute's budget answers carry RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset.

`ResourceUnitBudget` is a token bucket over that minute: each request reserves its cost before it is sent (a bucket
in debt makes its caller wait its turn, so concurrent callers queue in order rather than stampede), `observe` lowers
what is left when the service says less remains (RateLimit-Remaining before RateLimit-Reset) and pauses every caller
on a Retry-After. The bucket holds at most 5% of the budget (at least one permission read) and refills so that a burst
plus one window's refill is 90% of the budget: any window of that length stays within it, with a tenth left for
costs we price low and other spenders. `shared_budget` gives every client of a process one bucket per tenant.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from core.graph.retry import parse_retry_after

MAX_COST = 5
_HEADROOM = 0.9  # the share of the budget a full window may spend
_BURST = 0.05  # the share of the budget the bucket holds
_SHAREPOINT_ROOTS = frozenset({"drives", "sites", "shares"})
_OWNERS = frozenset({"users", "groups"})  # /users/{id}/drive(s), /groups/{id}/drive(s)
_COLLECTIONS = frozenset({"children", "items", "drives", "lists", "sites", "columns", "versions", "contenttypes",
                          "getallsites", "getallsites()", "subsites", "followed"})  # fmt: skip
_TOKENS = frozenset({"token", "$deltatoken", "deltatoken", "$skiptoken", "skiptoken"})


def _segments(path: str) -> list[str]:
    parts = [unquote(p) for p in path.split("/") if p]
    if parts and parts[0].lower() in ("v1.0", "beta"):
        parts = parts[1:]
    return parts


def _is_sharepoint(parts: list[str]) -> bool:
    if not parts:
        return False
    root = parts[0].lower()
    if root in _SHAREPOINT_ROOTS:
        return True
    if root == "me":
        return len(parts) > 1 and parts[1].lower() in ("drive", "drives")
    return root in _OWNERS and len(parts) > 2 and parts[2].lower() in ("drive", "drives")


def request_cost(method: str, url: str) -> int | None:
    """The RU a Graph request costs as the SharePoint page prices it; None when it is not a SharePoint/OneDrive
    request (mail, Teams, directory: other budgets). `url` is a Graph URL or a path under the version root."""
    split = urlsplit(url)
    parts = _segments(split.path)
    if not _is_sharepoint(parts):
        return None
    lowered = [p.lower() for p in parts]
    query = parse_qsl(split.query, keep_blank_values=True)
    expand = ",".join(v.lower() for k, v in query if k.lower() in ("$expand", "expand"))
    if "permissions" in lowered or "permissions" in expand:
        return 5
    if method.upper() != "GET":
        return 2
    last = lowered[-1]
    if last == "delta" or last.startswith("delta("):
        with_token = any(k.lower() in _TOKENS for k, _ in query) or "token=" in last
        return 1 if with_token else 2
    if last == "content":
        return 1
    if last in _COLLECTIONS or (last == "sites" and len(lowered) == 1):
        return 2
    return 1


class ResourceUnitBudget:
    """RU per `window` seconds (the minute), spent by every thread that holds this object."""

    def __init__(
        self,
        per_window: float,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shares: int = 1,
    ) -> None:
        if per_window <= 0 or window <= 0 or shares < 1:
            raise ValueError("an RU budget needs a positive amount, window and number of shares")
        self.window = float(window)
        self.shares = shares
        self._size(float(per_window))
        self.factor = 1.0  # of the nominal rate: halved by a throttled answer, regained by a tenth per window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self.spent = 0  # RU reserved so far (every attempt, throttled ones too: the service counts them)
        self.pauses = 0  # Retry-After answers that paused every caller

    def _size(self, per_window: float) -> None:
        self.per_window = per_window
        self.capacity = max(float(MAX_COST), per_window * _BURST)
        self.nominal_rate = max(per_window * _HEADROOM - self.capacity, per_window * 0.1) / self.window  # RU/s

    @property
    def rate(self) -> float:
        """RU per second the bucket refills at now."""
        return self.nominal_rate * self.factor

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._stamp, 0.0)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self.factor = min(1.0, self.factor + 0.1 * elapsed / self.window)
        self._stamp = now

    def reserve(self, cost: int) -> float:
        """Take `cost` RU now (the bucket may go into debt) and return how long the caller must wait first."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= cost
            self.spent += cost
            debt = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(debt, self._paused_until - now, 0.0)

    def spend(self, cost: int) -> None:
        """Wait until `cost` RU may be spent, then return; a pause that starts meanwhile is waited out too."""
        wait = self.reserve(cost)
        while wait > 0:
            self._sleep(wait)
            with self._lock:
                wait = max(self._paused_until - self._clock(), 0.0)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a SharePoint answer: Retry-After (429/503) pauses every caller, empties the bucket and halves
        its rate (once per pause: the answers of requests already in flight do not cut it again); RateLimit-Limit
        below this process's share of it shrinks the budget to that share; RateLimit-Remaining R with
        RateLimit-Reset T lowers the bucket so that at most R RU go out in T seconds."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            retry_after = parse_retry_after(headers.get("Retry-After")) if status in (429, 503) else None
            if retry_after is not None:
                self.pauses += 1
                if now >= self._paused_until:
                    self.factor = max(0.1, self.factor / 2)
                self._paused_until = max(self._paused_until, now + retry_after)
                self._tokens = min(self._tokens, 0.0)
            limit = _number(headers.get("RateLimit-Limit"))
            if limit and limit / self.shares < self.per_window:
                self._size(limit / self.shares)
                self._tokens = min(self._tokens, self.capacity)
            remaining = _number(headers.get("RateLimit-Remaining"))
            if remaining is None:
                return
            reset = _number(headers.get("RateLimit-Reset"))
            reset = self.window if reset is None else reset
            self._tokens = min(self._tokens, remaining - self.rate * reset)
            if remaining <= 0:
                self._paused_until = max(self._paused_until, now + reset)

    def tokens(self) -> float:
        """RU the bucket holds now (negative: in debt), for tests and reports."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


_SHARED: dict[tuple[str, float, float, int], ResourceUnitBudget] = {}
_SHARED_LOCK = threading.Lock()


def shared_budget(tenant: str, per_window: float, window: float = 60.0, shares: int = 1) -> ResourceUnitBudget:
    """The process's one budget for `tenant` (at that size): every GraphClient of every activity spends from it.
    `shares`: how many processes split the tenant's budget (this one spends `per_window`, its share)."""
    key = (tenant.lower(), float(per_window), float(window), shares)
    with _SHARED_LOCK:
        budget = _SHARED.get(key)
        if budget is None:
            budget = _SHARED[key] = ResourceUnitBudget(per_window, window, shares=shares)
        return budget
