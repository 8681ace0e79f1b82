"""The simulator's browser sign-in rules (graphsim/identity/sign_in.py), as the Microsoft identity platform's
authorization code flow documents them: registered redirect URIs only, PKCE checked, a code redeemed once, SPA
tokens redeemed cross-origin only, and tokens the restore API's validator would accept (audience, oid, roles)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from graphsim.identity.sign_in import AuthorizeError, SignIn
from graphsim.identity.tokens import TokenIssuer, split_jwt
from graphsim.tenant import User

CLIENT, PORTAL, API = "0000-spa", "http://127.0.0.1:8400/api/v1/portal", "api://m365-backup-api"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
ADELE = User(id="u-1", display_name="Adele", user_principal_name="adele@contoso.test", mail="adele@contoso.test")


def _sign_in() -> SignIn:
    service = SignIn(TokenIssuer(issuer="https://sim/t/v2.0", tenant_id="t", client_id="app", audiences=()))
    service.register_spa(CLIENT, [PORTAL], API)
    service.assign_roles(ADELE.id, ["Restore.Operator"])
    return service


def _params(**changes: str) -> dict[str, str]:
    params = {"client_id": CLIENT, "redirect_uri": PORTAL, "response_type": "code", "state": "s", "nonce": "n",
              "scope": f"openid profile offline_access {API}/access_as_user", "code_challenge": CHALLENGE,
              "code_challenge_method": "S256"}  # fmt: skip
    return {**params, **changes}


def _redeem(service: SignIn, code: str, verifier: str = VERIFIER, origin: str | None = "http://127.0.0.1:8400"):
    form = {"client_id": CLIENT, "grant_type": "authorization_code", "code": code, "redirect_uri": PORTAL,
            "code_verifier": verifier}  # fmt: skip
    return service.redeem(form, origin, {ADELE.id: ADELE})


def test_a_code_becomes_tokens_for_the_api_with_the_users_roles():
    service = _sign_in()
    code = service.issue_code(service.check_request(_params()), ADELE)
    body = _redeem(service, code)
    _, claims, _, _ = split_jwt(body["access_token"])
    assert claims["aud"] == API and claims["oid"] == ADELE.id and claims["roles"] == ["Restore.Operator"]
    assert claims["scp"] == "access_as_user"
    _, id_claims, _, _ = split_jwt(body["id_token"])
    assert (
        id_claims["aud"] == CLIENT
        and id_claims["nonce"] == "n"
        and id_claims["preferred_username"] == ADELE.user_principal_name
    )
    form = {"client_id": CLIENT, "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
            "scope": f"{API}/access_as_user"}  # fmt: skip
    refreshed = service.redeem(form, "http://x", {ADELE.id: ADELE})
    assert split_jwt(refreshed["access_token"])[1]["oid"] == ADELE.id
    with pytest.raises(AuthorizeError, match="already redeemed") as again:
        _redeem(service, code)
    assert again.value.code == 54005


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"redirect_uri": "http://evil.test/"}, 50011), ({"client_id": "nobody"}, 700016),
     ({"code_challenge": ""}, 9002325), ({"scope": "openid api://other/access_as_user"}, 28000),
     ({"response_type": "token"}, 700054)],
)  # fmt: skip
def test_bad_authorize_requests_are_refused_with_entras_codes(changes, code):
    with pytest.raises(AuthorizeError) as refused:
        _sign_in().check_request(_params(**changes))
    assert refused.value.code == code


def test_a_wrong_verifier_or_a_same_origin_redemption_is_refused():
    service = _sign_in()
    with pytest.raises(AuthorizeError) as wrong:
        _redeem(service, service.issue_code(service.check_request(_params()), ADELE), verifier="w" * 50)
    assert wrong.value.code == 501481
    with pytest.raises(AuthorizeError) as no_origin:
        _redeem(service, service.issue_code(service.check_request(_params()), ADELE), origin=None)
    assert no_origin.value.code == 9002327
