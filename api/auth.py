"""Who is calling: the Entra ID bearer token of an /api/v1 request, validated into a Principal.

A caller signs in to Entra ID and presents an access token whose audience is this API's app registration (its
client id or Application ID URI, setting API_AUDIENCE). The token is checked here in full, whether it came in the
Authorization header or was forwarded by App Service Authentication (X-MS-TOKEN-AAD-ACCESS-TOKEN): the front door
is not trusted to have done it.

    bearer_token(headers)      the token text, or AuthenticationError (missing, not Bearer, garbled)
    TokenValidator.validate()  RS256 only, signature against the tenant's JWKS, iss, aud, exp/nbf (60 s leeway),
                               tid, oid, scp -> Principal, or AuthenticationError saying exactly what is wrong

The tenant's signing keys (settings.jwks_url) are fetched over verified TLS and cached. A token naming a key id
the cache lacks (Entra rolls its keys over every few weeks) makes the validator fetch the keys again, at most once
per REFETCH_INTERVAL, so tokens with made-up key ids cannot turn the API into a JWKS hammer; the cached keys are
also refreshed once they are older than MAX_KEY_AGE (a key Entra withdrew stops being trusted). If the keys cannot
be fetched the token is refused with an AuthenticationError whose message starts "the tenant's signing keys could
not be fetched" (a server-side problem; the API logs it, the caller sees 401 and can retry).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from api.access import ADMIN, OPERATOR
from core.config import Settings
from core.errors import AuthenticationError

APP_SERVICE_TOKEN_HEADER = "X-MS-TOKEN-AAD-ACCESS-TOKEN"
ALGORITHM = "RS256"  # what Entra ID signs access tokens with; anything else is refused before a key is looked at
LEEWAY = 60  # seconds of clock skew allowed on exp and nbf
REFETCH_INTERVAL = 300.0  # at most one JWKS fetch per 5 minutes for unknown key ids
RETRY_AFTER_FAILURE = 10.0  # after a failed fetch with no keys cached, try again no sooner than this
MAX_KEY_AGE = 24 * 3600.0  # cached keys older than this are fetched again (kept if the fetch fails)
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Principal:
    """A validated caller: the user (delegated token) or the daemon app (app-only token) and its app roles."""

    oid: str  # Entra object id of the user, or of the app's service principal
    name: str  # UPN of a user; display name or client id of an app
    roles: frozenset[str]
    tenant: str
    app_only: bool

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_operator(self) -> bool:
        return self.is_admin or OPERATOR in self.roles

    def to_dict(self) -> dict[str, Any]:
        return {"oid": self.oid, "name": self.name, "roles": sorted(self.roles)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)  # case-insensitive for Starlette / httpx headers ...
    if value is None:  # ... a plain dict needs a scan
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def bearer_token(headers: Mapping[str, str]) -> str:
    """The access token of a request: `Authorization: Bearer <token>` (scheme in any case), else the token App
    Service Authentication forwards in X-MS-TOKEN-AAD-ACCESS-TOKEN. Raise AuthenticationError if there is none."""
    authorization = _header(headers, "Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            shown = scheme[:20] or "(empty)"
            raise AuthenticationError(f"the Authorization header must use the Bearer scheme, not {shown!r}")
        token = token.strip()
        if not token or any(c.isspace() for c in token):
            raise AuthenticationError("the Authorization header must be 'Bearer <one access token>'")
        return token
    forwarded = (_header(headers, APP_SERVICE_TOKEN_HEADER) or "").strip()
    if forwarded:
        return forwarded
    raise AuthenticationError("Authorization header missing: send 'Authorization: Bearer <Entra ID access token>'")


def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    """The system's trusted CAs plus GRAPH_CA_BUNDLE's (the simulator's), as core/graph/client.py trusts them."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenValidator:
    """Validates Entra ID v2.0 access tokens for this API; one per process, safe to share between threads."""

    def __init__(
        self, settings: Settings, http: httpx.Client | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._own_http = http is None
        self._http = http or httpx.Client(verify=_tls_context(settings.ca_bundle), timeout=10.0)
        self._clock = clock
        self._keys: dict[str, Any] = {}  # kid -> public key; replaced whole, never mutated, so reads need no lock
        self._fetched_at: float | None = None  # last successful fetch
        self._next_fetch = 0.0  # no fetch for an unknown kid before this
        self._last_error = ""
        self._lock = threading.Lock()  # one fetch at a time; the others wait and use its result

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    # -- keys --------------------------------------------------------------------------------------------------
    def _fetch(self) -> dict[str, Any]:
        url = self._settings.jwks_url
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
            if response.status_code != 200:
                raise ValueError(f"{url} answered HTTP {response.status_code}")
            entries = response.json().get("keys")
            if not isinstance(entries, list):
                raise ValueError(f"{url} did not answer a JWKS (no 'keys' list)")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise AuthenticationError(f"the tenant's signing keys could not be fetched: {exc}") from exc
        keys: dict[str, Any] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
            except (KeyError, jwt.PyJWKError, jwt.InvalidKeyError):
                continue  # a key this validator cannot use cannot have signed a token it accepts
        if not keys:
            raise AuthenticationError(f"the tenant's signing keys could not be fetched: {url} lists no RSA keys")
        return keys

    def _refresh(self, now: float) -> None:
        """Fetch the keys (the caller holds the lock and has checked that a fetch is due)."""
        try:
            self._keys = self._fetch()
        except AuthenticationError as exc:
            self._last_error = str(exc)
            self._next_fetch = now + (REFETCH_INTERVAL if self._keys else RETRY_AFTER_FAILURE)
            if not self._keys:
                raise
            return  # keep serving with the keys already cached
        self._fetched_at = now
        self._next_fetch = now + REFETCH_INTERVAL

    def _key(self, kid: str) -> Any:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > MAX_KEY_AGE
        key = self._keys.get(kid)
        if key is not None and not stale:
            return key
        with self._lock:
            stale = self._fetched_at is None or now - self._fetched_at > MAX_KEY_AGE
            if kid not in self._keys or stale:
                if now >= self._next_fetch:
                    self._refresh(now)
                elif not self._keys:
                    raise AuthenticationError(f"{self._last_error} (next attempt after {_when(self._next_fetch)})")
            key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError(f"the token's signing key {kid[:64]!r} is not one of the tenant's keys")
        return key

    # -- tokens ------------------------------------------------------------------------------------------------
    def validate(self, token: str) -> Principal:
        """The Principal of a valid token for this API; AuthenticationError saying what is wrong otherwise."""
        settings = self._settings
        if not settings.api_audiences:
            raise AuthenticationError(
                "API_AUDIENCE is not configured: the API accepts no token until it names its app registration's "
                "client id or Application ID URI"
            )
        if not isinstance(token, str) or not _JWT_SHAPE.match(token) or len(token) > 16_384:
            raise AuthenticationError("the bearer token is malformed: not a JWT (three base64url parts and two dots)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"the bearer token is malformed: {exc}") from exc
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise AuthenticationError(f"the token is signed with {str(alg)[:20]!r}; only RS256 tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("the token's header names no signing key (kid)")
        key = self._key(kid)
        try:
            payload = jwt.PyJWS().decode_complete(token, key, algorithms=[ALGORITHM])["payload"]
        except jwt.InvalidSignatureError as exc:
            raise AuthenticationError("the token's signature does not verify against the tenant's keys") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"the bearer token is malformed: {exc}") from exc
        try:
            claims = json.loads(payload)
        except ValueError as exc:
            raise AuthenticationError("the bearer token is malformed: its claims are not JSON") from exc
        if not isinstance(claims, dict):
            raise AuthenticationError("the bearer token is malformed: its claims are not a JSON object")
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        settings = self._settings
        iss = claims.get("iss")
        if iss != settings.token_issuer:
            raise AuthenticationError(f"the token's issuer {iss!r} is not {settings.token_issuer!r}")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and a in settings.api_audiences for a in audiences):
            raise AuthenticationError(f"the token's audience {aud!r} is not one this API accepts")
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise AuthenticationError("the token carries no expiry time (exp)")
        if now > exp + LEEWAY:
            raise AuthenticationError(f"the token has expired (at {_when(exp)})")
        if nbf is not None and (not isinstance(nbf, int | float) or now < nbf - LEEWAY):
            raise AuthenticationError(f"the token is not valid yet (nbf {nbf!r})")
        tid = claims.get("tid")
        if tid != settings.tenant_id:
            raise AuthenticationError(f"the token's tenant {tid!r} is not this deployment's tenant")
        oid = claims.get("oid")
        if not isinstance(oid, str) or not oid:
            raise AuthenticationError("the token names no object id (oid)")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthenticationError("the token's roles claim is not a list of strings")
        scp = claims.get("scp")
        app_only = claims.get("idtyp") == "app" or scp is None
        if not app_only and (not isinstance(scp, str) or not scp.strip()):
            raise AuthenticationError("the delegated token carries no scopes (scp)")
        if claims.get("idtyp") == "user" and scp is None:
            raise AuthenticationError("the user token carries no scopes (scp)")
        name = next(
            (v for c in ("preferred_username", "name", "app_displayname", "azp", "appid") if (v := claims.get(c))),
            oid,
        )
        return Principal(oid=oid, name=str(name), roles=frozenset(roles), tenant=tid, app_only=app_only)
