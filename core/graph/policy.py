"""How the Graph client paces and retries, in one value: `GraphClient(settings, tokens, policy=...)`.

    GraphPolicy
      retry                         RetryPolicy: attempts per request (GRAPH_MAX_ATTEMPTS), exponential backoff with
                                    full jitter, the cap on one Retry-After wait (core/graph/retry.py)
      mailbox_concurrency           requests in flight per mailbox (GRAPH_MAILBOX_CONCURRENCY)
      mailbox_requests_per_10_min   requests per mailbox per 10-minute window (GRAPH_MAILBOX_REQUESTS_PER_10_MIN)
      malformed_body_attempts       GETs of a body that is not a JSON object before MalformedResponse
      sharepoint_ru_per_window      this process's share of the tenant's SharePoint/OneDrive RU per minute
                                    (GRAPH_SHAREPOINT_RU_PER_MINUTE / GRAPH_SHAREPOINT_RU_SHARES; 0: no budget)
      sharepoint_ru_shares          GRAPH_SHAREPOINT_RU_SHARES (a RateLimit-Limit answer is split by it too)
      sharepoint_ru_window          the minute, in seconds (GRAPH_SHAREPOINT_RU_WINDOW_SECONDS; core/graph/ru_budget.py)
      sleep                         how a retry waits (tests record it)
      scope_of                      the budget a request URL counts against (default: as the workloads declare
                                    it, core/workloads/registry.py throttle_scope: Exchange's per-mailbox budget)

Which answers are retried (429, 503, 504; transport errors; never a write that may have happened) is Graph's
contract, not a policy: see core/graph/client.py and core/graph/retry.py.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.config import Settings
from core.graph.limiter import MailboxLimiter
from core.graph.retry import RetryPolicy
from core.graph.ru_budget import ResourceUnitBudget, shared_budget


@dataclass(frozen=True)
class GraphPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    mailbox_concurrency: int = 4
    mailbox_requests_per_10_min: int = 10_000
    malformed_body_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep
    scope_of: Callable[[str], str | None] | None = None
    sharepoint_ru_per_window: float = 0.0
    sharepoint_ru_window: float = 60.0
    sharepoint_ru_shares: int = 1

    def scope(self, url: str) -> str | None:
        """The budget (e.g. the mailbox) `url` counts against; None: only the app's own limits."""
        if self.scope_of is not None:
            return self.scope_of(url)
        from core.workloads.registry import throttle_scope  # the registry imports every workload: not at import

        return throttle_scope(url)

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> GraphPolicy:
        """The policy the settings describe (what GraphClient uses when given none), with `changes` applied."""
        policy = cls(
            retry=RetryPolicy(max_attempts=settings.max_attempts),
            mailbox_concurrency=settings.mailbox_concurrency,
            mailbox_requests_per_10_min=settings.mailbox_requests_per_10_min,
            sharepoint_ru_per_window=settings.sharepoint_ru_per_minute / settings.sharepoint_ru_shares,
            sharepoint_ru_window=float(settings.sharepoint_ru_window_seconds),
            sharepoint_ru_shares=settings.sharepoint_ru_shares,
        )
        return dataclasses.replace(policy, **changes)

    def limiter(self) -> MailboxLimiter:
        """A new per-mailbox limiter with these limits (one per client: one budget per mailbox)."""
        return MailboxLimiter(self.mailbox_concurrency, self.mailbox_requests_per_10_min)

    def resource_units(self, tenant: str) -> ResourceUnitBudget | None:
        """The process-wide RU budget of `tenant`'s SharePoint/OneDrive (one for every client); None: unbudgeted."""
        if self.sharepoint_ru_per_window <= 0:
            return None
        return shared_budget(
            tenant, self.sharepoint_ru_per_window, self.sharepoint_ru_window, self.sharepoint_ru_shares
        )
