"""OpenTelemetry metrics and traces for every Policy and decorator, and what calls cost.

``telemetry.enable()`` turns it on for every :class:`resilience.Policy` (built before or
after) and every decorator; ``telemetry.disable()`` turns it off. Importing this module
needs nothing; :func:`enable` needs the ``otel`` extra (``pip install 'callwise[otel]'``,
the OpenTelemetry API only). callwise never configures an SDK or an exporter: the
application does (a ``MeterProvider`` with a Prometheus or OTLP reader, a
``TracerProvider``), and callwise writes to the providers it is given, or to the global
ones.

What is emitted (meter and tracer ``callwise``; every attribute is bounded: policy and
function names, outcomes, error types, never arguments, keys or ids):

- ``callwise.call.duration`` and ``callwise.attempt.duration``: histograms, seconds,
  attributes ``callwise.policy``, ``callwise.function``, ``callwise.outcome`` (the
  Ledger's outcomes), ``callwise.attempt`` (attempts made / attempt number),
  ``error.type`` on failures;
- ``callwise.events``: a counter, ``{event}``, attribute ``event.name`` from the closed
  set :data:`EVENTS`, with the policy, function, outcome and error type where known;
- observable gauges ``callwise.breaker.state`` (1 for the state each breaker is in, 0
  for the others), ``callwise.concurrency.in_flight`` and ``callwise.concurrency.limit``
  (bulkheads and adaptive limits), ``callwise.cache.size``;
- ``callwise.cost``: a counter, ``USD``, attribute ``cost.component`` (``requests``,
  ``compute``, ``transfer``), when :func:`enable` is given a :class:`Pricer`;
- spans: one per call (named after the policy), a child per attempt, span events for
  every resilience event (breaker rejections, fallbacks, cache hits, ...), a
  ``throttled`` event with ``callwise.retry_after_s`` on an attempt that failed with a
  throttling error asking for a wait (:func:`resilience.throttle_info`); invokers add a
  CLIENT span with the ``faas.invoked_*`` attributes and send its W3C trace context.

Durations and spans come from the call and attempt boundaries of a :class:`Policy`: wrap a
single decorator in one (``Policy(retry=retry(...))``) to get them; events come from
every part, alone or in a Policy. While telemetry is off, a Policy's call path has no
Python frame of telemetry's: the wrappers already on it check one switch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ._events import EVENTS, subscribe, unsubscribe
from ._observe import install
from .errors import InvalidUsage, MissingDependency
from .ledger import Record

__all__ = ["EVENTS", "METRICS", "Pricer", "disable", "enable", "enabled"]

#: Every metric callwise emits: name -> (instrument, unit).
METRICS: Mapping[str, tuple[str, str]] = {
    "callwise.call.duration": ("histogram", "s"),
    "callwise.attempt.duration": ("histogram", "s"),
    "callwise.events": ("counter", "{event}"),
    "callwise.cost": ("counter", "USD"),
    "callwise.breaker.state": ("observable gauge", "1"),
    "callwise.concurrency.in_flight": ("observable gauge", "{call}"),
    "callwise.concurrency.limit": ("observable gauge", "{call}"),
    "callwise.cache.size": ("observable gauge", "{entry}"),
}


@runtime_checkable
class Pricer(Protocol):
    """Prices one attempt: what running it cost, per component, in USD.

    callwise calls ``price(record)`` with a ``kind="attempt"`` :class:`resilience.Record`
    (function, duration, outcome, request and response bytes) after each attempt, and
    adds what it returns to ``callwise.cost``. Components are ``requests``, ``compute``
    and ``transfer``. :class:`costmodel.LivePricer` implements it from the price catalog.
    """

    def price(self, record: Record) -> Mapping[str, float]:
        """USD per component for ``record`` (an empty mapping: nothing billed)."""
        ...


_lock = threading.Lock()
_installed: Any = None  # the Telemetry of resilience._otel while enabled
_listener: Any = None  # its event listener (one bound method, so it can be unsubscribed)


def enable(
    meter_provider: Any = None,
    tracer_provider: Any = None,
    cost: Pricer | None = None,
    *,
    metrics: bool = True,
    traces: bool = True,
) -> None:
    """Turn telemetry on for every Policy and decorator; again: replace the providers.

    Args:
        meter_provider: an OpenTelemetry ``MeterProvider`` (None: the global one).
        tracer_provider: an OpenTelemetry ``TracerProvider`` (None: the global one).
        cost: a :class:`Pricer` (e.g. ``costmodel.LivePricer("aws-lambda",
            memory_mb=512)``) for the ``callwise.cost`` counter; None: no cost.
        metrics: record metrics.
        traces: record spans and propagate their context (False: metrics only, and no
            span work on the call path).

    Raises:
        MissingDependency: the ``otel`` extra (opentelemetry-api) is not installed.
        InvalidUsage: ``cost`` has no ``price(record)`` method, or both kinds are off.
    """
    if cost is not None and not isinstance(cost, Pricer):
        raise InvalidUsage(
            f"cost={cost!r}: must have a price(record) method returning USD per component, "
            "e.g. costmodel.LivePricer('aws-lambda', memory_mb=512)"
        )
    for name, value in (("metrics", metrics), ("traces", traces)):
        if not isinstance(value, bool):
            raise InvalidUsage(f"{name}={value!r}: must be True or False")
    if not (metrics or traces):
        raise InvalidUsage("metrics=False, traces=False: nothing to emit; call disable()")
    try:
        from . import _otel
    except ImportError as exc:
        raise MissingDependency("otel", "opentelemetry-api") from exc
    telemetry = _otel.Telemetry(
        meter_provider, tracer_provider, cost, metrics_on=metrics, traces_on=traces
    )
    global _installed, _listener
    with _lock:
        if _listener is not None:
            unsubscribe(_listener)
        _installed, _listener = telemetry, telemetry.on_event
        subscribe(_listener)
        install(telemetry)


def disable() -> None:
    """Turn telemetry off (idempotent): the call path is back to one check per boundary."""
    global _installed, _listener
    with _lock:
        if _listener is not None:
            unsubscribe(_listener)
        _installed = _listener = None
        install(None)


def enabled() -> bool:
    """Whether telemetry is on."""
    return _installed is not None
