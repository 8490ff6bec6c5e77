"""Telemetry enabled on fresh OpenTelemetry SDK providers, read back in memory.

:func:`enable_otel` calls ``resilience.telemetry.enable`` with a ``MeterProvider`` whose
reader is the SDK's ``InMemoryMetricReader`` and a ``TracerProvider`` exporting to an
``InMemorySpanExporter`` (explicit providers: the global ones are never touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from resilience import telemetry

__all__ = ["Otel", "enable_otel"]


@dataclass
class Otel:
    """The SDK's in-memory reader and exporter behind telemetry.enable()."""

    reader: InMemoryMetricReader
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    tracer_provider: TracerProvider

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) of metric ``name`` in one collection."""
        found = []
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += [(dict(p.attributes), p) for p in metric.data.data_points]
        return found

    def metric(self, name: str) -> Any:
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        assert scope.scope.name == "callwise"
                        return metric
        return None

    def events(self) -> dict[str, list[dict[str, Any]]]:
        """event.name -> the attribute sets counted (each with its value as 'n')."""
        out: dict[str, list[dict[str, Any]]] = {}
        for attributes, point in self.points("callwise.events"):
            out.setdefault(attributes.pop("event.name"), []).append(
                {**attributes, "n": point.value}
            )
        return out

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


def enable_otel(**options: Any) -> Otel:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.enable(meter_provider, tracer_provider, **options)
    return Otel(reader, spans, meter_provider, tracer_provider)
