"""Workload registry: workload name -> handler. Adding a workload is one new module and one line here."""

from __future__ import annotations

from core.errors import InvalidRequestError
from core.workloads.base import WorkloadHandler
from core.workloads.exchange import ExchangeHandler
from core.workloads.onedrive import OneDriveHandler
from core.workloads.sharepoint import SharePointHandler

WORKLOADS: dict[str, WorkloadHandler] = {
    "exchange": ExchangeHandler(),
    "onedrive": OneDriveHandler(),
    "sharepoint": SharePointHandler(),
}


def handler_for(workload: str) -> WorkloadHandler:
    try:
        return WORKLOADS[workload]
    except KeyError:
        raise InvalidRequestError(f"unknown workload {workload!r}; known: {', '.join(sorted(WORKLOADS))}") from None
