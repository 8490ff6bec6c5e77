"""Prometheus: callwise's metrics through the OpenTelemetry Prometheus exporter, scraped
from a real /metrics endpoint on 127.0.0.1; the Grafana dashboard queries only what
is there."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from support.paths import ROOT

import costmodel
from resilience import CircuitBreaker, CircuitOpenError, Policy, cached, telemetry
from resilience.testing import FakeClock

DASHBOARD = ROOT / "docs" / "resilience" / "callwise-dashboard.json"


@pytest.fixture
def scrape() -> Iterator[Any]:
    """Telemetry into a Prometheus reader served on a free port; returns a scraper."""
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    telemetry.enable(
        provider, traces=False, cost=costmodel.LivePricer("aws-lambda", memory_mb=2048)
    )
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)

    def get() -> dict[str, list[Any]]:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            text = response.read().decode()
        samples: dict[str, list[Any]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append(sample)
        return samples

    try:
        yield get
    finally:
        telemetry.disable()
        server.shutdown()
        thread.join(10)
        provider.shutdown()


def _traffic() -> Any:
    """Calls through one Policy; returns it (the gauges show only parts still alive)."""
    clock = FakeClock()
    calls: list[int] = []

    def quote(symbol: str) -> float:
        clock.advance(0.5)
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("reset")
        return 9.5

    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=60, clock=clock)
    fn = Policy(name="quotes", cache=cached(clock=clock), breaker=breaker, bulkhead=4, clock=clock)(
        quote
    )
    fn("A")
    fn("A")  # a cache hit
    with pytest.raises(ConnectionError):
        fn("B")  # opens the breaker
    with pytest.raises(CircuitOpenError):
        fn("C")
    return fn


def test_scrape_shows_the_callwise_series(scrape: Any) -> None:
    """A real HTTP GET of /metrics returns every callwise_* family with its labels and values."""
    alive = _traffic()
    samples = scrape()
    assert alive.policy.name == "quotes"
    count = {
        (s.labels["callwise_policy"], s.labels["callwise_outcome"]): s.value
        for s in samples["callwise_call_duration_seconds_count"]
    }
    assert count == {
        ("quotes", "ok"): 1,
        ("quotes", "cache_hit"): 1,
        ("quotes", "error"): 1,
        ("quotes", "rejected"): 1,
    }
    events = {s.labels["event_name"]: s.value for s in samples["callwise_events_total"]}
    assert events == {"cache.miss": 3, "cache.hit": 1, "breaker.opened": 1, "breaker.rejected": 1}
    state = {
        s.labels["callwise_breaker_state"]: s.value
        for s in samples["callwise_breaker_state"]
        if s.labels["callwise_policy"] == "quotes"
    }
    assert state == {"closed": 0, "open": 1, "half_open": 0}
    [limit] = [
        s.value
        for s in samples["callwise_concurrency_limit"]
        if s.labels["callwise_policy"] == "quotes"
    ]
    assert limit == 4
    cost = {s.labels["cost_component"]: s.value for s in samples["callwise_cost_USD_total"]}
    assert cost["requests"] == pytest.approx(
        2 * 0.2e-6
    )  # two attempts ran; the rejected one did not
    assert cost["compute"] == pytest.approx(2 * 2 * 0.5 * 0.0000166667)
    assert sum(s.value for s in samples["callwise_attempt_duration_seconds_sum"]) == pytest.approx(
        1.0
    )


def test_the_dashboard_queries_only_emitted_series(scrape: Any) -> None:
    """Every metric and every grouping label the Grafana dashboard queries is in the scrape."""
    alive = _traffic()
    samples = scrape()
    assert alive.policy.name == "quotes"
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert {p["title"] for p in dashboard["panels"]} >= {"Breaker state", "In flight vs limit"}
    for expr in exprs:
        for name in re.findall(r"\bcallwise_[A-Za-z_]+\b", expr):
            if name.startswith("callwise_policy") or name in _LABELS:
                continue
            assert name in samples, (name, expr)
            labels = set().union(*(s.labels for s in samples[name]))
            for group in re.findall(r"by \(([^)]*)\)", expr):
                wanted = {g.strip() for g in group.split(",")} - {"le"}
                assert wanted <= labels, (wanted - labels, expr)


_LABELS = {
    "callwise_policy",
    "callwise_function",
    "callwise_outcome",
    "callwise_breaker_state",
    "callwise_limiter",
}
