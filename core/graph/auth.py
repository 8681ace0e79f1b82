"""App-only Graph tokens through msal (client credentials with a certificate or a secret), cached until expiry.

The sign-in authority host and the Graph endpoint are settings, so national clouds work. Authority validation and
instance discovery stay on for Microsoft's clouds and are turned off only for a configured non-public authority
(the local tenant simulator), whose CA bundle is trusted through GRAPH_CA_BUNDLE.
"""

from __future__ import annotations

import base64
import threading
import time

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from core.config import Settings
from core.errors import ConfigError, GraphAuthError


def _certificate_credential(raw: str) -> dict[str, str]:
    """msal's certificate credential from PEM text (key + certificate) or base64 PKCS#12 (Key Vault's form)."""
    if "-----BEGIN" in raw:
        pem = raw.encode()
        key = serialization.load_pem_private_key(pem, password=None)
        cert = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])
    else:
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(raw), password=None)
        except ValueError as exc:
            raise ConfigError(f"GRAPH_CLIENT_CERTIFICATE is neither PEM nor base64 PKCS#12: {exc}") from None
        if key is None or cert is None:
            raise ConfigError("GRAPH_CLIENT_CERTIFICATE must hold both the private key and the certificate")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "private_key": key_pem,
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


_REFRESH_MARGIN = 300.0  # seconds before expiry at which a token is renewed


class TokenProvider:
    """Thread-safe source of bearer tokens for Graph; msal's cache returns the cached token until near expiry."""

    def __init__(self, settings: Settings) -> None:
        credential: str | dict[str, str]
        if settings.client_certificate:
            credential = _certificate_credential(settings.client_certificate)
        else:
            credential = settings.client_secret
        session = requests.Session()
        if settings.ca_bundle:
            session.verify = settings.ca_bundle
            session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would override verify
        public = settings.is_public_cloud_authority
        try:  # msal reads the authority's OpenID configuration here: the first contact with the sign-in host
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=credential,
                authority=f"{settings.authority_host}/{settings.tenant_id}",
                validate_authority=public,
                instance_discovery=public,
                http_client=session,
            )
        except (requests.RequestException, ValueError, msal.exceptions.MsalError) as exc:
            raise GraphAuthError(f"could not use the sign-in authority {settings.authority_host}: {exc}") from exc
        self._scopes = [f"{settings.graph_endpoint}/.default"]
        self._lock = threading.Lock()
        self._token = ""
        self._refresh_at = 0.0

    def token(self) -> str:
        """A valid token; held here until 5 minutes before it expires, so the hot path is one comparison (msal's
        own cache would be asked, under this lock, for every Graph request otherwise)."""
        now = time.monotonic()
        if self._token and now < self._refresh_at:
            return self._token
        with self._lock:
            if self._token and now < self._refresh_at:
                return self._token
            try:
                result = self._app.acquire_token_for_client(scopes=self._scopes)
            except (requests.RequestException, ValueError, msal.exceptions.MsalError) as exc:
                raise GraphAuthError(f"could not reach the sign-in authority: {exc}") from exc
            if "access_token" not in result:
                raise GraphAuthError(
                    f"no Graph token: {result.get('error')}: {result.get('error_description', '')}".strip(),
                    code=str(result.get("error", "")),
                )
            lifetime = float(result.get("expires_in") or 0)
            self._token = str(result["access_token"])
            self._refresh_at = now + max(lifetime - _REFRESH_MARGIN, lifetime / 2)
            return self._token

    def invalidate(self) -> None:
        """Forget cached tokens (after Graph answered 401 to one of them)."""
        with self._lock:
            self._token = ""
            cache = self._app.token_cache
            for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(token)
