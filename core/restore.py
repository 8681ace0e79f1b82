"""Restore use case: validate, dispatch to the resource's workload, report."""

from __future__ import annotations

from core.bootstrap import Services
from core.restore_request import RestoreReport, RestoreRequest
from core.workloads import handler_for


def restore(services: Services, request: RestoreRequest) -> RestoreReport:
    """Restore what `request` selects. Raises InvalidRequestError / NotFoundError, before writing anything,
    when the request cannot be carried out as asked."""
    return handler_for(request.key.workload).restore(services, request)
