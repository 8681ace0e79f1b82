"""How the Graph client paces and retries, in one value: `GraphClient(settings, tokens, policy=...)`.

    GraphPolicy
      retry                         RetryPolicy: attempts per request (GRAPH_MAX_ATTEMPTS), exponential backoff with
                                    full jitter, the cap on one Retry-After wait (core/graph/retry.py)
      mailbox_concurrency           requests in flight per mailbox (GRAPH_MAILBOX_CONCURRENCY)
      mailbox_requests_per_10_min   requests per mailbox per 10-minute window (GRAPH_MAILBOX_REQUESTS_PER_10_MIN)
      malformed_body_attempts       GETs of a body that is not a JSON object before MalformedResponse
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


@dataclass(frozen=True)
class GraphPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    mailbox_concurrency: int = 4
    mailbox_requests_per_10_min: int = 10_000
    malformed_body_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep
    scope_of: Callable[[str], str | None] | None = None

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
        )
        return dataclasses.replace(policy, **changes)

    def limiter(self) -> MailboxLimiter:
        """A new per-mailbox limiter with these limits (one per client: one budget per mailbox)."""
        return MailboxLimiter(self.mailbox_concurrency, self.mailbox_requests_per_10_min)
