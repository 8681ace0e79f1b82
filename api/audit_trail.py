"""Writing the audit log from request handlers: every restore, export, download, backup start and every denied
attempt (401, 403; repeats aggregated per source and minute, see api/denials.py). Requests rejected as malformed
or unknown (400, 404, 413, 422) change nothing and are not logged here; the access log has them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request

from api.denials import DenialAggregator, DenialKey, denial_kind
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


def failure_text(error: BaseException) -> str:
    """One line naming an unexpected error, for a problem detail and its audit entry."""
    return " ".join(f"{type(error).__name__}: {error}".split())[:500]


def record_start_failure(services: Services, principal: Principal | None, action: str, detail: str) -> None:
    """An accepted request whose orchestration could not be started: its 'failed' entry follows the 'accepted'
    one. A failure to write it is logged (the caller still hears of the failure)."""
    try:
        record(services, principal, action, "failed", 503, detail=detail[:1000])
    except Exception:
        log.exception("could not audit the failed start of %s (%s)", action, detail[:200])


def source_of(request: Request) -> str:
    """The caller's address: the hop the platform's front end added to X-Forwarded-For (the last one), else the
    peer of the connection."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded.strip():
        hop = forwarded.split(",")[-1].strip()
        host, sep, port = hop.rpartition(":")
        return (host if sep and port.isdigit() and host.count(":") == 0 else hop)[:100]
    return request.client.host if request.client else "unknown"


def denials(request: Request) -> DenialAggregator:
    return request.app.state.context.denials


def flush_denials(services: Services, aggregator: DenialAggregator, everything: bool = False) -> None:
    """Write the `denied.repeated` entries that are due (see api/denials.py); a failed write is logged."""
    for entry in aggregator.due(everything):
        try:
            services.audit.append(entry)
        except Exception:
            log.exception("could not audit %s repeated denials", entry.counts.get("requests"))


def record_denied(
    services: Services,
    request: Request,
    principal: Principal | None,
    error: Exception,
    status: int,
    action: str = "",
    resource: str = "",
) -> None:
    """A refused attempt: written in full, or counted when it repeats one already written this minute (see
    api/denials.py). A failure to write it is logged, and the caller still gets its 401/403."""
    aggregator = denials(request)
    flush_denials(services, aggregator)
    who = _who(principal)
    shown = action or f"{request.method} {request.url.path}"
    key = DenialKey(source_of(request), status, who["actor"], action if status == 403 else "", denial_kind(str(error)))
    if not aggregator.admit(key, shown, who["actor_name"], who["roles"], resource):
        return
    try:
        record(services, principal, shown, "denied", status, resource=resource, detail=str(error)[:1000])
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
