"""What a validated caller may do: pure rules over a Principal and resource keys, no I/O.

App roles (defined on the API's app registration, assigned to users, groups or daemon apps):

    Backup.Admin       everything: every resource, restores anywhere, backup runs and settings
    Restore.Operator   read and restore every resource, into its owner or into another user or site
    (no role)          self-service: a signed-in user reads and restores their own data only (mailbox, OneDrive, chats),
                       and only back into them; SharePoint sites are never self-service (a site has no owner oid)

An app-only token (a daemon) has no "own" data: without one of the roles above it may do nothing.
Every check_* function raises PermissionDeniedError (HTTP 403) with a message naming what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.errors import PermissionDeniedError
from core.models import ResourceKey
from core.workloads.registry import self_service_workloads

if TYPE_CHECKING:
    from api.auth import Principal
    from core.restore_request import RestoreRequest

ADMIN = "Backup.Admin"
OPERATOR = "Restore.Operator"
SELF_SERVICE_WORKLOADS = self_service_workloads()  # whose owner is a user object id (the registry says which)
OWN_DATA = f"own data ({', '.join(SELF_SERVICE_WORKLOADS)})"  # what a self-service user may reach, as messages say


def _same_id(a: str, b: str) -> bool:
    """Object ids are GUIDs: compare them without regard to case (and stray braces or spaces)."""
    return a.strip().strip("{}").lower() == b.strip().strip("{}").lower()


def owns(principal: Principal, resource_key: str) -> bool:
    """True if the resource is the signed-in user's own mailbox or OneDrive ('exchange:<oid>', 'onedrive:<oid>')."""
    if principal.app_only:
        return False
    try:
        key = ResourceKey.parse(resource_key)
    except ValueError:
        return False
    return key.workload in SELF_SERVICE_WORKLOADS and _same_id(key.owner, principal.oid)


def can_read(principal: Principal, resource: str) -> bool:
    """Operators and admins read everything; a signed-in user without a role reads only what they own."""
    return principal.is_operator or owns(principal, resource)


def _role_needed(action: str) -> str:
    return f"{action} needs the {OPERATOR} or {ADMIN} role"


def _check(principal: Principal, resource: str, action: str) -> None:
    if can_read(principal, resource):
        return
    if principal.app_only:
        raise PermissionDeniedError(f"an app-only token without roles may do nothing: {_role_needed(action)}")
    raise PermissionDeniedError(
        f"you may only {action} your {OWN_DATA}: {resource!r} is not yours "
        f"({_role_needed(action + ' other resources')})"
    )


def check_read(principal: Principal, resource: str) -> None:
    """Raise PermissionDeniedError unless the caller may browse or export `resource`."""
    _check(principal, resource, "read")


def check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDeniedError(f"this needs the {ADMIN} role")


def check_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise PermissionDeniedError(f"this needs the {OPERATOR} or {ADMIN} role")


def check_restore(principal: Principal, request: RestoreRequest) -> None:
    """The caller must be able to read the source; restoring into another owner (target_owner) needs an operator,
    except that a self-service user may name themselves (their own data back into their own data)."""
    _check(principal, request.resource, "restore")
    target = request.target_owner
    if target is None or principal.is_operator:
        return
    if _same_id(target, ResourceKey.parse(request.resource).owner) and _same_id(target, principal.oid):
        return
    raise PermissionDeniedError(
        f"you may only restore into your {OWN_DATA}, not into {target!r} "
        f"({_role_needed('restoring into another owner')})"
    )


def visible(principal: Principal, resources: Iterable[str]) -> list[str]:
    """The resources the caller may see, in the order given."""
    return [r for r in resources if can_read(principal, r)]
