"""RS256 JSON Web Tokens made and checked with `cryptography` (no PyJWT): access tokens, JWKS, client assertions."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROLES = ["Mail.ReadWrite", "User.Read.All", "Files.Read.All", "Sites.Read.All"]


class TokenError(Exception):
    """A token that is malformed, badly signed or expired; the message says which."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def split_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, without checking the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("IDX14100: JWT is not well formed, there are no dots (.).")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("IDX14102: Unable to decode the header or payload of the JWT.") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("IDX14102: Unable to decode the header or payload of the JWT.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_rsa(public_key: rsa.RSAPublicKey, alg: str, signing_input: bytes, signature: bytes) -> None:
    """Check an RS256 or PS256 signature; raise TokenError if it does not match."""
    if alg == "RS256":
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    elif alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        raise TokenError(f"IDX10511: Signature validation failed: unsupported algorithm {alg!r}.")
    try:
        public_key.verify(signature, signing_input, pad, hashes.SHA256())
    except InvalidSignature as exc:
        raise TokenError("IDX10511: Signature validation failed.") from exc


@dataclass
class TokenIssuer:
    """Signs and checks the simulator's access tokens."""

    issuer: str
    tenant_id: str
    client_id: str
    audiences: tuple[str, ...]
    lifetime: int = 3600
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    generation: int = 0  # bumped by revoke_all; tokens carry the generation they were issued in
    _verified: dict[str, float] = field(default_factory=dict)

    @property
    def kid(self) -> str:
        numbers = self.key.public_key().public_numbers()
        return b64url(hashlib.sha256(str(numbers.n).encode()).digest()[:15])

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
        }
        return {"keys": [jwk]}

    def issue(self, audience: str, now: float | None = None) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        now = time.time() if now is None else now
        lifetime = max(1, int(self.lifetime))
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": int(now),
            "nbf": int(now) - 1,
            "exp": int(now) + lifetime,
            "tid": self.tenant_id,
            "appid": self.client_id,
            "azp": self.client_id,
            "idtyp": "app",
            "roles": ROLES,
            "ver": "1.0",
            "uti": b64url(secrets.token_bytes(16)),
            "xms_sim_gen": self.generation,
        }
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}", lifetime

    def issue_api_token(
        self,
        oid: str,
        audience: str,
        name: str = "",
        roles: tuple[str, ...] | list[str] = (),
        lifetime: int = 3600,
        app_only: bool = False,
        wrong_key: bool = False,
        issuer: str | None = None,
        tenant: str | None = None,
        now: float | None = None,
    ) -> str:
        """An Entra ID v2.0 access token for *our* restore API (not Graph): delegated (a signed-in user, scp
        "access_as_user") or app-only (idtyp "app", no scp, no user names). `roles` are app roles and appear only when
        given. A negative `lifetime` gives a token that has already expired. `wrong_key` signs with a throwaway key
        but keeps this issuer's kid (a forged signature); `issuer` / `tenant` override iss / tid."""
        now = time.time() if now is None else now
        expires = int(now) + int(lifetime)
        issued = int(now) if lifetime > 0 else expires - 3600  # an expired token was issued an hour before it expired
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": issuer or self.issuer,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "tid": tenant or self.tenant_id,
            "oid": oid,
            "sub": b64url(hashlib.sha256(f"{oid}|{audience}".encode()).digest()[:32]),  # pairwise, as Entra's
            "azp": self.client_id,
            "azpacr": "1",
            "ver": "2.0",
            "uti": b64url(secrets.token_bytes(16)),
        }
        if app_only:
            claims["idtyp"] = "app"
            if name:
                claims["app_displayname"] = name
        else:
            claims.update(name=name, preferred_username=name, scp="access_as_user")
        if roles:
            claims["roles"] = list(roles)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if wrong_key else self.key
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def revoke_all(self) -> None:
        """Make every token issued so far invalid (as if it expired now)."""
        self.generation += 1
        self._verified.clear()

    def check(self, token: str, now: float | None = None) -> dict[str, Any]:
        """Claims of a valid, unexpired token issued by this simulator; raise TokenError otherwise."""
        now = time.time() if now is None else now
        exp = self._verified.get(token)
        if exp is not None and now < exp:
            return {"exp": exp}
        header, claims, signing_input, signature = split_jwt(token)
        if header.get("kid") != self.kid:
            raise TokenError("IDX10503: Signature validation failed. The token's kid is not known.")
        verify_rsa(self.key.public_key(), str(header.get("alg")), signing_input, signature)
        if claims.get("aud") not in self.audiences:
            raise TokenError("IDX10214: Audience validation failed.")
        if claims.get("tid") != self.tenant_id:
            raise TokenError("The token's tenant does not match.")
        exp_claim = float(claims.get("exp", 0))
        if now >= exp_claim or claims.get("xms_sim_gen") != self.generation:
            raise TokenError("Lifetime validation failed, the token is expired.")
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = exp_claim
        return claims


def certificate_thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """(x5t, x5t#S256) header values of a certificate."""
    return b64url(cert.fingerprint(hashes.SHA1())), b64url(cert.fingerprint(hashes.SHA256()))


def check_client_assertion(
    assertion: str, cert: x509.Certificate, client_id: str, audiences: tuple[str, ...], now: float | None = None
) -> None:
    """Verify a client_assertion JWT (RS256 or PS256) made with the registered certificate."""
    now = time.time() if now is None else now
    header, claims, signing_input, signature = split_jwt(assertion)
    x5t, x5t_s256 = certificate_thumbprints(cert)
    given_x5t, given_s256 = (str(header.get(k, "")).rstrip("=") or None for k in ("x5t", "x5t#S256"))
    if given_x5t not in (None, x5t) or given_s256 not in (None, x5t_s256):
        raise TokenError("The certificate with the given thumbprint is not registered on the app.")
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TokenError("Unsupported key type.")
    verify_rsa(public_key, str(header.get("alg")), signing_input, signature)
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise TokenError("Client assertion application identifier doesn't match 'client_id' parameter.")
    if claims.get("aud") not in audiences:
        raise TokenError("The client assertion's audience claim does not match the token endpoint.")
    if float(claims.get("exp", 0)) < now - 300:
        raise TokenError("Client assertion is not within its valid time range.")
