"""Opaque continuation tokens for paged listings (search results, folder contents).

A token is urlsafe base64 (no padding) of a small JSON object: the run the first page resolved (so every page
reads the same point in time, even when a newer backup completes meanwhile), the item id the next page starts at
(inclusive, in catalog order) and a digest of the query it belongs to. A token handed back with another query, or
one that does not decode, is refused with InvalidRequestError. Tokens are not secret and not signed: a forged one
can only point at data the same query could read anyway."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InvalidRequestError

_VERSION = 1
_MAX_TOKEN = 4096
_REFUSED = "the continuation token does not belong to this query"


@dataclass(frozen=True)
class Position:
    run_id: str
    start: str  # the item id the next page starts at (inclusive)


def query_digest(kind: str, fields: dict[str, Any]) -> str:
    """A short digest of what a listing asks for (datetimes as ISO text); `kind` keeps listings apart."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    canonical = json.dumps([kind, {k: plain(v) for k, v in sorted(fields.items())}], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def encode(digest: str, position: Position) -> str:
    body = {"v": _VERSION, "q": digest, "r": position.run_id, "s": position.start}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, digest: str) -> Position:
    """The position a token names; InvalidRequestError if it is garbled or was issued for another query."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise InvalidRequestError(_REFUSED)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequestError(_REFUSED) from None
    if (
        not isinstance(body, dict)
        or body.get("v") != _VERSION
        or body.get("q") != digest
        or not isinstance(body.get("r"), str)
        or not isinstance(body.get("s"), str)
        or not body["r"]
    ):
        raise InvalidRequestError(_REFUSED)
    return Position(body["r"], body["s"])
