"""Interactive sign-in as the Microsoft identity platform does it for a single-page app: the OAuth 2.0 authorization
code flow with PKCE (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow), the refresh
token grant, and the ID token (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).

    SignIn.register_spa()   an app registration with the "Single-page application" platform: client id, its
                            redirect URIs, and the API it exposes (its Application ID URI; scope access_as_user)
    SignIn.assign_roles()   app roles of the API assigned to a user (they appear in the `roles` claim)
    SignIn.check_request()  an /authorize request's parameters, checked as the docs state (AuthorizeError otherwise)
    SignIn.issue_code()     a one-time code for a signed-in user, bound to the request's PKCE challenge
    SignIn.redeem()         POST /token with grant_type authorization_code or refresh_token -> the token response

Behaviour the docs state and this module keeps: the redirect URI must be registered exactly (AADSTS50011); PKCE is
required for SPAs, S256 or plain (AADSTS501481 when the verifier does not match); a code is redeemed once
(AADSTS54005) within 10 minutes; an SPA's tokens may only be redeemed by a cross-origin request, one with an Origin
header (AADSTS9002327); an SPA's refresh token lasts 24 hours. Tokens are signed with the key the tenant's JWKS
publishes, so the restore API validates them exactly as it validates Entra's."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from graphsim.identity.tokens import TokenIssuer, b64url
from graphsim.tenant import User

CODE_LIFETIME = 600  # seconds: "Authorization codes are short lived, typically expiring after about 10 minutes"
SPA_REFRESH_LIFETIME = 24 * 3600  # "refresh tokens issued to SPAs are valid for 24 hours"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
API_SCOPE = "access_as_user"  # the delegated scope the restore API's registration exposes (docs/deploy.md)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


class AuthorizeError(Exception):
    """A refused sign-in or token request: the OAuth `error`, the AADSTS number and the description."""

    def __init__(self, error: str, code: int, description: str, redirectable: bool = True) -> None:
        super().__init__(description)
        self.error, self.code, self.description = error, code, description
        self.redirectable = redirectable  # False: the redirect URI itself is bad, so the error is shown, not sent


@dataclass(frozen=True)
class SpaApp:
    client_id: str
    redirect_uris: tuple[str, ...]
    api_audience: str  # the Application ID URI of the API this registration exposes, e.g. api://m365-backup-api


@dataclass(frozen=True)
class AuthRequest:
    """The checked parameters of one /authorize request (carried through the sign-in page's form)."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    response_mode: str
    client_info: bool


@dataclass
class _Code:
    request: AuthRequest
    user_id: str
    expires: float


@dataclass
class SignIn:
    issuer: TokenIssuer
    apps: dict[str, SpaApp] = field(default_factory=dict)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user id -> app roles of the API
    _codes: dict[str, _Code] = field(default_factory=dict)
    _refresh: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # token -> (client, user, expires)

    def register_spa(self, client_id: str, redirect_uris: list[str], api_audience: str) -> SpaApp:
        if not client_id or not redirect_uris or not api_audience:
            raise ValueError("client_id, redirect_uris and api_audience are required")
        app = SpaApp(client_id, tuple(redirect_uris), api_audience.rstrip("/"))
        self.apps[client_id] = app
        return app

    def assign_roles(self, user_id: str, roles: list[str]) -> None:
        self.roles[user_id.lower()] = tuple(roles)

    # -- /authorize ----------------------------------------------------------------------------------------------
    def check_request(self, params: dict[str, str]) -> AuthRequest:
        client_id = params.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None:
            raise AuthorizeError("unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                                 "not found in the directory.", redirectable=False)  # fmt: skip
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in app.redirect_uris:
            raise AuthorizeError("invalid_request", 50011, f"The redirect URI '{redirect_uri}' specified in the "
                                 f"request does not match the redirect URIs configured for the application "
                                 f"'{client_id}'.", redirectable=False)  # fmt: skip
        if params.get("response_type") != "code":
            raise AuthorizeError("unsupported_response_type", 700054, "response_type 'code' is required here.")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "plain")
        if not challenge:
            raise AuthorizeError("invalid_request", 9002325, "Proof Key for Code Exchange is required for "
                                 "cross-origin authorization code redemption.")  # fmt: skip
        if method not in ("S256", "plain"):
            raise AuthorizeError("invalid_request", 501491, f"Invalid code_challenge_method '{method}'.")
        self._resource(app, params.get("scope", ""))
        mode = params.get("response_mode", "query")
        if mode not in ("query", "fragment"):
            raise AuthorizeError("invalid_request", 900144, f"response_mode '{mode}' is not supported here.")
        if params.get("prompt") == "none":
            raise AuthorizeError("login_required", 50058, "A silent sign-in request was sent but no user is "
                                 "signed in.")  # fmt: skip
        return AuthRequest(client_id, redirect_uri, params.get("scope", ""), params.get("state", ""),
                           params.get("nonce", ""), challenge, method, mode,
                           params.get("client_info") == "1")  # fmt: skip

    def _resource(self, app: SpaApp, scope: str) -> str:
        """The audience of the access token a scope string asks for: the app's API, or Graph for OIDC only."""
        resources = {s.rsplit("/", 1)[0] for s in scope.split() if s not in OIDC_SCOPES}
        if not resources:
            return GRAPH_APP_ID
        allowed = {app.api_audience, f"api://{app.client_id}"}
        wanted = {f"{app.api_audience}/{API_SCOPE}", f"{app.api_audience}/.default", f"api://{app.client_id}/"
                  f"{API_SCOPE}", f"api://{app.client_id}/.default"}  # fmt: skip
        if len(resources) > 1 or not resources <= allowed:
            raise AuthorizeError("invalid_scope", 28000, f"The provided value for the input parameter scope "
                                 f"'{scope}' is not valid: one resource, the app's API, is allowed.")  # fmt: skip
        if not all(s in wanted for s in scope.split() if s not in OIDC_SCOPES):
            raise AuthorizeError("invalid_scope", 65005, f"The application '{app.client_id}' asked for scope "
                                 f"'{scope}' that doesn't exist on the resource.")  # fmt: skip
        return app.api_audience

    def issue_code(self, request: AuthRequest, user: User, now: float | None = None) -> str:
        now = time.time() if now is None else now
        code = "sim-code." + secrets.token_urlsafe(32)
        self._codes = {c: v for c, v in self._codes.items() if v.expires > now}  # forget expired codes
        self._codes[code] = _Code(request, user.id, now + CODE_LIFETIME)
        return code

    # -- /token --------------------------------------------------------------------------------------------------
    def redeem(self, form: dict[str, str], origin: str | None, users: dict[str, User],
               now: float | None = None) -> dict[str, Any]:  # fmt: skip
        """The token response of an authorization_code or refresh_token grant; AuthorizeError otherwise."""
        now = time.time() if now is None else now
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            raise AuthorizeError("unauthorized_client", 700016, f"Application with identifier "
                                 f"'{form.get('client_id', '')}' was not found in the directory.")  # fmt: skip
        if not origin:
            raise AuthorizeError("invalid_request", 9002327, "Tokens issued for the 'Single-Page Application' "
                                 "client-type may only be redeemed via cross-origin requests.")  # fmt: skip
        if form.get("grant_type") == "refresh_token":
            client, user_id, expires = self._refresh.pop(form.get("refresh_token", ""), ("", "", 0.0))
            if client != app.client_id or expires <= now:
                raise AuthorizeError("invalid_grant", 700084, "The refresh token was issued to a single page app "
                                     "(SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which "
                                     "cannot be extended. It is now expired or unknown.")  # fmt: skip
            scope, nonce = form.get("scope", ""), ""
        else:
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or code.expires <= now or code.request.client_id != app.client_id:
                raise AuthorizeError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                     "has expired or is unknown.")  # fmt: skip
            if form.get("redirect_uri") != code.request.redirect_uri:
                raise AuthorizeError("invalid_grant", 50148, "The redirect_uri does not match the one of the "
                                     "authorization request.")  # fmt: skip
            if not _pkce_ok(code.request, form.get("code_verifier", "")):
                raise AuthorizeError("invalid_grant", 501481, "The Code_Verifier does not match the "
                                     "code_challenge supplied in the authorization request.")  # fmt: skip
            user_id, scope, nonce = code.user_id, form.get("scope") or code.request.scope, code.request.nonce
        user = users[user_id]
        return self._tokens(app, user, scope, nonce, now)

    def _tokens(self, app: SpaApp, user: User, scope: str, nonce: str, now: float) -> dict[str, Any]:
        resource = self._resource(app, scope)
        lifetime = max(60, int(self.issuer.lifetime))
        access = self.issuer.issue_api_token(oid=user.id, audience=resource, name=user.user_principal_name,
                                             roles=self.roles.get(user.id.lower(), ()), lifetime=lifetime,
                                             now=now)  # fmt: skip
        granted = [s for s in scope.split() if s not in OIDC_SCOPES] or ["openid", "profile"]
        body: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(granted), "expires_in": lifetime,
                                "ext_expires_in": lifetime, "access_token": access}  # fmt: skip
        if "openid" in scope.split() or nonce:
            body["id_token"] = self._id_token(app, user, nonce, now)
        if "offline_access" in scope.split() or "openid" in scope.split():
            refresh = "sim-refresh." + secrets.token_urlsafe(32)
            self._refresh[refresh] = (app.client_id, user.id, now + SPA_REFRESH_LIFETIME)
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = SPA_REFRESH_LIFETIME
        client_info = {"uid": user.id, "utid": self.issuer.tenant_id}
        body["client_info"] = b64url(json.dumps(client_info).encode())
        return body

    def _id_token(self, app: SpaApp, user: User, nonce: str, now: float) -> str:
        claims: dict[str, Any] = {
            "aud": app.client_id,
            "iss": self.issuer.issuer,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + 3600,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "sub": b64url(hashlib.sha256(f"{user.id}|{app.client_id}".encode()).digest()[:32]),
            "tid": self.issuer.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "RS256", "kid": self.issuer.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.issuer.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def _pkce_ok(request: AuthRequest, verifier: str) -> bool:
    """RFC 7636 section 4.6: S256 compares BASE64URL(SHA256(verifier)) with the challenge; plain compares them."""
    if not verifier:
        return False
    if request.code_challenge_method == "S256":
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
        return secrets.compare_digest(digest, request.code_challenge)
    return secrets.compare_digest(verifier, request.code_challenge)
