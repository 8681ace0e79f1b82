"""Realism knobs: latency, per-mailbox concurrency and rate limits, injected faults, and request statistics."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

KINDS = ("token", "users", "folders", "delta", "value", "message_get", "messages", "create", "mailboxsettings",
         "other", "batch")  # fmt: skip  # batch: a $batch envelope (graphsim/batch.py)
DRIVE_KINDS = ("drives", "sites", "drive_item", "children", "permissions", "drive_delta", "download_redirect",
               "download", "upload", "upload_session", "upload_fragment", "drive_create", "drive_update",
               "drive_delete")  # fmt: skip
PIM_KINDS = ("contact_folders", "contacts", "contacts_delta", "photo", "calendars", "events", "events_delta",
             "instances", "attachments", "attachment_value", "attachment_session", "attachment_upload", "pim_create",
             "pim_update", "pim_delete")  # fmt: skip
MAILBOX_API_KINDS = ("mailbox_folders", "mailbox_items", "mailbox_export", "mailbox_import_session", "mailbox_import",
                     "mailbox_import_with_authorization")  # fmt: skip  # graphsim/mailbox_import/
FAULT_KINDS = ("throttle", "mailbox", "corrupt_message", "delta_page", "drop_download", "fail_upload_fragment",
               "reset_response", "not_found")  # fmt: skip
LINK_STYLES = ("query", "function")


def parse_rate_limit(text: str | None) -> tuple[int, float] | None:
    """'N/SECONDS' (e.g. '10000/600') -> (N, SECONDS); 'none', '' or None -> None."""
    if text is None or str(text).strip().lower() in ("", "none", "off"):
        return None
    count, _, window = str(text).partition("/")
    n, w = int(count), float(window or 600)
    if n < 1 or w <= 0:
        raise ValueError(f"rate limit must be N/SECONDS with N >= 1, got {text!r}")
    return n, w


def format_retry_after(seconds: float) -> str:
    """Whole seconds when whole, else one decimal rounded up (e.g. '0.5'), never below 0.1."""
    tenths = max(1, math.ceil(seconds * 10 - 1e-9))
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


@dataclass
class Config:
    latency_ms: float = 0.0
    mailbox_concurrency: int = 4
    rate_limit: tuple[int, float] | None = None
    token_lifetime: int = 3600
    link_style: str = "query"  # mail, contact and calendarView delta links: see graphsim/delta_links.py

    def to_json(self) -> dict[str, Any]:
        rate = f"{self.rate_limit[0]}/{self.rate_limit[1]:g}" if self.rate_limit else None
        return {"latency_ms": self.latency_ms, "mailbox_concurrency": self.mailbox_concurrency,
                "rate_limit": rate, "token_lifetime": self.token_lifetime, "link_style": self.link_style}  # fmt: skip


@dataclass
class Fault:
    """One injected fault. Spec (JSON): {"kind": ..., plus}

    - throttle: count (K next Graph requests), status 429|503 (or 500: a server error), retry_after "2" | "0.5" |
      null, optional user, endpoint (a request kind; "batch" without a user: a $batch envelope, graphsim/batch.py)
    - mailbox: user, status 500|403 (every request under /users/{user}/ until cleared)
    - corrupt_message: user, message ($value answers 500 ErrorInternalServerError every time)
    - delta_page: user, optional folder, mode "invalid_json" | "no_value" | "empty", count (default 1)
    - drop_download: after_bytes (the connection drops after that many body bytes), optional item, count (default 1)
    - fail_upload_fragment: optional item (an upload's file name or target item id), status 500|503 (default 500),
      count (default 1); the fragment is refused and none of its bytes are kept
    - reset_response: ratio (0 < r <= 1, default 1) of Graph requests, optional user, methods (default all),
      seed (default 1), optional count: the request is carried out in full, its status line and headers are sent,
      and the connection is then dropped before the body, so the client cannot know what happened (a write
      that may have landed). Which requests are hit follows a seeded random sequence: runs repeat exactly.
    - not_found: optional user, optional item (an id in the request's path: a message, event, contact, attachment,
      drive item), optional endpoint (a request kind: "value" for a message's MIME, "attachments", "photo",
      "events", ...), count (default 1; null: every time): the request answers 404 although the item exists. Graph
      documents 404 as "the requested resource doesn't exist" (https://learn.microsoft.com/graph/errors), yet a
      read served by a replica that has not caught up yet answers it for an item that does: a 404 on content is no
      proof of deletion until the item is read by id.
    """

    id: int
    kind: str
    user: str | None = None
    folder: str | None = None
    message: str | None = None
    endpoint: str | None = None
    status: int = 429
    retry_after: str | None = None
    count: int | None = None
    mode: str = "invalid_json"
    item: str | None = None
    after_bytes: int | None = None
    ratio: float | None = None
    methods: list[str] | None = None
    seed: int | None = None
    hits: int = 0
    _rng: Any = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and not k.startswith("_")}


class Faults:
    def __init__(self) -> None:
        self.active: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        retry_after = spec.get("retry_after")
        statuses = {"throttle": 429, "mailbox": 500, "corrupt_message": 500, "delta_page": 200, "drop_download": 200}
        default_status = statuses.get(kind, 500)
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            user=spec.get("user"),
            folder=spec.get("folder"),
            message=spec.get("message"),
            endpoint=spec.get("endpoint"),
            status=int(spec.get("status", default_status)),
            retry_after=None if retry_after is None else str(retry_after),
            count=spec.get("count", None if kind in ("mailbox", "corrupt_message") else 1),
            mode=str(spec.get("mode", "invalid_json")),
            item=spec.get("item"),
            after_bytes=int(spec.get("after_bytes", 0)) if kind == "drop_download" else None,
        )
        if kind == "reset_response":
            fault.count = spec.get("count")
            fault.ratio = float(spec.get("ratio", 1.0))
            if not 0 < fault.ratio <= 1:
                raise ValueError("reset_response ratio must be in (0, 1]")
            fault.methods = [str(m).upper() for m in spec.get("methods") or []] or None
            fault.seed = int(spec.get("seed", 1))
            fault._rng = random.Random(fault.seed)
        if kind in ("mailbox", "corrupt_message", "delta_page") and not fault.user:
            raise ValueError(f"fault kind {kind!r} needs 'user'")
        if kind == "corrupt_message" and not fault.message:
            raise ValueError("fault kind 'corrupt_message' needs 'message'")
        if kind == "delta_page" and fault.mode not in ("invalid_json", "no_value", "empty"):
            raise ValueError("delta_page mode must be invalid_json, no_value or empty")
        self.active.append(fault)
        return fault

    def clear(self) -> None:
        self.active.clear()

    def _consume(self, fault: Fault) -> None:
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self.active.remove(fault)

    def take_throttle(self, user_id: str | None, kind: str) -> Fault | None:
        for fault in self.active:
            if fault.kind == "throttle" and fault.user in (None, user_id) and fault.endpoint in (None, kind):
                self._consume(fault)
                return fault
        return None

    def mailbox_failure(self, user_id: str) -> Fault | None:
        return next((f for f in self.active if f.kind == "mailbox" and f.user == user_id), None)

    def is_corrupt(self, user_id: str, message_id: str) -> bool:
        return any(f.kind == "corrupt_message" and f.user == user_id and f.message == message_id for f in self.active)

    def take_drive_fault(self, kind: str, *item_refs: str) -> Fault | None:
        """The first drop_download / fail_upload_fragment fault matching one of the refs (or any), consumed."""
        for fault in self.active:
            if fault.kind == kind and (fault.item is None or fault.item in item_refs):
                self._consume(fault)
                return fault
        return None

    def take_reset(self, user_id: str | None, method: str) -> Fault | None:
        """The reset_response fault that hits this request (drawn from its seeded sequence), if any."""
        for fault in self.active:
            if fault.kind != "reset_response" or fault.user not in (None, user_id):
                continue
            if fault.methods is not None and method.upper() not in fault.methods:
                continue
            if fault._rng.random() < (fault.ratio or 1.0):
                fault.hits += 1
                self._consume(fault)
                return fault
        return None

    def take_not_found(self, user_id: str | None, kind: str, refs: list[str]) -> Fault | None:
        """The not_found fault that hits this request (its user, kind and an id in its path match), consumed."""
        for fault in self.active:
            if fault.kind != "not_found" or fault.user not in (None, user_id) or fault.endpoint not in (None, kind):
                continue
            if fault.item is None or fault.item in refs:
                self._consume(fault)
                return fault
        return None

    def take_delta_page(self, user_id: str, folder_id: str) -> Fault | None:
        for fault in self.active:
            if fault.kind == "delta_page" and fault.user == user_id and fault.folder in (None, folder_id):
                self._consume(fault)
                return fault
        return None


@dataclass
class Stats:
    total: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    writes: int = 0  # Graph requests that may change the tenant (POST, PATCH, PUT, DELETE)
    resets: int = 0  # responses dropped after their headers by the reset_response fault
    batched: int = 0  # requests carried inside a $batch (counted in total and by kind too): HTTP = total - batched

    def to_json(self, in_flight: dict[str, int]) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_kind": {k: self.by_kind.get(k, 0) for k in KINDS + DRIVE_KINDS + PIM_KINDS + MAILBOX_API_KINDS},
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "answered_429": self.by_status.get(429, 0),
            "answered_503": self.by_status.get(503, 0),
            "answered_5xx": sum(v for k, v in self.by_status.items() if 500 <= k < 600),
            "max_in_flight": dict(self.max_in_flight),
            "in_flight": {k: v for k, v in in_flight.items() if v},
            "writes": self.writes,
            "resets": self.resets,
            "batched": self.batched,
            "http": self.total - self.batched,
        }


class MailboxLimiter:
    """Per-mailbox in-flight count (Outlook: 4 concurrent requests) and sliding-window request budget."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = defaultdict(int)
        self._windows: dict[str, deque[float]] = defaultdict(deque)

    def rate_wait(self, user_id: str, limit: tuple[int, float] | None, now: float | None = None) -> float:
        """0 when the request may go (and it is counted), else seconds until the window frees a slot."""
        if limit is None:
            return 0.0
        now = time.monotonic() if now is None else now
        count, window = limit
        stamps = self._windows[user_id]
        while stamps and stamps[0] <= now - window:
            stamps.popleft()
        if len(stamps) >= count:
            return stamps[len(stamps) - count] + window - now
        stamps.append(now)
        return 0.0

    def reset_windows(self) -> None:
        self._windows.clear()
