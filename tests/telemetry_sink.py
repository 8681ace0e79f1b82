"""Telemetry into the OpenTelemetry SDK's in-memory exporters (real SDK providers and processors, nothing mocked):
what core/telemetry.py sent, as the events and metric points a test asserts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from core.telemetry import CUSTOM_EVENT_NAME, Telemetry


@dataclass
class TelemetrySink:
    logs: InMemoryLogRecordExporter = field(default_factory=InMemoryLogRecordExporter)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def __post_init__(self) -> None:
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.telemetry = Telemetry(logger_provider, MeterProvider(metric_readers=[self.reader]))

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The custom events sent (in order), each as its attributes plus 'name' (the custom event name)."""
        found = []
        for record in self.logs.get_finished_logs():
            attributes = dict(record.log_record.attributes or {})
            event = attributes.pop(CUSTOM_EVENT_NAME, None)
            assert event == record.log_record.event_name == record.log_record.body, "not a custom event"
            if name is None or event == name:
                found.append({"name": event, **attributes})
        return found

    def clear(self) -> None:
        self.logs.clear()

    def metric(self, name: str) -> dict[tuple[tuple[str, Any], ...], float]:
        """A metric's points: sorted attribute pairs -> value (a counter's sum, a histogram's count)."""
        points: dict[tuple[tuple[str, Any], ...], float] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        key = tuple(sorted((point.attributes or {}).items()))
                        points[key] = getattr(point, "value", None) if hasattr(point, "value") else point.count
        return points

    def total(self, name: str, **where: Any) -> float:
        """A metric summed over the points whose attributes include `where`."""
        return sum(v for k, v in self.metric(name).items() if set(where.items()) <= set(k))
