"""The restore API's token validation (api/auth.py) against the tenant simulator over real loopback HTTPS: the
simulator signs user and app tokens with the key its JWKS publishes, TokenValidator fetches that JWKS with TLS
verified against the simulator's CA, and every way a token can be wrong is refused with a message that says so."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from api.auth import APP_SERVICE_TOKEN_HEADER, REFETCH_INTERVAL, Principal, TokenValidator, bearer_token
from core.config import Settings, load_settings
from core.errors import AuthenticationError
from graphsim.process import SimulatorProcess, start_simulator

API_ID = str(uuid.uuid4())
API_URI = f"api://{API_ID}"
USER = "6f1c2a9e-0b7d-4c43-9a55-3d2e8f1b7a10"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with start_simulator(tmp_path_factory.mktemp("graphsim-api"), users=1, messages=1, drive_files=1, sites=1,
                         contacts=1, events=1) as process:  # fmt: skip
        yield process


@pytest.fixture(scope="module")
def settings(sim: SimulatorProcess) -> Settings:
    env = {**sim.graph_env(), "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
           "API_AUDIENCE": f"{API_ID}, {API_URI}"}  # fmt: skip
    return load_settings(env)


class Clock:
    """A settable clock for the validator (key refetch intervals, expiry), starting at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingClient:
    """A real httpx client trusting the simulator's CA that counts the JWKS requests it sends."""

    def __init__(self, sim: SimulatorProcess) -> None:
        self.jwks_requests = 0
        context = ssl.create_default_context(cafile=sim.ca_file)
        self.http = httpx.Client(verify=context, timeout=10.0, event_hooks={"request": [self._count]})

    def _count(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/discovery/v2.0/keys"):
            self.jwks_requests += 1


@pytest.fixture
def counting(sim: SimulatorProcess) -> Iterator[CountingClient]:
    client = CountingClient(sim)
    yield client
    client.http.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def validator(settings: Settings, counting: CountingClient, clock: Clock) -> TokenValidator:
    return TokenValidator(settings, http=counting.http, clock=clock)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def reforge(token: str, header_changes: dict, key: bytes | None = None) -> str:
    """The token's claims under a changed header; HMAC-SHA256-signed with `key` if given, else unsigned."""
    header = {**jwt.get_unverified_header(token), **header_changes}
    signing_input = f"{b64(json.dumps(header).encode())}.{token.split('.')[1]}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key is not None else b""
    return f"{signing_input}.{b64(signature)}"


def test_delegated_token_is_a_user_with_roles(sim: SimulatorProcess, settings: Settings) -> None:
    token = sim.control.api_token(USER, API_URI, name="adele@contoso.com", roles=["Restore.Operator"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == settings.token_issuer == f"{sim.base_url}/{sim.tenant_id}/v2.0"
    assert claims["ver"] == "2.0" and claims["scp"] == "access_as_user" and "idtyp" not in claims
    validator = TokenValidator(settings)  # its own client: TLS verified with GRAPH_CA_BUNDLE
    try:
        principal = validator.validate(token)
    finally:
        validator.close()
    assert principal == Principal(USER, "adele@contoso.com", frozenset({"Restore.Operator"}), sim.tenant_id, False)
    assert principal.is_operator and not principal.is_admin


def test_both_audiences_are_accepted_and_a_user_without_roles_has_none(
    sim: SimulatorProcess, validator: TokenValidator
) -> None:
    principal = validator.validate(sim.control.api_token(USER, API_ID, name="me@contoso.com"))
    assert principal.roles == frozenset() and not principal.app_only
    assert "roles" not in jwt.decode(sim.control.api_token(USER, API_ID), options={"verify_signature": False})


def test_app_only_token(sim: SimulatorProcess, validator: TokenValidator) -> None:
    token = sim.control.api_token(USER, API_ID, name="nightly-export", roles=["Backup.Admin"], app_only=True)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["idtyp"] == "app" and "scp" not in claims and "preferred_username" not in claims
    principal = validator.validate(token)
    assert principal.app_only and principal.is_admin and principal.name == "nightly-export"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lifetime": -120}, "the token has expired"),
        ({"wrong_key": True}, "signature does not verify against the tenant's keys"),
        ({"audience": "api://someone-else"}, "audience 'api://someone-else' is not one this API accepts"),
        ({"issuer": "https://sts.windows.net/x/"}, "issuer 'https://sts.windows.net/x/' is not"),
        ({"tenant": "00000000-0000-0000-0000-000000000001"}, "tenant '00000000-0000-0000-0000-000000000001' is not"),
    ],
)
def test_bad_tokens_are_refused(sim: SimulatorProcess, validator: TokenValidator, options: dict, message: str) -> None:
    kwargs = {"audience": API_URI, **options}
    token = sim.control.api_token(USER, name="me@contoso.com", roles=["Backup.Admin"], **kwargs)
    with pytest.raises(AuthenticationError, match=message):
        validator.validate(token)


def test_expiry_allows_a_minute_of_clock_skew(sim: SimulatorProcess, validator: TokenValidator) -> None:
    assert validator.validate(sim.control.api_token(USER, API_URI, lifetime=-30)).oid == USER


def test_no_audience_configured_refuses_every_token(sim: SimulatorProcess, settings: Settings) -> None:
    validator = TokenValidator(dataclasses.replace(settings, api_audiences=()))
    with pytest.raises(AuthenticationError, match="API_AUDIENCE is not configured"):
        validator.validate(sim.control.api_token(USER, API_URI))
    validator.close()


def test_alg_none_and_hs256_with_the_public_key_are_refused_before_any_key_fetch(
    sim: SimulatorProcess, validator: TokenValidator, counting: CountingClient
) -> None:
    token = sim.control.api_token(USER, API_URI, roles=["Backup.Admin"])
    jwks = httpx.get(f"{sim.base_url}/{sim.tenant_id}/discovery/v2.0/keys", verify=ssl.create_default_context(
        cafile=sim.ca_file)).json()  # fmt: skip
    public_pem = jwt.PyJWK(jwks["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for forged, alg in (
        (reforge(token, {"alg": "none"}), "none"),
        (reforge(token, {"alg": "HS256"}, public_pem), "HS256"),
    ):
        with pytest.raises(AuthenticationError, match=f"signed with '{alg}'; only RS256"):
            validator.validate(forged)
    assert counting.jwks_requests == 0


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "not a token at all",
        "e30.e30.",
        "!!!.???.###",
        b64(b"{not json") + ".e30.sig",
        "x" * 20_000 + ".e30.e30",
    ],
)
def test_malformed_tokens(validator: TokenValidator, token: str) -> None:
    with pytest.raises(AuthenticationError, match=r"malformed|only RS256|names no signing key"):
        validator.validate(token)


def test_bearer_token_from_headers(sim: SimulatorProcess, validator: TokenValidator) -> None:
    token = sim.control.api_token(USER, API_URI, name="me@contoso.com")
    assert bearer_token({"Authorization": f"Bearer {token}"}) == token
    assert bearer_token(httpx.Headers({"authorization": f"bEaReR   {token} "})) == token
    assert bearer_token({"authorization": f"BEARER {token}"}) == token
    forwarded = bearer_token({APP_SERVICE_TOKEN_HEADER.lower(): token})  # what App Service Authentication sends
    assert validator.validate(forwarded).name == "me@contoso.com"
    assert bearer_token({"Authorization": "Bearer first", APP_SERVICE_TOKEN_HEADER: "second"}) == "first"
    for headers, message in [
        ({}, "Authorization header missing"),
        ({"Accept": "application/json"}, "Authorization header missing"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must use the Bearer scheme, not 'Basic'"),
        ({"Authorization": "Bearer"}, "Bearer <one access token>"),
        ({"Authorization": "Bearer a b"}, "Bearer <one access token>"),
        ({"Authorization": ""}, "Bearer scheme"),
        ({APP_SERVICE_TOKEN_HEADER: "  "}, "Authorization header missing"),
    ]:
        with pytest.raises(AuthenticationError, match=message):
            bearer_token(headers)


def test_jwks_is_fetched_once_for_many_concurrent_validations(
    sim: SimulatorProcess, validator: TokenValidator, counting: CountingClient
) -> None:
    tokens = [sim.control.api_token(f"{USER[:-2]}{n:02d}", API_URI, name=f"u{n}@contoso.com") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        principals = list(pool.map(validator.validate, tokens * 5))
    assert [p.name for p in principals[:8]] == [f"u{n}@contoso.com" for n in range(8)]
    assert counting.jwks_requests == 1


def test_unknown_kid_refetches_at_most_once_per_interval(
    sim: SimulatorProcess, validator: TokenValidator, counting: CountingClient, clock: Clock
) -> None:
    token = sim.control.api_token(USER, API_URI, lifetime=200_000)
    rotated = reforge(token, {"kid": "a-key-the-tenant-never-published"}, None)
    validator.validate(token)
    assert counting.jwks_requests == 1
    for _ in range(5):  # fetched just now: an unknown kid does not make the validator ask again
        with pytest.raises(AuthenticationError, match="signing key 'a-key-the-tenant-never-published' is not one"):
            validator.validate(rotated)
    assert counting.jwks_requests == 1
    clock.now += REFETCH_INTERVAL + 1  # five minutes later: one refetch (Entra may have rolled its keys) ...
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="is not one of the tenant's keys"):
            validator.validate(rotated)
        assert validator.validate(token).oid == USER  # ... while known keys keep working from the cache
    assert counting.jwks_requests == 2
    clock.now += REFETCH_INTERVAL - 10
    with pytest.raises(AuthenticationError, match="is not one of the tenant's keys"):
        validator.validate(rotated)
    assert counting.jwks_requests == 2
    clock.now += 24 * 3600  # a day later the cached keys are refreshed even for a known kid
    validator.validate(token)
    assert counting.jwks_requests == 3


def test_unreachable_or_untrusted_jwks_is_reported(sim: SimulatorProcess, settings: Settings) -> None:
    token = sim.control.api_token(USER, API_URI)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}"
    for changes in ({"authority_host": closed}, {"ca_bundle": ""}):  # refused connection; the simulator's CA untrusted
        validator = TokenValidator(dataclasses.replace(settings, **changes))
        with pytest.raises(AuthenticationError, match="signing keys could not be fetched"):
            validator.validate(token)
        with pytest.raises(AuthenticationError, match="next attempt after"):  # no retry storm while it is down
            validator.validate(token)
        validator.close()
