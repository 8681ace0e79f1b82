"""The simulator's file-workload state: drives and sites, drive delta, pre-authenticated download URLs, upload
sessions, SharePoint/OneDrive resource-unit throttling and drive statistics."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphsim.delta_rounds import Sealer
from graphsim.drives.content import Content, ContentWriter
from graphsim.drives.delta import DriveDelta
from graphsim.drives.seed import seed_drives
from graphsim.drives.store import Drive, DriveStore, Identity
from graphsim.limits import format_retry_after
from graphsim.tenant import Tenant

FRAGMENT_UNIT = 320 * 1024
MAX_FRAGMENT = 60 * 1024 * 1024
SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024


@dataclass
class DriveConfig:
    download_url_lifetime: float = 600.0  # seconds a /content redirect target stays valid
    upload_session_lifetime: float = 3600.0
    ru_budget: int | None = None  # resource units per window for the whole tenant; None = off
    ru_window: float = 60.0
    strict_fragments: bool = True  # 400 for a non-final fragment that is not a multiple of 320 KiB
    delta_order: str = "tree"  # how a drive delta round orders its items: see graphsim/drives/delta.py ORDERS
    # getAllSites refused with this status (None: answered). It is documented for application permissions only
    # (https://learn.microsoft.com/graph/api/site-getallsites) and answers nothing useful under Sites.Selected.
    all_sites_status: int | None = None
    # sites /sites?search= does not return: search reads the search index, which lags behind new or renamed sites
    # and leaves out sites excluded from search (https://learn.microsoft.com/graph/api/site-search)
    unindexed_sites: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items()}


@dataclass
class DownloadGrant:
    drive_id: str
    item_id: str
    content: Content
    expires: float


@dataclass
class UploadSession:
    token: str
    drive_id: str
    parent_id: str
    name: str
    conflict: str
    target_id: str | None  # an existing item to give new content (createUploadSession on an item)
    fs_info: dict[str, Any]
    expires: float
    total: int | None = None
    writer: ContentWriter | None = None
    received: int = 0


@dataclass
class DriveStats:
    counters: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        c = self.counters
        return {
            "download_requests": c["download_requests"],
            "download_with_authorization": c["download_with_authorization"],
            "download_bytes": c["download_bytes"],
            "download_expired": c["download_expired"],
            "download_dropped": c["download_dropped"],
            "upload_fragments": c["upload_fragments"],
            "upload_with_authorization": c["upload_with_authorization"],
            "upload_fragment_failed": c["upload_fragment_failed"],
            "ru_used": c["ru_used"],
            "ru_throttled": c["ru_throttled"],
            "ru_charged": c["ru_charged"],
            "ru_requests": c["ru_requests"],
            "delta_links_edited": c["delta_links_edited"],
        }


class ResourceUnits:
    """Tenant-wide SharePoint/OneDrive resource-unit budget over a sliding window, as "Avoid getting throttled or
    blocked in SharePoint Online" documents it (https://learn.microsoft.com/sharepoint/dev/general-development/
    how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online): per app per tenant (since March 2026 one
    quota for all apps of a vendor: one budget here), throttled requests count towards the usage too, and from 80%
    of the budget on answers carry RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset."""

    WARN_SHARE = 0.8

    def __init__(self) -> None:
        self._spent: deque[tuple[float, int]] = deque()

    def charge(self, cost: int, budget: int | None, window: float, now: float | None = None) -> float:
        """0 when the request may go, else seconds until the window has room for it; charged either way."""
        return self.charge_with_headers(cost, budget, window, now)[0]

    def charge_with_headers(
        self, cost: int, budget: int | None, window: float, now: float | None = None
    ) -> tuple[float, dict[str, str]]:
        """(0 or the Retry-After seconds, the RateLimit-* headers to answer with: none below 80% of the budget)."""
        if budget is None:
            return 0.0, {}
        now = time.monotonic() if now is None else now
        while self._spent and self._spent[0][0] <= now - window:
            self._spent.popleft()
        used = sum(c for _, c in self._spent)
        allowed = used + cost <= budget
        self._spent.append((now, cost))  # "throttled requests count towards usage limits"
        used += cost
        wait = 0.0
        if not allowed:
            freed, wait = used, window
            for stamp, c in self._spent:
                freed -= c
                if freed + cost <= budget:
                    wait = stamp + window - now
                    break
            wait = max(wait, 0.1)
        headers: dict[str, str] = {}
        if used >= budget * self.WARN_SHARE:
            reset = wait if wait > 0 else self._spent[0][0] + window - now  # until the oldest charge leaves
            headers = {"RateLimit-Limit": str(budget), "RateLimit-Remaining": str(max(budget - used, 0)),
                       "RateLimit-Reset": format_retry_after(max(reset, 0.1))}  # fmt: skip
        return wait, headers

    def reset(self) -> None:
        self._spent.clear()


class DriveService:
    def __init__(
        self, tenant: Tenant, sealer: Sealer, seed: int, files: int, sites: int, state_dir: Path | None
    ) -> None:
        self.store: DriveStore = seed_drives(tenant, seed, files, sites)
        self.delta = DriveDelta(sealer, self.store)
        self.config = DriveConfig()
        self.stats = DriveStats()
        self.ru = ResourceUnits()
        self.downloads: dict[str, DownloadGrant] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.spill_dir = (state_dir or Path(tempfile.mkdtemp(prefix="graphsim-"))) / "drive-content"
        self.tenant = tenant
        self.seed = seed
        self.added = 0
        self.links_given: deque[str] = deque(maxlen=2000)  # the drive delta links handed out, newest last

    def charge(self, cost: int) -> tuple[str | None, dict[str, str]]:
        """(None when within budget, else the Retry-After value to answer 429 with; the RateLimit-* headers)."""
        wait, headers = self.ru.charge_with_headers(cost, self.config.ru_budget, self.config.ru_window)
        self.stats.counters["ru_charged"] += cost  # throttled requests included, as the service counts them
        if wait <= 0:
            self.stats.counters["ru_used"] += cost
            self.stats.counters["ru_requests"] += 1
            return None, headers
        self.stats.counters["ru_throttled"] += 1
        return format_retry_after(wait), headers

    def grant_download(self, drive: Drive, item_id: str, content: Content) -> str:
        now = time.monotonic()
        for token in [t for t, g in self.downloads.items() if g.expires < now - 3600]:
            del self.downloads[token]
        token = secrets.token_urlsafe(24)
        self.downloads[token] = DownloadGrant(drive.id, item_id, content, now + self.config.download_url_lifetime)
        return token

    def new_session(
        self, drive: Drive, parent_id: str, name: str, conflict: str, target_id: str | None, fs_info: dict[str, Any]
    ) -> UploadSession:
        token = secrets.token_urlsafe(24)
        session = UploadSession(
            token,
            drive.id,
            parent_id,
            name,
            conflict,
            target_id,
            fs_info,
            time.time() + self.config.upload_session_lifetime,
        )
        self.uploads[token] = session
        return session

    def identity(self, user_id: str | None) -> Identity:
        user = self.tenant.users.get(user_id or "")
        if user is None:
            return Identity("00000000-0000-0000-0000-000000000000", "graphsim backup app")
        return Identity(user.id, user.display_name, user.mail)

    def drive_of(self, ref: str) -> Drive | None:
        drive = self.store.drives.get(ref)
        if drive is None:
            user = self.tenant.resolve_user(ref)
            did = self.store.user_drives.get(user.id) if user else None
            drive = self.store.drives.get(did) if did else None
        return drive
