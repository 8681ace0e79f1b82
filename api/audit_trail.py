"""Writing the audit log from request handlers: every restore, export, download, backup start and every denied
attempt (401, 403). Requests rejected as malformed or unknown (400, 404, 413, 422) change nothing and are not
logged here; the access log has them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request

from core.errors import PermissionDeniedError
from core.storage.audit_log import AuditEntry

if TYPE_CHECKING:
    from api.auth import Principal
    from core.bootstrap import Services

log = logging.getLogger(__name__)


def _who(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"actor": "", "actor_name": "", "roles": ()}
    return {"actor": principal.oid, "actor_name": principal.name, "roles": tuple(sorted(principal.roles))}


def record(
    services: Services, principal: Principal | None, action: str, result: str, status: int, **fields: Any
) -> None:
    services.audit.append(AuditEntry(**_who(principal), action=action, result=result, status=status, **fields))


def record_denied(
    services: Services,
    request: Request,
    principal: Principal | None,
    error: Exception,
    status: int,
    action: str = "",
    resource: str = "",
) -> None:
    """A refused attempt. A failure to write it is logged, and the caller still gets its 401/403."""
    try:
        record(
            services,
            principal,
            action or f"{request.method} {request.url.path}",
            "denied",
            status,
            resource=resource,
            detail=str(error)[:1000],
        )
    except Exception:  # the refusal stands whatever happens to its audit record
        log.exception("could not audit a denied %s %s", request.method, request.url.path)


def guard(
    services: Services,
    request: Request,
    principal: Principal,
    action: str,
    resource: str,
    check: Callable[[], None],
) -> None:
    """Run an access check; a refusal is audited (403) and re-raised."""
    try:
        check()
    except PermissionDeniedError as error:
        record_denied(services, request, principal, error, 403, action, resource)
        raise
