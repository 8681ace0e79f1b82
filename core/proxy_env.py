"""Whether the process's environment names an HTTP proxy, read once when clients are made: the storage and Graph
clients then honour the environment as their libraries do; without one they skip the per-request environment scans
(core/storage/http_transport.py, core/graph/mailbox_pools.py)."""

from __future__ import annotations

import urllib.request


def environment_names_a_proxy() -> bool:
    """True when HTTP_PROXY, HTTPS_PROXY or ALL_PROXY (any case) is set; NO_PROXY alone names none."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())
