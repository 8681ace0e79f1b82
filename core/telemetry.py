"""Structured telemetry: what the backup, verification and purge paths tell Application Insights, through
OpenTelemetry, so that alert rules (infra/modules/alerts.bicep) can watch runs, resources, RPOs and verifications.

    core/backup.py, core/verify.py, core/lifecycle/purge.py ── services.telemetry.<event>(...) ──> Telemetry
        Telemetry(logger_provider, meter_provider): an event = an OpenTelemetry log record marked as an Application
            Insights custom event (attribute `microsoft.custom_event.name`), plus counters and a histogram
        NO_TELEMETRY: off; nothing is built, read or sent (tests, the CLI, local runs)
    core/bootstrap.py build_services ── from_environment() ── APPLICATIONINSIGHTS_CONNECTION_STRING set?
        yes: configure_azure_monitor once per process (Entra ID auth from APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
             the app's managed identity), a Telemetry on the providers it installed;  no: NO_TELEMETRY

Events land in `customEvents` (`AppEvents` in the Log Analytics workspace) with their attributes in
`customDimensions` (`Properties`); metrics in `customMetrics`. The event names below are the contract with the alert
rules' queries (tests/infra/test_alerts.py checks that each rule names its event). Spans are not sent: the Functions
host records every invocation already, and a span per Graph or storage request would be most of the ingestion bill.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry._logs import LoggerProvider
    from opentelemetry.metrics import MeterProvider

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"  # "ClientId=<id>;Authorization=AAD"
CUSTOM_EVENT_NAME = "microsoft.custom_event.name"  # the attribute that makes a log record a custom event
SCOPE = "m365backup"  # instrumentation scope of the events' logger and the metrics' meter

RUN_STARTED = "m365backup.run.started"
RUN_FINISHED = "m365backup.run.finished"
RESOURCE_FINISHED = "m365backup.resource.finished"
VERIFICATION_FINISHED = "m365backup.verification.finished"
PURGE_FINISHED = "m365backup.purge.finished"
EVENTS = (RUN_STARTED, RUN_FINISHED, RESOURCE_FINISHED, VERIFICATION_FINISHED, PURGE_FINISHED)

_RUN_KEYS = (
    "run_id",
    "status",
    "resources",
    "succeeded",
    "partial",
    "failed",
    "skipped",
    "items",
    "bytes",
    "removed",
    "failed_items",
    "error",
)
_RESOURCE_KEYS = ("resource", "status", "items", "bytes", "removed", "failed_items", "error", "kind")
_VERIFICATION_KEYS = (
    "verification_id",
    "trigger",
    "status",
    "sample",
    "resources",
    "versions",
    "blobs",
    "checked",
    "bytes",
    "missing",
    "corrupted",
    "unreadable",
)
_PURGE_KEYS = (
    "purge_id",
    "trigger",
    "status",
    "resources",
    "held",
    "failed",
    "marked",
    "points",
    "versions",
    "blobs",
    "bytes",
    "still_protected",
    "deferred",
    "erasures",
    "error",
)
_THROTTLED = ("status_429", "status_503")  # the Graph client's counts of throttling answers (core/graph/client.py)
MAX_TEXT = 500  # characters of an error text an event carries


@dataclass(frozen=True)
class Stopwatch:
    """When a resource's backup began, and the Graph client's throttling answers until then."""

    started: float
    throttled: int


def throttled_answers(graph: Any) -> int:
    """429 and 503 answers the Graph client has received so far (0 for a client that does not count them)."""
    stats = graph.stats() if hasattr(graph, "stats") else {}
    return sum(int(stats.get(key, 0)) for key in _THROTTLED)


def _picked(source: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str | int | float | bool]:
    """The keys of `source` whose values an OpenTelemetry attribute can hold; texts cut to MAX_TEXT, None left out."""
    picked: dict[str, str | int | float | bool] = {}
    for key in keys:
        value = source.get(key)
        if isinstance(value, bool | int | float):
            picked[key] = value
        elif isinstance(value, str) and value:
            picked[key] = value[:MAX_TEXT]
    return picked


class Telemetry:
    """Events and metrics on OpenTelemetry providers (the SDK's: Azure Monitor's in Azure, in-memory ones in tests).
    One instance per process is enough; every method is safe from any thread."""

    enabled = True

    def __init__(self, logger_provider: LoggerProvider, meter_provider: MeterProvider) -> None:
        from opentelemetry._logs import SeverityNumber

        self._info = SeverityNumber.INFO
        self._logger = logger_provider.get_logger(SCOPE)
        meter = meter_provider.get_meter(SCOPE)
        self._runs = meter.create_counter("m365backup.runs", unit="{run}", description="Backup runs finished")
        self._resources = meter.create_counter(
            "m365backup.resources", unit="{resource}", description="Resources backed up, by workload and status"
        )
        self._duration = meter.create_histogram(
            "m365backup.resource.duration", unit="s", description="Time one resource's backup took"
        )
        self._items = meter.create_counter("m365backup.items", unit="{item}", description="Item versions captured")
        self._bytes = meter.create_counter("m365backup.bytes", unit="By", description="Content bytes newly stored")
        self._throttled = meter.create_counter(
            "m365backup.graph.throttled",
            unit="{response}",
            description="Graph 429/503 answers while a resource was backed up",
        )
        self._problems = meter.create_counter(
            "m365backup.verification.problems",
            unit="{blob}",
            description="Blobs a verification found missing, corrupted or unreadable",
        )
        self._purged = meter.create_counter("m365backup.purge.bytes", unit="By", description="Bytes a purge removed")

    def event(self, name: str, attributes: Mapping[str, str | int | float | bool]) -> None:
        """One custom event `name` with its attributes (what the typed methods below send)."""
        self._logger.emit(
            body=name,
            event_name=name,
            severity_number=self._info,
            severity_text="INFO",
            attributes={**attributes, CUSTOM_EVENT_NAME: name},
        )

    # -- backup runs (core/backup.py) ----------------------------------------------------------------------------
    def run_started(self, run_id: str, trigger: str) -> None:
        self.event(RUN_STARTED, {"run_id": run_id, "trigger": trigger})

    def run_finished(self, summary: Mapping[str, Any]) -> None:
        """A run's summary (core.planning.summarize): its status and counts."""
        self.event(RUN_FINISHED, _picked(summary, _RUN_KEYS))
        self._runs.add(1, {"status": str(summary.get("status", ""))})

    def watch(self, graph: Any) -> Stopwatch:
        """Taken when a resource's backup begins, handed to resource_finished."""
        return Stopwatch(time.monotonic(), throttled_answers(graph))

    def resource_finished(self, run_id: str, result: Mapping[str, Any], watch: Stopwatch, graph: Any) -> None:
        """One resource's result (core.backup.backup_resource), how long it took and the Graph client's throttling
        answers meanwhile (the client is shared: resources backed up at the same time in one process share them).
        `suspicious` is the ransomware signal's flag on the restore point, when the result carries it."""
        attributes: dict[str, str | int | float | bool] = {"run_id": run_id, **_picked(result, _RESOURCE_KEYS)}
        workload = str(result.get("resource", "")).partition(":")[0]
        seconds = round(max(0.0, time.monotonic() - watch.started), 3)
        throttled = max(0, throttled_answers(graph) - watch.throttled)
        attributes.update(
            workload=workload, duration_seconds=seconds, throttled=throttled, suspicious=bool(result.get("suspicious"))
        )
        self.event(RESOURCE_FINISHED, attributes)
        labels = {"workload": workload, "status": str(result.get("status", ""))}
        self._resources.add(1, labels)
        self._duration.record(seconds, labels)
        self._items.add(int(result.get("items") or 0), {"workload": workload})
        self._bytes.add(int(result.get("bytes") or 0), {"workload": workload})
        self._throttled.add(throttled, {"workload": workload})

    # -- verification (core/verify.py) and purge (core/lifecycle/purge.py) ---------------------------------------
    def verification_finished(self, summary: Mapping[str, Any]) -> None:
        """A verification's record (core.verify.summarize): status 'ok' or 'problems', and its counts."""
        self.event(VERIFICATION_FINISHED, _picked(summary, _VERIFICATION_KEYS))
        for problem in ("missing", "corrupted", "unreadable"):
            self._problems.add(int(summary.get(problem) or 0), {"problem": problem})

    def purge_finished(self, summary: Mapping[str, Any]) -> None:
        """A purge's record (core.lifecycle.purge.summarize): status and what it removed."""
        self.event(PURGE_FINISHED, _picked(summary, _PURGE_KEYS))
        self._purged.add(int(summary.get("bytes") or 0), {"status": str(summary.get("status", ""))})


class NoTelemetry(Telemetry):
    """Telemetry off: every method returns at once, nothing is read, built or imported."""

    enabled = False
    _IDLE = Stopwatch(0.0, 0)

    def __init__(self) -> None:
        pass

    def event(self, name: str, attributes: Mapping[str, str | int | float | bool]) -> None:
        return None

    def run_started(self, run_id: str, trigger: str) -> None:
        return None

    def run_finished(self, summary: Mapping[str, Any]) -> None:
        return None

    def watch(self, graph: Any) -> Stopwatch:
        return self._IDLE

    def resource_finished(self, run_id: str, result: Mapping[str, Any], watch: Stopwatch, graph: Any) -> None:
        return None

    def verification_finished(self, summary: Mapping[str, Any]) -> None:
        return None

    def purge_finished(self, summary: Mapping[str, Any]) -> None:
        return None


NO_TELEMETRY = NoTelemetry()


def managed_identity_client_id(authentication: str) -> str | None:
    """The client id an APPLICATIONINSIGHTS_AUTHENTICATION_STRING names ("ClientId=<id>;Authorization=AAD"): ''
    for the system-assigned identity (Authorization=AAD without a ClientId), None when it asks for no Entra ID auth."""
    parts = dict(part.split("=", 1) for part in authentication.split(";") if "=" in part)
    fields = {key.strip().lower(): value.strip() for key, value in parts.items()}
    if fields.get("authorization", "").upper() != "AAD":
        return None
    return fields.get("clientid", "")


def from_environment(environ: Mapping[str, str] | None = None) -> Telemetry:
    """The process's telemetry: Azure Monitor's when APPLICATIONINSIGHTS_CONNECTION_STRING is set (configured on
    the first call, the same instance afterwards), NO_TELEMETRY otherwise."""
    import os

    environ = os.environ if environ is None else environ
    connection = environ.get(CONNECTION_SETTING, "").strip()
    if not connection:
        return NO_TELEMETRY
    return _azure_monitor(connection, environ.get(AUTHENTICATION_SETTING, "").strip())


@cache
def _azure_monitor(connection: str, authentication: str) -> Telemetry:
    """configure_azure_monitor, once per process: it installs the global OpenTelemetry providers."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.metrics import get_meter_provider
    from opentelemetry.sdk.resources import Resource

    options: dict[str, Any] = {"connection_string": connection, "disable_tracing": True, "logger_name": SCOPE}
    client_id = managed_identity_client_id(authentication)
    if client_id is not None:  # local (key) ingestion is off in infra/modules/monitoring.bicep: Entra ID it is
        from azure.identity import ManagedIdentityCredential

        options["credential"] = ManagedIdentityCredential(client_id=client_id or None)
    configure_azure_monitor(resource=Resource.create({"service.name": "m365-backup"}), **options)
    return Telemetry(get_logger_provider(), get_meter_provider())
