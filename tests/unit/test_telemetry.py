"""core/telemetry.py on the OpenTelemetry SDK's in-memory exporters: each event's name and attributes as Application
Insights receives them (custom events), the metrics beside them, and telemetry off without the setting."""

from __future__ import annotations

import time

from core.graph.client import GraphClient
from core.telemetry import (
    EVENTS,
    MAX_TEXT,
    NO_TELEMETRY,
    PURGE_FINISHED,
    RESOURCE_FINISHED,
    RUN_FINISHED,
    RUN_STARTED,
    VERIFICATION_FINISHED,
    from_environment,
    managed_identity_client_id,
    throttled_answers,
)
from tests.telemetry_sink import TelemetrySink


class CountingGraph:
    """A stand-in with the Graph client's stats() shape (core/graph/client.py), whose counts the test moves."""

    def __init__(self) -> None:
        self.counts = {"requests": 10, "status_429": 1, "status_503": 0, "status_504": 4}

    def stats(self) -> dict[str, int]:
        return dict(self.counts)


def test_a_resource_event_carries_its_counts_duration_and_the_throttling_meanwhile():
    sink, graph = TelemetrySink(), CountingGraph()
    started = time.monotonic()
    watch = sink.telemetry.watch(graph)
    graph.counts.update(status_429=4, status_503=2, status_504=9)  # 504 is no throttling answer
    time.sleep(0.02)
    result = {
        "resource": "exchange:u1",
        "status": "partial",
        "items": 7,
        "bytes": 2048,
        "removed": 1,
        "failed_items": 2,
        "error": None,
        "kind": "shared",
        "kind_read_at": "2026-01-01T00:00:00+00:00",
    }
    sink.telemetry.resource_finished("20260101T000000Z", result, watch, graph)

    [event] = sink.events()
    assert event["name"] == RESOURCE_FINISHED
    assert event["run_id"] == "20260101T000000Z" and event["resource"] == "exchange:u1"
    assert (event["workload"], event["status"], event["kind"]) == ("exchange", "partial", "shared")
    assert (event["items"], event["bytes"], event["removed"], event["failed_items"]) == (7, 2048, 1, 2)
    assert event["throttled"] == 5 and event["suspicious"] is False
    assert 0.02 <= event["duration_seconds"] <= time.monotonic() - started  # seconds, from the watch to its end
    assert "error" not in event and "kind_read_at" not in event  # None is left out, and only the declared keys go

    assert sink.total("m365backup.resources", workload="exchange", status="partial") == 1
    assert sink.total("m365backup.items", workload="exchange") == 7
    assert sink.total("m365backup.bytes") == 2048
    assert sink.total("m365backup.graph.throttled", workload="exchange") == 5
    assert sink.total("m365backup.resource.duration", status="partial") == 1  # one measurement


def test_a_suspicious_point_and_a_long_error_are_carried():
    sink = TelemetrySink()
    result = {"resource": "onedrive:u2", "status": "failed", "error": "x" * 5000, "suspicious": True}
    sink.telemetry.resource_finished("r1", result, sink.telemetry.watch(object()), object())
    [event] = sink.events(RESOURCE_FINISHED)
    assert event["suspicious"] is True and event["throttled"] == 0  # a client without stats counts none
    assert event["error"] == "x" * MAX_TEXT


def test_run_verification_and_purge_events():
    sink = TelemetrySink()
    sink.telemetry.run_started("r1", "schedule")
    summary = {
        "run_id": "r1",
        "status": "failed",
        "resources": 3,
        "succeeded": 1,
        "partial": 1,
        "failed": 1,
        "skipped": 0,
        "items": 9,
        "bytes": 10,
        "removed": 0,
        "failed_items": 4,
        "error": "sharepoint discovery",
    }
    sink.telemetry.run_finished(summary)
    sink.telemetry.verification_finished(
        {
            "verification_id": "v1",
            "trigger": "schedule",
            "status": "problems",
            "sample": 0.1,
            "checked": 5,
            "missing": 1,
            "corrupted": 2,
            "unreadable": 0,
            "problems": [{"sha256": "ab"}],
        }
    )
    sink.telemetry.purge_finished(
        {
            "purge_id": "p1",
            "status": "partial",
            "points": 2,
            "bytes": 300,
            "deferred": 1,
            "held_resources": ["exchange:u1"],
        }
    )

    started, finished, verified, purged = sink.events()
    assert started == {"name": RUN_STARTED, "run_id": "r1", "trigger": "schedule"}
    assert finished["name"] == RUN_FINISHED and finished["status"] == "failed"
    assert {k: finished[k] for k in ("resources", "succeeded", "partial", "failed", "failed_items")} == {
        "resources": 3,
        "succeeded": 1,
        "partial": 1,
        "failed": 1,
        "failed_items": 4,
    }
    assert finished["error"] == "sharepoint discovery"
    assert verified["name"] == VERIFICATION_FINISHED and verified["status"] == "problems"
    assert (verified["missing"], verified["corrupted"], verified["sample"]) == (1, 2, 0.1)
    assert "problems" not in verified  # lists stay in the record, not in the event
    assert purged["name"] == PURGE_FINISHED and (purged["status"], purged["points"], purged["deferred"]) == (
        "partial",
        2,
        1,
    )
    assert "held_resources" not in purged
    assert sink.total("m365backup.runs", status="failed") == 1
    assert sink.total("m365backup.verification.problems", problem="corrupted") == 2
    assert sink.total("m365backup.purge.bytes") == 300
    assert set(EVENTS) == {RUN_STARTED, RUN_FINISHED, RESOURCE_FINISHED, VERIFICATION_FINISHED, PURGE_FINISHED}


def test_telemetry_is_off_without_the_connection_string():
    assert from_environment({}) is NO_TELEMETRY and not NO_TELEMETRY.enabled
    assert from_environment({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is NO_TELEMETRY
    # every method is a no-op: no exporter, nothing read from the client
    watch = NO_TELEMETRY.watch(object())
    NO_TELEMETRY.resource_finished("r", {"resource": "exchange:u"}, watch, object())
    NO_TELEMETRY.run_finished({"status": "failed"})


def test_the_authentication_string_names_the_managed_identity():
    assert managed_identity_client_id("ClientId=1234-abcd;Authorization=AAD") == "1234-abcd"
    assert managed_identity_client_id(" Authorization = aad ; ClientId = x ") == "x"
    assert managed_identity_client_id("Authorization=AAD") == ""  # the system-assigned identity
    assert managed_identity_client_id("") is None and managed_identity_client_id("ClientId=x") is None


def test_throttled_answers_reads_the_real_clients_counts():
    assert throttled_answers(CountingGraph()) == 1
    assert callable(GraphClient.stats)  # the method throttled_answers reads (core/graph/client.py)
