"""Shared pieces of the contacts and calendar simulation: change keys, removal logs, Graph date-times, hashing."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graphsim.errors import GraphError

GEN_CHUNK = 1 << 20  # generated attachment bytes are made 1 MiB at a time
WINDOWS_ZONES = {
    "utc": "UTC", "pacific standard time": "America/Los_Angeles", "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago", "mountain standard time": "America/Denver",
    "gmt standard time": "Europe/London", "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris", "tokyo standard time": "Asia/Tokyo",
}  # fmt: skip


def change_key(item_id: str, version: int) -> str:
    digest = hashlib.sha1(f"{item_id}:{version}".encode()).digest()
    return "EQAAABYAAAA" + base64.b64encode(digest).decode("ascii")


def canonical_sha256(props: dict[str, Any]) -> str:
    text = json.dumps(props, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso_z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_dt(value: dt.datetime) -> dict[str, str]:
    """A dateTimeTimeZone in UTC, as Outlook returns it without a Prefer: outlook.timezone header."""
    return {"dateTime": value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def zone(name: str) -> dt.tzinfo:
    key = WINDOWS_ZONES.get(name.strip().lower(), name.strip())
    try:
        return dt.UTC if key.upper() == "UTC" else ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise GraphError(400, "TimeZoneNotSupportedException", f"A valid TimeZone value must be specified. "
                         f"The following TimeZone value is not supported: '{name}'.") from None  # fmt: skip


def parse_graph_dt(value: Any, what: str) -> dt.datetime:
    """A dateTimeTimeZone object -> aware UTC datetime (400 ErrorInvalidRequest when malformed)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", f"The {what} property is invalid.")
    try:
        parsed = dt.datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")[:26].rstrip("."))
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest", f"The {what} dateTime is invalid.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(str(value.get("timeZone") or "UTC")))
    return parsed.astimezone(dt.UTC).replace(microsecond=0)


def parse_query_dt(raw: str | None, name: str) -> dt.datetime:
    """startDateTime / endDateTime query values: ISO 8601, UTC unless an offset is given."""
    if not raw:
        raise GraphError(400, "ErrorInvalidParameter", f"This request requires a time window specified by the "
                         f"query string parameters StartDateTime and EndDateTime. Missing: {name}.")  # fmt: skip
    try:
        parsed = dt.datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00")[:32])
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", f"The parameter '{name}' is invalid: '{raw}'.") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@dataclass
class Removal:
    seq: int
    item_id: str
    container_id: str


@dataclass
class ChangeLog:
    """A per-user change sequence for one workload and the removals delta reports as @removed."""

    seq: int = 0
    removals: list[Removal] = field(default_factory=list)

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def remove(self, item_id: str, container_id: str) -> None:
        self.removals.append(Removal(self.next(), item_id, container_id))

    def removed_since(self, watermark: int, container_id: str) -> list[Removal]:
        start = bisect.bisect_right([r.seq for r in self.removals], watermark)
        return [r for r in self.removals[start:] if r.container_id == container_id]


@dataclass
class Blob:
    """Bytes held in memory, or `size` deterministic bytes generated on the fly from `key` (never held whole)."""

    size: int
    data: bytes | None = None
    key: str | None = None
    prefix: bytes = b""
    _sha256: str | None = None

    @classmethod
    def of(cls, data: bytes) -> Blob:
        return cls(len(data), data=data)

    def chunks(self, chunk: int = GEN_CHUNK) -> Iterator[bytes]:
        if self.data is not None:
            for i in range(0, len(self.data), chunk):
                yield self.data[i : i + chunk]
            return
        produced = 0
        index = 0
        while produced < self.size:
            block = random.Random(f"blob:{self.key}:{index}").randbytes(GEN_CHUNK)
            if index == 0:
                block = (self.prefix + block)[:GEN_CHUNK]
            block = block[: self.size - produced]
            produced += len(block)
            index += 1
            yield block

    def read(self) -> bytes:
        return self.data if self.data is not None else b"".join(self.chunks())

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            h = hashlib.sha256()
            for part in self.chunks():
                h.update(part)
            self._sha256 = h.hexdigest()
        return self._sha256
