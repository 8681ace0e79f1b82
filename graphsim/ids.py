"""Graph-shaped identifiers and timestamps shared by every surface."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib


def opaque_id(prefix: str, *parts: object) -> str:
    """A Graph-looking opaque id (base64url with a trailing '='), deterministic in its parts."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest + digest[:12]).decode("ascii").rstrip("=") + "AAA="


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
