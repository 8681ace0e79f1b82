"""Whether the storage account can be reached at all, asked once before a CLI command starts: an account that
cannot be reached gives its one-line error (`storage unreachable`, exit 5) in seconds, not after the SDKs' own
retries with backoff (blob: 3 retries after 15, 18 and 24 s; tables: 10 retries, about 80 s in all).

Judged exactly as a failure is judged later: only a request that could not be sent counts (azure-core's
`ServiceRequestError`: connection refused, a name that does not resolve, no connection within the timeout), and
that error itself is raised, so core/cli_errors.py words it as before. Any answer at all (404, 403, 500, an
answer that is slow or cut off) means the account is there: the probe says nothing more and the work goes on
with the clients' normal retries and timeouts. A connection that fails once is tried again after a short pause,
so one dropped SYN does not fail a command.

Only the CLI probes (`build_services(settings, probe_storage=True)`); the Functions host builds its services
without it and keeps the SDKs' patience at a cold start. The probes go through the services' own clients: the
same transport, credential and token, so a probe that succeeds leaves a connection the command reuses.
https://learn.microsoft.com/python/api/azure-core/azure.core.exceptions.servicerequesterror
https://learn.microsoft.com/azure/storage/blobs/storage-retry-policy-python
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import AzureError, ServiceRequestError
from azure.data.tables import TableClient
from azure.storage.blob import ContainerClient

ATTEMPTS = 3
PAUSES = (0.5, 1.0)  # between attempts: a transient connection failure gets a second and a third chance
CONNECT_TIMEOUT = 4.0  # seconds to establish the connection (the SDK default waits 300 s)
READ_TIMEOUT = 30.0  # an answer this slow still shows the account is there
# Per-operation options of azure-core: no retries of the probe itself (its own loop pauses briefly instead) and
# client-side timeouts: https://learn.microsoft.com/azure/developer/python/sdk/azure-sdk-library-usage-patterns
PROBE_OPTIONS: dict[str, Any] = {
    "retry_total": 0,
    "connection_timeout": CONNECT_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
}


def probe(request: Callable[..., object], sleep: Callable[[float], None] = time.sleep) -> None:
    """Send `request(**PROBE_OPTIONS)` up to ATTEMPTS times while it cannot be sent at all; raise the last
    `ServiceRequestError` when no attempt reached the service. Any other outcome returns (the service answered)."""
    for attempt in range(ATTEMPTS):
        try:
            request(**PROBE_OPTIONS)
            return
        except ServiceRequestError:
            if attempt == ATTEMPTS - 1:
                raise
            sleep(PAUSES[min(attempt, len(PAUSES) - 1)])
        except AzureError:  # an answer (or an answer cut off): reachable; the work judges it with its retries
            return


def probe_blob(container: ContainerClient) -> None:
    """The blob endpoint: the container's properties (what the identity's container-scoped role may read)."""
    probe(container.exists)


def probe_table(table: TableClient) -> None:
    """The table endpoint: one row of a table this app uses (a 404 for a missing row or table is an answer)."""
    probe(lambda **options: table.get_entity("reachability-probe", "reachability-probe", **options))
