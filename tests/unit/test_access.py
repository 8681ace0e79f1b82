"""The authorization rules of api/access.py as a table: each kind of caller × own / other / SharePoint resource ×
read / restore in place / restore into themselves / restore into someone else."""

from __future__ import annotations

import pytest

from api.access import (
    ADMIN,
    OPERATOR,
    can_read,
    check_admin,
    check_operator,
    check_read,
    check_restore,
    owns,
    visible,
)
from api.auth import Principal
from core.errors import PermissionDeniedError
from core.restore_request import RestoreRequest

ME = "6f1c2a9e-0b7d-4c43-9a55-3d2e8f1b7a10"
OTHER = "b2d4e6f8-1a3c-4e5f-8a9b-0c1d2e3f4a5b"
SITE = "contoso.sharepoint.com,3f2504e0-4f89-11d3-9a0c-0305e82c3301,aa3e1c2b-8e5e-4f5d-9c1f-2b3c4d5e6f70"

CALLERS = {
    "admin": Principal(ME, "admin@contoso.com", frozenset({ADMIN}), "t", app_only=False),
    "operator": Principal(ME, "op@contoso.com", frozenset({OPERATOR}), "t", app_only=False),
    "user": Principal(ME, "me@contoso.com", frozenset(), "t", app_only=False),
    "user_other_role": Principal(ME, "me@contoso.com", frozenset({"Something.Else"}), "t", app_only=False),
    "app": Principal(ME, "daemon", frozenset(), "t", app_only=True),
    "app_operator": Principal(ME, "daemon", frozenset({OPERATOR}), "t", app_only=True),
}
RESOURCES = {
    "own_mail": f"exchange:{ME}",
    "own_mail_upper": f"exchange:{ME.upper()}",
    "own_drive": f"onedrive:{ME}",
    "other_mail": f"exchange:{OTHER}",
    "other_drive": f"onedrive:{OTHER}",
    "site": f"sharepoint:{SITE}",
    "site_named_like_me": f"sharepoint:{ME}",
}
STAFF = ("admin", "operator", "app_operator")
SELF_SERVICE = ("user", "user_other_role")

# (caller, resource) pairs that may be read; everything else may not
READABLE = {(c, r) for c in STAFF for r in RESOURCES} | {
    (c, r) for c in SELF_SERVICE for r in ("own_mail", "own_mail_upper", "own_drive")
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_read(caller: str, resource: str) -> None:
    principal, key = CALLERS[caller], RESOURCES[resource]
    expected = (caller, resource) in READABLE
    assert can_read(principal, key) is expected
    if expected:
        check_read(principal, key)
    else:
        with pytest.raises(PermissionDeniedError, match=OPERATOR):
            check_read(principal, key)
    assert visible(principal, [key]) == ([key] if expected else [])


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("target", [None, "source_owner", "me", "other"])
def test_restore(caller: str, resource: str, target: str | None) -> None:
    principal, key = CALLERS[caller], RESOURCES[resource]
    owner = key.partition(":")[2]
    target_owner = {None: None, "source_owner": owner, "me": ME.upper(), "other": OTHER}[target]
    request = RestoreRequest(resource=key, whole=True, target_owner=target_owner)
    readable = (caller, resource) in READABLE
    elsewhere_ok = caller in STAFF or target in (None, "source_owner", "me")
    if readable and elsewhere_ok:
        check_restore(principal, request)
    else:
        with pytest.raises(PermissionDeniedError) as raised:
            check_restore(principal, request)
        message = str(raised.value)
        assert OPERATOR in message and ADMIN in message
        if caller in SELF_SERVICE:
            assert "your own data (exchange, onedrive, chats)" in message


def test_self_service_user_cannot_restore_own_data_into_someone_else() -> None:
    with pytest.raises(PermissionDeniedError, match=r"only restore into your own data \(exchange, onedrive, chats\)"):
        check_restore(CALLERS["user"], RestoreRequest(resource=f"onedrive:{ME}", whole=True, target_owner=OTHER))


def test_app_without_roles_is_told_so() -> None:
    with pytest.raises(PermissionDeniedError, match="app-only token without roles"):
        check_read(CALLERS["app"], f"exchange:{ME}")


def test_owns_is_about_users_only() -> None:
    user = CALLERS["user"]
    assert owns(user, f"exchange:{ME}") and owns(user, f"onedrive:{{{ME.upper()}}}")
    assert not owns(user, f"sharepoint:{ME}")
    assert not owns(user, f"exchange:{OTHER}")
    assert not owns(user, "not a resource key")
    assert not owns(CALLERS["app"], f"exchange:{ME}")  # a daemon has no mailbox of its own
    assert not owns(CALLERS["admin"], f"exchange:{OTHER}")  # admins may read it, but it is not theirs


@pytest.mark.parametrize("caller", CALLERS)
def test_role_checks(caller: str) -> None:
    principal = CALLERS[caller]
    if caller == "admin":
        check_admin(principal)
    else:
        with pytest.raises(PermissionDeniedError, match=f"needs the {ADMIN} role"):
            check_admin(principal)
    if caller in STAFF:
        check_operator(principal)
    else:
        with pytest.raises(PermissionDeniedError, match=f"needs the {OPERATOR} or {ADMIN} role"):
            check_operator(principal)


def test_visible_keeps_order_and_filters() -> None:
    keys = [f"sharepoint:{SITE}", f"onedrive:{ME}", f"exchange:{OTHER}", f"exchange:{ME}"]
    assert visible(CALLERS["user"], keys) == [f"onedrive:{ME}", f"exchange:{ME}"]
    assert visible(CALLERS["operator"], keys) == keys
    assert visible(CALLERS["app"], keys) == []


def test_principal_properties_and_dict() -> None:
    admin = Principal(ME, "a@contoso.com", frozenset({ADMIN, "Z.Role", OPERATOR}), "t", app_only=False)
    assert admin.is_admin and admin.is_operator
    assert CALLERS["operator"].is_operator and not CALLERS["operator"].is_admin
    assert not CALLERS["user"].is_operator
    assert admin.to_dict() == {"oid": ME, "name": "a@contoso.com", "roles": [ADMIN, OPERATOR, "Z.Role"]}
