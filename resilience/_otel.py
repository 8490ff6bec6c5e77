"""The OpenTelemetry side of :mod:`resilience.telemetry`: instruments, spans, listeners.

The only module of callwise that imports the OpenTelemetry **API** (never the SDK, never
an exporter: the application configures those). :func:`resilience.telemetry.enable`
builds one :class:`Telemetry` and installs it in :mod:`resilience._observe` and as a
listener of :mod:`resilience._events`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from ._events import EVENTS
from ._observe import CallState, Site, current, hooks, live_parts, logger
from ._recording import error_type_of, outcome_of
from ._validate import is_async
from .adaptive_limit import AdaptiveLimiter
from .breaker import CircuitBreaker
from .bulkhead import Bulkhead
from .ledger import OUTCOMES, Record, collect_sizes, report_sizes
from .throttling import throttle_info

__all__ = [
    "BOUNDED_ATTRIBUTES",
    "BREAKER_STATES",
    "COST_COMPONENTS",
    "DURATION_BUCKETS_S",
    "Telemetry",
]

log = logger("resilience.telemetry")

#: Histogram buckets for call and attempt durations, seconds (the OpenTelemetry FaaS
#: conventions' buckets for ``faas.invoke_duration``).
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
#: Event attributes that go on the ``callwise.events`` counter (all bounded); the others
#: an event carries go on span events only.
BOUNDED_ATTRIBUTES: tuple[str, ...] = (
    "callwise.policy",
    "callwise.function",
    "callwise.outcome",
    "error.type",
)
#: Values of ``callwise.breaker.state`` on the breaker state gauge.
BREAKER_STATES: tuple[str, ...] = ("closed", "open", "half_open")
#: Values of ``cost.component`` on the ``callwise.cost`` counter.
COST_COMPONENTS: tuple[str, ...] = ("requests", "compute", "transfer")

_OUTCOMES = frozenset(OUTCOMES)
_NO_SPAN: tuple[None, None] = (None, None)
_MARKS = {"fallback": "fallback", "cache.hit": "cache_hit", "cache.stale": "cache_hit"}


def _version() -> str | None:
    try:
        return version("callwise")
    except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
        return None


class Telemetry:
    """Instruments and a tracer, and the hooks :mod:`resilience._observe` calls.

    Args:
        meter_provider: where metrics go (None: the global one); None with
            ``metrics=False``.
        tracer_provider: where spans go (None: the global one).
        pricer: prices each attempt for ``callwise.cost`` (None: no cost counter).
        metrics: record metrics.
        traces: record spans (and propagate their context through the invokers).
    """

    def __init__(
        self,
        meter_provider: Any,
        tracer_provider: Any,
        pricer: Any,
        *,
        metrics_on: bool,
        traces_on: bool,
    ) -> None:
        self.pricer = pricer
        self.metrics_on = metrics_on
        self.tracer: trace.Tracer | None = None
        if traces_on:
            provider = tracer_provider or trace.get_tracer_provider()
            self.tracer = provider.get_tracer("callwise", _version())
        self._attributes: dict[tuple[Site, str, int, str | None], dict[str, Any]] = {}
        if metrics_on:
            self._instruments(meter_provider or metrics.get_meter_provider())

    def _instruments(self, provider: Any) -> None:
        meter = provider.get_meter("callwise", _version())
        self.call_duration = meter.create_histogram(
            "callwise.call.duration",
            unit="s",
            description="Duration of each logical call through a callwise Policy.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.attempt_duration = meter.create_histogram(
            "callwise.attempt.duration",
            unit="s",
            description="Duration of each attempt (each try, or rejection) of a call.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.events = meter.create_counter(
            "callwise.events", unit="{event}", description="Resilience events, by event.name."
        )
        self.cost = meter.create_counter(
            "callwise.cost",
            unit="USD",
            description="Estimated cost of the attempts, at the marginal first-tier price.",
        )
        meter.create_observable_gauge(
            "callwise.breaker.state",
            callbacks=[self._breaker_states],
            unit="1",
            description="1 for the state each breaker is in, 0 for the others.",
        )
        meter.create_observable_gauge(
            "callwise.concurrency.in_flight",
            callbacks=[self._in_flight],
            unit="{call}",
            description="Calls holding a slot of a bulkhead or an adaptive limit.",
        )
        meter.create_observable_gauge(
            "callwise.concurrency.limit",
            callbacks=[self._limits],
            unit="{call}",
            description="Slots of a bulkhead, or the current limit of an adaptive limit.",
        )
        meter.create_observable_gauge(
            "callwise.cache.size",
            callbacks=[self._cache_sizes],
            unit="{entry}",
            description="Values a cached function holds.",
        )

    # -- metrics attributes ------------------------------------------------------------

    def _attrs(self, site: Site, outcome: str, attempt: int, error: str | None) -> dict[str, Any]:
        key = (site, outcome, attempt, error)
        found = self._attributes.get(key)
        if found is None:
            found = {
                "callwise.policy": site.policy,
                "callwise.function": site.function,
                "callwise.outcome": outcome,
                "callwise.attempt": attempt,
            }
            if error is not None:
                found["error.type"] = error
            if len(self._attributes) < 10_000:  # bounded, but never unbounded memory
                self._attributes[key] = found
        return found

    # -- calls -------------------------------------------------------------------------

    def _open(self, site: Site, state: CallState, kind: str) -> tuple[Any, Any]:
        tracer = self.tracer
        if tracer is None:
            return _NO_SPAN
        attributes: dict[str, Any] = {
            "callwise.policy": site.policy,
            "callwise.function": site.function,
        }
        name = site.policy
        if kind == "attempt":
            attributes["callwise.attempt"] = state.attempts
            name = f"{site.policy} attempt"
        span = tracer.start_span(name, attributes=attributes)
        return span, otel_context.attach(trace.set_span_in_context(span))

    @staticmethod
    def _close_span(span: Any, token: Any, outcome: str, attempt: int, error: str | None) -> None:
        otel_context.detach(token)
        if error is None:
            span.set_attributes({"callwise.outcome": outcome, "callwise.attempt": attempt})
        else:
            span.set_attributes(
                {"callwise.outcome": outcome, "callwise.attempt": attempt, "error.type": error}
            )
            if outcome not in ("fallback", "cache_hit"):
                span.set_status(Status(StatusCode.ERROR))
        span.end()

    def _end_call(
        self, state: CallState, start_s: float, exc: BaseException | None, span: Any, token: Any
    ) -> None:
        site = state.site
        duration_s = site.clock.monotonic() - start_s
        error: str | None
        if exc is not None:
            outcome, error = outcome_of(exc), error_type_of(exc)
        else:
            outcome, error = state.outcome or "ok", state.error_type
        if self.metrics_on:
            self.call_duration.record(duration_s, self._attrs(site, outcome, state.attempts, error))
        if span is not None:
            self._close_span(span, token, outcome, state.attempts, error)

    def run_call(self, site: Site, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        state = CallState(site)
        reset = current.set(state)
        span, token = _NO_SPAN if self.tracer is None else self._open(site, state, "call")
        start_s = site.clock.monotonic()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._end_call(state, start_s, exc, span, token)
            raise
        finally:
            current.reset(reset)
        self._end_call(state, start_s, None, span, token)
        return result

    async def arun_call(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: Any, kwargs: Any
    ) -> Any:
        state = CallState(site)
        reset = current.set(state)
        span, token = _NO_SPAN if self.tracer is None else self._open(site, state, "call")
        start_s = site.clock.monotonic()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._end_call(state, start_s, exc, span, token)
            raise
        finally:
            current.reset(reset)
        self._end_call(state, start_s, None, span, token)
        return result

    # -- attempts ----------------------------------------------------------------------

    def _attempt_state(self, site: Site) -> CallState:
        state = current.get()
        if state is None or state.site is not site:
            state = CallState(site)  # outside its call layer (a thread without the context)
        state.attempts += 1
        return state

    def _end_attempt(
        self,
        state: CallState,
        number: int,
        start_s: float,
        exc: BaseException | None,
        opened: tuple[Any, Any],
        sizes: Any,
    ) -> None:
        site = state.site
        duration_s = site.clock.monotonic() - start_s
        outcome = "ok" if exc is None else outcome_of(exc)
        error = None if exc is None else error_type_of(exc)
        if self.metrics_on:
            self.attempt_duration.record(duration_s, self._attrs(site, outcome, number, error))
        if sizes is not None:
            self._price(site, start_s, duration_s, outcome, number, error, sizes)
        span, token = opened
        if span is not None:
            if exc is not None:
                _retry_hint(span, exc)
            self._close_span(span, token, outcome, number, error)

    def run_attempt(self, site: Site, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        state = self._attempt_state(site)
        number = state.attempts
        opened = _NO_SPAN if self.tracer is None else self._open(site, state, "attempt")
        start_s = site.clock.monotonic()
        if self.pricer is None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._end_attempt(state, number, start_s, exc, opened, None)
                raise
            self._end_attempt(state, number, start_s, None, opened, None)
            return result
        with collect_sizes() as sizes:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._end_attempt(state, number, start_s, exc, opened, sizes)
                raise
        self._end_attempt(state, number, start_s, None, opened, sizes)
        return result

    async def arun_attempt(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: Any, kwargs: Any
    ) -> Any:
        state = self._attempt_state(site)
        number = state.attempts
        opened = _NO_SPAN if self.tracer is None else self._open(site, state, "attempt")
        start_s = site.clock.monotonic()
        if self.pricer is None:
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._end_attempt(state, number, start_s, exc, opened, None)
                raise
            self._end_attempt(state, number, start_s, None, opened, None)
            return result
        with collect_sizes() as sizes:
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._end_attempt(state, number, start_s, exc, opened, sizes)
                raise
        self._end_attempt(state, number, start_s, None, opened, sizes)
        return result

    # -- cost --------------------------------------------------------------------------

    def _price(
        self,
        site: Site,
        start_s: float,
        duration_s: float,
        outcome: str,
        number: int,
        error: str | None,
        sizes: Any,
    ) -> None:
        # the sizes go on to a ledger's attempt layer outside this one, if any
        report_sizes(request_bytes=sizes.request_bytes, response_bytes=sizes.response_bytes)
        record = Record(
            function=site.policy,
            kind="attempt",
            start_s=start_s,
            duration_s=duration_s,
            outcome=outcome,
            attempt=number,
            error_type=error,
            request_bytes=sizes.request_bytes,
            response_bytes=sizes.response_bytes,
        )
        try:
            priced: Mapping[str, float] = self.pricer.price(record)
            for component, usd in priced.items():
                if component not in COST_COMPONENTS:
                    raise ValueError(
                        f"cost component {component!r} is not one of {COST_COMPONENTS}"
                    )
                if usd and self.metrics_on:
                    self.cost.add(
                        usd,
                        {
                            "callwise.policy": site.policy,
                            "callwise.function": site.function,
                            "cost.component": component,
                        },
                    )
        except Exception:  # observability never breaks the call it observes
            log.exception("the pricer %r failed on an attempt of %s", self.pricer, site.policy)

    # -- events ------------------------------------------------------------------------

    def on_event(self, name: str, attributes: Mapping[str, Any]) -> None:
        """Count ``name`` on ``callwise.events``; add it to the active span as an event."""
        if name not in EVENTS:
            log.debug("ignored an event outside the closed set: %r", name)
            return
        state = current.get()
        counted: dict[str, Any] = {"event.name": name}
        for key in BOUNDED_ATTRIBUTES:
            value = attributes.get(key)
            if value is not None:
                counted[key] = str(value)
        if state is not None:
            counted.setdefault("callwise.policy", state.site.policy)
            counted.setdefault("callwise.function", state.site.function)
            mark = _MARKS.get(name)
            if mark is not None:
                state.outcome = mark
                state.error_type = attributes.get("error.type") if mark == "fallback" else None
        elif "callwise.policy" not in counted and "callwise.function" in counted:
            counted["callwise.policy"] = counted["callwise.function"]
        if counted.get("callwise.outcome") not in _OUTCOMES:
            counted.pop("callwise.outcome", None)
        if self.metrics_on:
            self.events.add(1, counted)
        if self.tracer is not None:
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event(name, {k: v for k, v in attributes.items() if _primitive(v)})

    # -- gauges ------------------------------------------------------------------------

    def _live(self) -> bool:
        return hooks() is self

    def _breaker_states(self, _options: CallbackOptions) -> Iterator[Observation]:
        if not self._live():
            return
        for part in live_parts():
            if isinstance(part, CircuitBreaker):
                now = part.state.value.replace("-", "_")
                for state in BREAKER_STATES:
                    yield Observation(
                        int(state == now),
                        {"callwise.policy": part.name, "callwise.breaker.state": state},
                    )

    def _limiters(self) -> Iterator[tuple[dict[str, str], int, int]]:
        for part in live_parts():
            if isinstance(part, Bulkhead):
                stats = part.statistics
                kind, active, limit = "bulkhead", stats.active, stats.max_concurrent
            elif isinstance(part, AdaptiveLimiter):
                adaptive = part.statistics
                kind, active, limit = "adaptive_limit", adaptive.active, adaptive.limit
            else:
                continue
            attributes = {"callwise.policy": part.name or kind, "callwise.limiter": kind}
            yield attributes, active, limit

    def _in_flight(self, _options: CallbackOptions) -> Iterator[Observation]:
        if self._live():
            for attributes, active, _ in self._limiters():
                yield Observation(active, attributes)

    def _limits(self, _options: CallbackOptions) -> Iterator[Observation]:
        if self._live():
            for attributes, _, limit in self._limiters():
                yield Observation(limit, attributes)

    def _cache_sizes(self, _options: CallbackOptions) -> Iterator[Observation]:
        if not self._live():
            return
        for part in live_parts():
            info = getattr(part, "cache_info", None)
            if callable(info):
                name = getattr(part, "__qualname__", None) or repr(part)
                yield Observation(info().currsize, {"callwise.function": name})

    # -- invokers and async invocation -------------------------------------------------

    @contextmanager
    def client_span(self, name: str, attributes: dict[str, str]) -> Iterator[dict[str, str]]:
        """A CLIENT span around one invocation; yields the headers carrying its context."""
        tracer = self.tracer
        if tracer is None:
            yield {}
            return
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        ctx = trace.set_span_in_context(span)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=ctx)
        token = otel_context.attach(ctx)
        try:
            yield carrier
        except BaseException as exc:
            span.set_attribute("error.type", error_type_of(exc))
            span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            otel_context.detach(token)
            span.end()

    def producer_link(self, function: str) -> object:
        """A PRODUCER span for one submit (ended at once); its context, for the link."""
        if self.tracer is None:
            return None
        span = self.tracer.start_span(
            f"{function} send", kind=SpanKind.PRODUCER, attributes={"callwise.function": function}
        )
        span.end()
        return span.get_span_context()

    def consumer(
        self, fn: Callable[..., Any], link: object, function: str, attempt: int
    ) -> Callable[..., Any]:
        """``fn`` run inside a CONSUMER span linked to the producer's (a new trace)."""
        tracer = self.tracer
        if tracer is None or link is None:
            return fn
        attributes: dict[str, str | int] = {
            "callwise.function": function,
            "callwise.attempt": attempt,
        }
        links = [Link(link)]  # type: ignore[arg-type]

        def start() -> Any:
            return tracer.start_span(
                f"{function} process",
                context=otel_context.Context(),  # a root: the producer is linked, not a parent
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                links=links,
            )

        if is_async(fn):

            async def consume_async(*args: Any, **kwargs: Any) -> Any:
                with trace.use_span(start(), end_on_exit=True):
                    return await fn(*args, **kwargs)

            return consume_async

        def consume(*args: Any, **kwargs: Any) -> Any:
            with trace.use_span(start(), end_on_exit=True):
                return fn(*args, **kwargs)

        return consume

    # -- logs --------------------------------------------------------------------------

    def log_ids(self) -> tuple[str, str] | None:
        """``(otelTraceID, otelSpanID)`` of the active span, hex, or None."""
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def _retry_hint(span: Any, exc: BaseException) -> None:
    """A ``throttled`` span event carrying ``callwise.retry_after_s`` (seconds) when
    ``exc`` is a throttling error that asked for a wait (:func:`resilience.throttle_info`)."""
    info = throttle_info(exc)
    if info is not None and info.retry_after_s is not None:
        span.add_event("throttled", {"callwise.retry_after_s": info.retry_after_s})


def _primitive(value: object) -> bool:
    return isinstance(value, (str, bool, int, float))
