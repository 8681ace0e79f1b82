"""Legal holds as use cases: place one on a backed-up resource, release it, list them; each change audited (who,
when, why). The rows live in core/storage/legal_holds.py (runs table, partition 'hold', journaled, so a rebuilt
catalog keeps them); the purge skips a held resource and an erasure that would reach one is refused
(core/lifecycle/erasure.py). The CLI (core/lifecycle/holds_cli.py) and the API (api/routes_lifecycle.py) call these.

A hold names a resource that has a backup: a hold on a key nothing was ever backed up under would protect nothing
and hide a typing mistake, so it is refused (NotFoundError: exit 2, HTTP 404)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InvalidRequestError, NotFoundError
from core.storage.audit_log import AuditEntry
from core.storage.legal_holds import LegalHolds
from core.workloads import registry

if TYPE_CHECKING:
    from core.bootstrap import Services

MAX_REASON = 1_000


@dataclass(frozen=True)
class Actor:
    """Who asks, as the audit log records it: an API caller (object id, name, roles) or a CLI operator."""

    id: str
    name: str
    roles: tuple[str, ...] = ()

    @classmethod
    def cli(cls, by: str | None = None) -> Actor:
        """The operator at the command line: `--by`, else the OS user."""
        name = (by or "").strip() or _os_user()
        return cls(id=f"cli:{name}", name=name)

    def audit(self, action: str, result: str, **fields: Any) -> AuditEntry:
        return AuditEntry(actor=self.id, actor_name=self.name, roles=self.roles, action=action, result=result, **fields)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "unknown"


def holds_of(services: Services) -> LegalHolds:
    if services.holds is None:
        raise InvalidRequestError("legal holds are not available in this deployment (no holds store)")
    return services.holds


def _backed_up(services: Services, resource: str) -> None:
    registry.workload_of(resource)  # an unknown workload or a malformed key: InvalidRequestError
    if not services.runs.points(resource):
        raise NotFoundError(f"no backup of {resource!r}: a legal hold names a backed-up resource")


def place_hold(services: Services, resource: str, reason: str, actor: Actor) -> dict[str, Any]:
    """Hold `resource` (placing it again replaces who, when and why). Audited as 'hold.place'."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidRequestError("a legal hold needs a reason (the matter or case it is for)")
    if len(reason) > MAX_REASON:
        raise InvalidRequestError(f"the reason is over {MAX_REASON} characters")
    _backed_up(services, resource)
    hold = holds_of(services).place(resource, actor.name, reason)
    services.audit.append(actor.audit("hold.place", "succeeded", resource=resource, detail=reason))
    return hold


def release_hold(services: Services, resource: str, actor: Actor) -> dict[str, Any]:
    """Clear the hold on `resource` (NotFoundError if it has none); returns the hold that was cleared. Audited as
    'hold.release', with the reason it had."""
    holds = holds_of(services)
    current = holds.get(resource)
    if current is None or not holds.release(resource, actor.name):
        registry.workload_of(resource)
        raise NotFoundError(f"{resource!r} is not on legal hold")
    detail = f"released; was held by {current['placed_by']} since {current['placed_at']}: {current['reason']}"
    services.audit.append(actor.audit("hold.release", "succeeded", resource=resource, detail=detail[:2000]))
    return current


def list_holds(services: Services) -> list[dict[str, Any]]:
    """Every hold (resource, placed_by, placed_at, reason), by resource: one query."""
    return [hold for _, hold in sorted(holds_of(services).all().items())]


def held_map(services: Services) -> dict[str, dict[str, Any]]:
    """resource -> its hold, in one query (empty when holds are not available): what listings show beside each
    resource."""
    return services.holds.all() if services.holds is not None else {}
