"""The HTTP transport of the storage clients (blob and table): azure-core's RequestsTransport over a session built
once, that neither scans the environment on every request nor drops connections the backup's threads need.

What it changes against the SDK's default transport (a fresh `requests.Session` with `trust_env=True`):
- `trust_env` is off unless the environment names a proxy when the clients are made. With it on, requests reads
  every environment variable twice per request (`get_environ_proxies`, `should_bypass_proxies`) and looks for a
  `~/.netrc`: ~170 `os.environ` reads per backed-up message, about a tenth of the process's CPU
  (`python -m bench.cpu_profile --profile`). With a proxy configured the SDK's behaviour is kept as it is.
- the urllib3 pool keeps as many connections as the process has threads writing at once
  (BACKUP_LOCAL_CONCURRENCY x BACKUP_ITEM_CONCURRENCY, at least urllib3's 10 and at most 256); above its size urllib3
  opens a connection per request and logs "Connection pool is full, discarding connection".
- no urllib3 retries (azure-core retries itself), as azure-core's own adapter sets up. (Its adapter also asks for
  32 KiB socket reads, through `get_connection`, which requests >= 2.32 no longer calls: not copied.)
  https://learn.microsoft.com/python/api/azure-core/azure.core.pipeline.transport.requeststransport
"""

from __future__ import annotations

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.config import Settings
from core.proxy_env import environment_names_a_proxy

_MIN_POOL, _MAX_POOL = 10, 256


def pool_size(settings: Settings) -> int:
    """Connections kept per storage host: one per thread that may write at once in this process."""
    threads = max(1, settings.local_concurrency) * max(1, settings.item_concurrency)
    return max(_MIN_POOL, min(_MAX_POOL, threads))


def storage_transport(settings: Settings) -> RequestsTransport:
    """A transport of its own for one storage client (closing the client closes its session)."""
    session = requests.Session()
    session.trust_env = environment_names_a_proxy()
    size = pool_size(settings)
    adapter = HTTPAdapter(
        pool_connections=size, pool_maxsize=size, max_retries=Retry(total=False, redirect=False, raise_on_status=False)
    )
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    return RequestsTransport(session=session, session_owner=True)
