"""Property-based fuzzing of the restore API from its own OpenAPI document (schemathesis + hypothesis), over real
loopback HTTP: every operation, with schema-valid (positive) and schema-violating (negative) data, as Backup.Admin so
requests reach the handlers, plus a pass without a valid token. Whatever comes in: no 5xx, every error is an RFC 9457
problem whose `status` is the HTTP status, the responses match the OpenAPI document, and a rejected request (any
4xx) changes nothing in the tenant and records no restore job. At least MIN_CASES requests are sent, reproducibly
(derandomized, no example database)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.harness import ADMIN, Api

MIN_CASES = 1_000
# Per operation and mode. Hypothesis stops at once on the four operations without any input (GET /me, /dashboard,
# /dashboard/data, /backups/current: one possible request, no negative one) and early on small input spaces, so
# the budget is well above MIN_CASES / (13 operations x 2 modes); a run sends about 1,340 requests.
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 45}
UNAUTHENTICATED_EXAMPLES = 8
BACKUP_EXAMPLES = 12  # POST /backups with valid data starts a real backup run: a few are enough
PROBLEM = "application/problem+json"
# Where the OpenAPI document would be incomplete, the check that compares against it could be skipped for that
# operation and status only (none today: the 409 of POST /backups and the media types of downloads are documented).
DOCUMENTATION_GAPS: dict[tuple[str, str, int], Any] = {}
# Statuses a schema-valid request may legitimately get: 400 is the API's answer to combinations the schema cannot
# express (run_id and at together, a garbled continuation token, a category of another workload, ...).
POSITIVE_STATUSES = ["2xx", "400", "401", "403", "404", "409"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer not.a.jwt"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
]


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,  # the same cases on every run: CI failures reproduce
        database=None,  # no example database: nothing saved from one run, nothing replayed in the next
        deadline=None,  # a request over loopback to a real server is not a unit of work hypothesis can time
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )


@dataclass
class Fuzz:
    """Sends cases to the served API and checks each answer; counts what was sent and what came back."""

    api: Api
    session: requests.Session = field(default_factory=requests.Session)
    sent: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)  # why requests without a valid token were refused
    label: str = ""
    _state: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self._state = self._tenant_state()

    def _tenant_state(self) -> tuple[int, int]:
        """(Graph writes the simulator has seen, restore jobs recorded): what a rejected request must not change."""
        return self.api.writes(), self.api.tenant.services.restore_jobs.count()

    def send(self, case: Case, headers: dict[str, str] | None) -> Response:
        """Send one case and check the answer: no 5xx, problem+json errors, nothing changed by a rejection.
        The tenant state is read once per call: after one call is before the next (the only thing running besides
        is a backup the fuzzing may have started, which reads the tenant and writes storage, never the tenant)."""
        response = case.call(base_url=self.api.url, session=self.session, headers=headers, timeout=60)
        self.sent += 1
        status = response.status_code
        self.statuses[(self.label, status)] += 1
        assert status < 500, f"server error:\n{self.shown(case, headers, response)}"
        before, self._state = self._state, self._tenant_state()
        if status == 202 and case.path == "/api/v1/restores":
            self.api.server.orchestrations.wait_idle()  # a valid restore (unlikely) writes: let it end, start afresh
            self._state = self._tenant_state()
        if status >= 400:
            kind = _header(response, "content-type")
            assert kind == PROBLEM, f"an error without problem details:\n{self.shown(case, headers, response)}"
            assert response.json().get("status") == status, (
                f"the problem's status is not the HTTP status:\n{self.shown(case, headers, response)}"
            )
            assert self._state == before, (
                f"a rejected request changed (Graph writes, restore jobs) {before} -> {self._state}:\n"
                f"{self.shown(case, headers, response)}"
            )
        return response

    def shown(self, case: Case, headers: dict[str, str] | None, response: Response) -> str:
        """The request as a curl command (the token filtered out) and the start of the answer."""
        curl = case.as_curl_command(headers=headers, base_url=self.api.url)
        return f"{curl}\n-> {response.status_code} {response.content[:500].decode('utf-8', 'replace')}"

    def validate(self, case: Case, response: Response, headers: dict[str, str]) -> None:
        """schemathesis's own checks against the OpenAPI document, minus the documented exceptions above."""
        gap = DOCUMENTATION_GAPS.get((case.method.upper(), case.path, response.status_code))
        excluded = [gap] if gap is not None else []
        case.validate_response(
            response,
            checks=CHECKS,
            excluded_checks=excluded,
            headers=headers,
            transport_kwargs={"base_url": self.api.url, "session": self.session, "headers": headers},
        )

    def run(self, label: str, strategy: Any, examples: int, test: Callable[[Case], None]) -> None:
        """Up to `examples` cases from `strategy` through `test`; a failure (shrunk by hypothesis) is recorded
        under `label` and the next operation goes on."""
        self.label = label

        @_settings(examples)
        @given(case=strategy)
        def property_(case: Case) -> None:
            test(case)

        try:
            property_()
        except (AssertionError, Failure, FailureGroup) as error:
            self.failures[label] = str(error)


def _header(response: Response, name: str) -> str:
    """One header of a schemathesis response (its headers map lower-case names to lists of values)."""
    values = response.headers.get(name.lower()) or [""]
    return values[0]


@dataclass(frozen=True)
class Known:
    """Values of the backed-up tenant that random data never hits: positive cases use them part of the time, so
    that requests get past "no such resource" into browsing, searching, downloading and restore validation."""

    resources: list[str]
    runs: list[str]
    items: list[tuple[str, str]]  # (resource, item id)
    folders: list[tuple[str, str]]  # (resource, top-level folder path)

    @classmethod
    def read(cls, api: Api) -> Known:
        runs = [run["run_id"] for run in api.tenant.services.runs.list()]
        items: list[tuple[str, str]] = []
        folders: list[tuple[str, str]] = []
        with api.admin() as admin:
            listed = admin.get("/api/v1/resources").raise_for_status().json()["items"]
            resources = [row["resource"] for row in listed]  # one (a user without a drive) has no good backup
            for key in (row["resource"] for row in listed if row["last_good_run_id"]):
                page = admin.get(f"/api/v1/resources/{key}/items", params={"page_size": 3}).raise_for_status().json()
                items += [(key, item["id"]) for item in page["items"]]
                tree = admin.get(f"/api/v1/resources/{key}/tree").raise_for_status().json()
                folders += [(key, folder["name"]) for folder in tree["folders"][:3]]
        assert resources and runs and items and folders
        return cls(resources, runs, items, folders)

    def strategy(self, operation: Any) -> Any:
        """Positive cases of `operation`: schemathesis's own, or (as often) ones aimed at the backed-up data."""
        generated = operation.as_strategy()
        label = operation.label
        aimed: list[Any] = []
        if "{resource}" in operation.path:
            aimed.append(
                st.sampled_from(self.resources).flatmap(
                    lambda key: operation.as_strategy(path_parameters={"resource": key})
                )
            )
        if label.endswith("/download"):
            aimed.append(
                st.sampled_from(self.items).flatmap(
                    lambda pair: operation.as_strategy(
                        path_parameters={"resource": pair[0]}, query={"item_id": pair[1]}
                    )
                )
            )
        if label.endswith(("/tree", "/items", "/export")):
            name = "path" if label.endswith("/tree") else "folder"
            aimed.append(
                st.sampled_from(self.folders).flatmap(
                    lambda pair: operation.as_strategy(path_parameters={"resource": pair[0]}, query={name: pair[1]})
                )
            )
        if label == "GET /api/v1/runs/{run_id}":
            aimed.append(
                st.sampled_from(self.runs).flatmap(lambda run: operation.as_strategy(path_parameters={"run_id": run}))
            )
        if label == "POST /api/v1/restores":
            aimed.append(st.tuples(generated, st.sampled_from(self.resources)).map(_restore_of))
        return st.one_of(generated, *aimed) if aimed else generated


def _restore_of(pair: tuple[Case, str]) -> Case:
    """A generated restore request, of a resource that has a backup."""
    case, key = pair
    if isinstance(case.body, dict):
        case.body["resource"] = key
    return case


def _has_inputs(operation: Any) -> bool:
    """Whether the operation takes parameters or a body (the bearer token aside)."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _schema(document: dict[str, Any], security_parameters: bool) -> Any:
    """A schemathesis schema of the document. Without security parameters schemathesis leaves the Authorization
    header to us (the admin token), so a negative case's mutations are all in the operation's own parameters and
    body; with them, it generates (bogus) bearer tokens of its own."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {"with-security-parameters": security_parameters},
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        }
    )
    return schemathesis.openapi.from_dict(document, config=config)


def test_fuzz_the_api_from_its_openapi_document(api: Api) -> None:
    """Every operation of the served OpenAPI document: positive and negative data as Backup.Admin, positive data
    without a valid token; at least MIN_CASES requests, each answer checked as `Fuzz.send` and `Fuzz.validate` say."""
    document = httpx.get(f"{api.url}/api/v1/openapi.json", timeout=30).raise_for_status().json()  # as served
    with_admin_token, with_own_tokens = _schema(document, False), _schema(document, True)
    operations = [result.ok() for result in with_admin_token.get_all_operations()]
    assert len(operations) >= 17, [op.label for op in operations]
    bogus = {op.label: op for op in (result.ok() for result in with_own_tokens.get_all_operations())}
    admin = {"Authorization": f"Bearer {api.token('00000000-0000-0000-0000-0000000000f0', (ADMIN,))}"}
    fuzz, known = Fuzz(api), Known.read(api)
    started = time.monotonic()

    def as_admin(case: Case) -> None:
        fuzz.validate(case, fuzz.send(case, admin), admin)

    def unauthenticated(case: Case) -> None:
        """One case in five with schemathesis's own generated (bogus) Authorization header, the others with none
        or a fixed bad one."""
        choice = fuzz.sent % (len(BAD_CREDENTIALS) + 1)
        headers = BAD_CREDENTIALS[choice - 1] if choice else None
        if headers == {}:  # no Authorization header at all: drop the generated one
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = fuzz.send(case, headers)
        assert response.status_code == 401, f"not 401 without a valid token:\n{fuzz.shown(case, headers, response)}"
        assert _header(response, "www-authenticate").startswith("Bearer")
        fuzz.refusals[response.json()["detail"].split(":")[0]] += 1

    try:
        for operation in operations:
            for mode, examples in EXAMPLES.items():
                if mode.is_negative and not _has_inputs(operation):
                    continue  # nothing to make invalid (GET /me, /dashboard, ...): hypothesis finds no case
                if mode.is_positive and operation.label == "POST /api/v1/backups":
                    examples = BACKUP_EXAMPLES
                strategy = (
                    known.strategy(operation) if mode.is_positive else operation.as_strategy(generation_mode=mode)
                )
                fuzz.run(f"{operation.label} [{mode.value}]", strategy, examples, as_admin)
            fuzz.run(f"{operation.label} [no valid token]", bogus[operation.label].as_strategy(),
                     UNAUTHENTICATED_EXAMPLES, unauthenticated)  # fmt: skip
    finally:
        fuzz.session.close()
        api.server.orchestrations.wait_idle()  # a backup (or restore) the fuzzing started ends inside this test
    elapsed = time.monotonic() - started
    print(f"\n{fuzz.sent} cases in {elapsed:.0f} s; by operation and status:")
    for (label, status), count in sorted(fuzz.statuses.items()):
        print(f"  {label:60} {status} x {count}")
    print(f"refused without a valid token: {dict(fuzz.refusals)}")
    report = "\n\n".join(f"=== {label}\n{text}" for label, text in fuzz.failures.items())
    assert not fuzz.failures, f"{len(fuzz.failures)} operations failed:\n{report}"
    assert fuzz.sent >= MIN_CASES
