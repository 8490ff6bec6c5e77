"""resilience.telemetry: metrics, spans and log fields, read back through the OpenTelemetry
SDK's in-memory metric reader and span exporter (explicit providers, never the global)."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from support.modes import MODES, call, make
from support.otel import Otel, enable_otel

import costmodel
from resilience import (
    BulkheadFull,
    CircuitBreaker,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    MissingDependency,
    Policy,
    RateLimited,
    TimeoutExceeded,
    _events,
    adaptive_limit,
    bulkhead,
    cached,
    fallback,
    rate_limit,
    retry,
    telemetry,
    timeout,
)
from resilience.testing import FakeClock


@pytest.fixture
def otel() -> Iterator[Otel]:
    """Telemetry enabled on fresh SDK providers; disabled afterwards."""
    yield enable_otel()
    telemetry.disable()


@pytest.fixture(autouse=True)
def _disabled_after() -> Iterator[None]:
    yield
    telemetry.disable()


def _flaky(mode: str, clock: FakeClock, failures: int, seconds: float = 0.25) -> Any:
    """A function that takes ``seconds`` on the clock and fails its first ``failures`` calls."""
    calls: list[int] = []

    def body() -> str:
        clock.advance(seconds)
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("reset")
        return "ok"

    return make(mode, body)


# -- the light import ------------------------------------------------------------------------


def test_import_resilience_loads_no_opentelemetry() -> None:
    """import resilience (and a Policy call, and resilience.telemetry) imports no opentelemetry."""
    code = (
        "import sys, resilience\n"
        "from resilience import Policy, telemetry\n"
        "assert Policy(retry=2)(lambda: 1)() == 1\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_enable_without_the_extra_names_it() -> None:
    """Without opentelemetry-api, enable() raises MissingDependency naming the otel extra."""
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "from resilience import MissingDependency, telemetry\n"
        "try:\n"
        "    telemetry.enable()\n"
        "except MissingDependency as exc:\n"
        "    print(exc.extra, telemetry.enabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "otel False"
    assert issubclass(MissingDependency, ImportError)


def test_bad_arguments_to_enable() -> None:
    """A cost without price(), non-bool switches, or nothing to emit: InvalidUsage."""
    with pytest.raises(InvalidUsage, match="cost="):
        telemetry.enable(cost=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="metrics="):
        telemetry.enable(metrics=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="nothing to emit"):
        telemetry.enable(metrics=False, traces=False)
    assert not telemetry.enabled()


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_call_and_attempt_durations(mode: str, otel: Otel) -> None:
    """One call with a retry: two attempt points and one call point, in seconds, with the
    bounded attributes; a Policy built before enable() is observed too."""
    telemetry.disable()
    clock = FakeClock()
    policy = Policy(
        name="quote",
        retry=retry(attempts=3, backoff_s=0.5, jitter="none", clock=clock),
        clock=clock,
    )
    fn = policy(_flaky(mode, clock, failures=1))
    telemetry.enable(otel.meter_provider, otel.tracer_provider)
    assert call(mode, fn) == "ok"
    attempts = sorted(
        otel.points("callwise.attempt.duration"), key=lambda p: p[0]["callwise.attempt"]
    )
    name = fn.__qualname__
    base = {"callwise.policy": "quote", "callwise.function": name}
    failed = {"callwise.outcome": "error", "error.type": "builtins.ConnectionError"}
    assert [a for a, _ in attempts] == [
        {**base, **failed, "callwise.attempt": 1},
        {**base, "callwise.outcome": "ok", "callwise.attempt": 2},
    ]
    assert [(p.count, p.sum) for _, p in attempts] == [(1, 0.25), (1, 0.25)]
    [(attributes, point)] = otel.points("callwise.call.duration")
    assert attributes == {**base, "callwise.outcome": "ok", "callwise.attempt": 2}
    assert (point.count, point.sum) == (1, pytest.approx(1.0))  # 0.25 + 0.5 backoff + 0.25
    assert otel.metric("callwise.call.duration").unit == "s"
    assert otel.metric("callwise.attempt.duration").unit == "s"
    assert list(point.explicit_bounds)[:3] == [0.005, 0.01, 0.025]


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_call_has_its_outcome_and_error_type(mode: str, otel: Otel) -> None:
    """A call that raises: outcome error, error.type the class; a timeout: outcome timeout."""
    clock = FakeClock()
    fn = Policy(name="p", clock=clock)(_flaky(mode, clock, failures=5))
    with pytest.raises(ConnectionError):
        call(mode, fn)
    [(attributes, _)] = otel.points("callwise.call.duration")
    assert attributes["callwise.outcome"] == "error"
    assert attributes["error.type"] == "builtins.ConnectionError"


# -- events ----------------------------------------------------------------------------------


def _retry_event(mode: str, clock: FakeClock) -> Any:
    fn = Policy(name="svc", retry=retry(attempts=2, backoff_s=0.1, clock=clock), clock=clock)(
        _flaky(mode, clock, failures=1)
    )
    assert call(mode, fn) == "ok"


def _fallback_event(mode: str, clock: FakeClock) -> Any:
    fn = Policy(name="svc", fallback=fallback("cached"), clock=clock)(_flaky(mode, clock, 9))
    assert call(mode, fn) == "cached"


def _timeout_event(mode: str, clock: FakeClock) -> Any:
    if mode == "sync":
        release = threading.Event()

        def blocked() -> None:
            clock.sleep(60)  # a minute of work, in fake time: the 1 s limit passes
            release.wait(10)

        fn = Policy(name="svc", timeout=timeout(1.0, clock=clock), clock=clock)(blocked)
        try:
            with pytest.raises(TimeoutExceeded):
                fn()
        finally:
            release.set()
        return
    from resilience.virtual_time import VirtualTimeLoop

    async def slow() -> None:
        await asyncio.sleep(10)

    fn = Policy(name="svc", timeout=timeout(1.0), clock=clock)(slow)
    loop = VirtualTimeLoop()
    try:
        with pytest.raises(TimeoutExceeded):
            loop.run_until_complete(fn())
    finally:
        loop.close()


def _breaker_events(mode: str, clock: FakeClock) -> Any:
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=10, clock=clock)
    fn = Policy(name="svc", breaker=breaker, clock=clock)(_flaky(mode, clock, failures=1))
    with pytest.raises(ConnectionError):
        call(mode, fn)  # opened
    with pytest.raises(CircuitOpenError):
        call(mode, fn)  # rejected
    clock.advance(10)
    assert call(mode, fn) == "ok"  # half-opened, then closed


def _bulkhead_event(mode: str, clock: FakeClock) -> Any:
    """A call made from inside the only slot's call is refused (no thread, no sleep)."""
    policy = Policy(name="svc", bulkhead=bulkhead(1, clock=clock), clock=clock)
    if mode == "sync":
        calls: list[int] = []

        def body() -> int:
            calls.append(1)
            return guarded() if len(calls) == 1 else 0  # a second call, the slot still held

        guarded = policy(body)
        with pytest.raises(BulkheadFull):
            guarded()
        return

    async def main() -> None:
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            holding.set()
            await release.wait()

        fn = policy(hold)
        first = asyncio.ensure_future(fn())
        await holding.wait()
        try:
            with pytest.raises(BulkheadFull):
                await fn()
        finally:
            release.set()
            await first

    asyncio.run(main())


def _rate_limit_events(mode: str, clock: FakeClock) -> Any:
    limited = Policy(name="svc", rate_limit=rate_limit(1, per_s=1, clock=clock), clock=clock)(
        make(mode, lambda: "ok")
    )
    waiting = Policy(
        name="svc", rate_limit=rate_limit(1, per_s=1, wait_s=5, clock=clock), clock=clock
    )(make(mode, lambda: "ok"))
    assert call(mode, limited) == "ok"
    with pytest.raises(RateLimited):
        call(mode, limited)
    assert call(mode, waiting) == "ok"
    assert call(mode, waiting) == "ok"  # waited 1 s on the fake clock


def _adaptive_event(mode: str, clock: FakeClock) -> Any:
    limit = adaptive_limit("aimd", initial_limit=4, timeout_s=0.1, clock=clock)
    fn = Policy(name="svc", bulkhead=limit, clock=clock)(_flaky(mode, clock, failures=0, seconds=1))
    call(mode, fn)  # slower than timeout_s: a drop, the limit goes down
    assert limit.limit < 4


def _cache_events(mode: str, clock: FakeClock) -> Any:
    fn = Policy(name="svc", cache=cached(ttl=1, stale_if_error=60, clock=clock), clock=clock)(
        _flaky(mode, clock, failures=0, seconds=0)
    )
    assert call(mode, fn) == "ok"  # miss
    assert call(mode, fn) == "ok"  # hit
    clock.advance(2)
    broken = Policy(name="svc", cache=cached(ttl=1, stale_if_error=60, clock=clock), clock=clock)
    answers = iter(["v", None])

    def body() -> str:
        value = next(answers)
        if value is None:
            raise ConnectionError("down")
        return value

    stale = broken(make(mode, body))
    call(mode, stale)
    clock.advance(2)
    assert call(mode, stale) == "v"  # stale


_OK = {"callwise.policy": "svc"}


def _failed(outcome: str, error: str) -> dict[str, Any]:
    return {**_OK, "callwise.outcome": outcome, "error.type": error}


EVENT_CASES: list[tuple[Any, str, dict[str, Any]]] = [
    (_retry_event, "retry", _failed("error", "builtins.ConnectionError")),
    (_fallback_event, "fallback", _failed("fallback", "builtins.ConnectionError")),
    (_timeout_event, "timeout", _failed("timeout", "resilience.errors.TimeoutExceeded")),
    (_breaker_events, "breaker.opened", _OK),
    (_breaker_events, "breaker.rejected", _OK),
    (_breaker_events, "breaker.half_opened", _OK),
    (_breaker_events, "breaker.closed", _OK),
    (
        _bulkhead_event,
        "bulkhead.rejected",
        _failed("bulkhead_full", "resilience.errors.BulkheadFull"),
    ),
    (
        _rate_limit_events,
        "rate_limit.rejected",
        _failed("rate_limited", "resilience.errors.RateLimited"),
    ),
    (_rate_limit_events, "rate_limit.waited", _OK),
    (_adaptive_event, "adaptive_limit.changed", _OK),
    (_cache_events, "cache.miss", _OK),
    (_cache_events, "cache.hit", {**_OK, "callwise.outcome": "cache_hit"}),
    (_cache_events, "cache.stale", {**_OK, "callwise.outcome": "cache_hit"}),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("scenario", "event", "expected"),
    EVENT_CASES,
    ids=lambda c: getattr(c, "__name__", c) if isinstance(c, str) else None,
)
def test_each_event_kind_is_counted(
    mode: str, otel: Otel, scenario: Any, event: str, expected: dict[str, Any]
) -> None:
    """Each part's event is counted once on callwise.events with event.name and the bounded
    attributes (the policy's name, the Ledger's outcome, the error type)."""
    scenario(mode, FakeClock())
    counted = otel.events()[event]
    assert all(
        set(a) <= {"callwise.policy", "callwise.function", "callwise.outcome", "error.type", "n"}
        for a in counted
    )
    assert any({k: a.get(k) for k in expected} == expected for a in counted), counted
    assert otel.metric("callwise.events").unit == "{event}"
    assert set(otel.events()) <= _events.EVENTS


@pytest.mark.parametrize(
    "event", ["hedge.launched", "chaos.injected", "probe.unreachable", "probe.recovered"]
)
@pytest.mark.parametrize("mode", MODES)
def test_events_of_parts_on_other_branches_map_generically(
    mode: str, otel: Otel, event: str
) -> None:
    """Any event of the closed set (hedge, chaos, probes) is counted with its bounded
    attributes, inside a call the call's names fill in; others stay on the span only."""

    def body() -> str:
        _events.emit(event, {"callwise.outcome": "ok", "callwise.hedge": 1, "order.id": "A-17"})
        return "ok"

    fn = Policy(name="svc")(make(mode, body))
    assert call(mode, fn) == "ok"
    [counted] = otel.events()[event]
    assert counted == {
        "callwise.policy": "svc",
        "callwise.function": fn.__qualname__,
        "callwise.outcome": "ok",
        "n": 1,
    }
    [span] = [s for s in otel.finished() if s.name == "svc attempt"]
    [span_event] = span.events
    assert (span_event.name, dict(span_event.attributes or {})) == (
        event, {"callwise.outcome": "ok", "callwise.hedge": 1, "order.id": "A-17"}
    )  # fmt: skip


def test_names_outside_the_closed_set_and_bad_outcomes_are_not_counted(otel: Otel) -> None:
    """An unknown event name is ignored; an outcome outside the Ledger's set is dropped."""
    _events.emit("made.up", {"callwise.policy": "x"})
    _events.emit("retry", {"callwise.function": "f", "callwise.outcome": "won"})
    assert otel.events() == {"retry": [{"callwise.policy": "f", "callwise.function": "f", "n": 1}]}


@pytest.mark.parametrize("mode", MODES)
def test_fallback_and_cache_hit_set_the_call_outcome(mode: str, otel: Otel) -> None:
    """A fallback answer is a 'fallback' call; a cache hit a 'cache_hit' call with 0 attempts."""
    clock = FakeClock()
    covered = Policy(name="fb", fallback=fallback(0), clock=clock)(_flaky(mode, clock, 9))
    remembered = Policy(name="c", cache=cached(clock=clock), clock=clock)(_flaky(mode, clock, 0))
    call(mode, covered)
    call(mode, remembered)
    call(mode, remembered)
    calls = {
        (a["callwise.policy"], a["callwise.outcome"], a["callwise.attempt"]): p.count
        for a, p in otel.points("callwise.call.duration")
    }
    assert calls == {("fb", "fallback", 1): 1, ("c", "ok", 1): 1, ("c", "cache_hit", 0): 1}


# -- gauges ----------------------------------------------------------------------------------


def _gauge(otel: Otel, name: str, **match: str) -> dict[str, int]:
    out = {}
    for attributes, point in otel.points(name):
        if all(attributes.get(k) == v for k, v in match.items()):
            out[
                attributes.get("callwise.breaker.state", attributes.get("callwise.limiter", ""))
            ] = point.value
    return out


def test_breaker_state_gauge_follows_the_breaker(otel: Otel) -> None:
    """1 for the current state, 0 for the others, per breaker name; built before enable()."""
    clock = FakeClock()
    breaker = CircuitBreaker(name="pay", fail_max=1, reset_timeout_s=5, clock=clock)
    fn = Policy(breaker=breaker, clock=clock)(_flaky("sync", clock, failures=1))
    assert _gauge(otel, "callwise.breaker.state", **{"callwise.policy": "pay"}) == {
        "closed": 1,
        "open": 0,
        "half_open": 0,
    }
    with pytest.raises(ConnectionError):
        fn()
    assert _gauge(otel, "callwise.breaker.state", **{"callwise.policy": "pay"}) == {
        "closed": 0,
        "open": 1,
        "half_open": 0,
    }
    assert otel.metric("callwise.breaker.state").unit == "1"


@pytest.mark.parametrize("mode", MODES)
def test_in_flight_and_limit_gauges(mode: str, otel: Otel) -> None:
    """Inside a call, the bulkhead and the adaptive limit show 1 in flight and their limits."""
    seen: list[dict[str, int]] = []

    def body() -> str:
        seen.append(_gauge(otel, "callwise.concurrency.in_flight", **{"callwise.policy": "db"}))
        seen.append(_gauge(otel, "callwise.concurrency.limit", **{"callwise.policy": "db"}))
        return "ok"

    clock = FakeClock()
    Policy(name="db", bulkhead=3, clock=clock)(make(mode, body))
    fixed = Policy(name="db", bulkhead=3, clock=clock)(make(mode, body))
    moving = Policy(
        name="db", bulkhead=adaptive_limit("aimd", initial_limit=7, clock=clock), clock=clock
    )(make(mode, body))
    call(mode, fixed)
    call(mode, moving)
    assert seen[0]["bulkhead"] == 1 and seen[1]["bulkhead"] == 3
    assert seen[2]["adaptive_limit"] == 1 and seen[3]["adaptive_limit"] == 7
    assert otel.metric("callwise.concurrency.limit").unit == "{call}"


def test_cache_size_gauge_and_weak_references(otel: Otel) -> None:
    """The cache size gauge counts values; a part that is gone leaves the gauges."""
    fn = cached()(lambda x: x)
    fn(1), fn(2)
    name = fn.__qualname__
    assert {a["callwise.function"]: p.value for a, p in otel.points("callwise.cache.size")}[
        name
    ] == 2
    breaker = CircuitBreaker(name="short-lived")
    assert _gauge(otel, "callwise.breaker.state", **{"callwise.policy": "short-lived"})
    del fn, breaker
    gc.collect()
    names = {a.get("callwise.function") for a, _ in otel.points("callwise.cache.size")}
    assert name not in names
    assert not _gauge(otel, "callwise.breaker.state", **{"callwise.policy": "short-lived"})


# -- spans -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_span_per_call_and_a_child_per_attempt(mode: str, otel: Otel) -> None:
    """The call span is the parent of one span per attempt; the retry is a span event."""
    clock = FakeClock()
    fn = Policy(name="quote", retry=retry(attempts=3, clock=clock), clock=clock)(
        _flaky(mode, clock, 1)
    )
    call(mode, fn)
    spans = otel.finished()
    [root] = [s for s in spans if s.name == "quote"]
    children = [s for s in spans if s.name == "quote attempt"]
    assert root.parent is None
    assert [c.parent.span_id for c in children if c.parent] == [root.context.span_id] * 2
    assert [c.attributes["callwise.attempt"] for c in children] == [1, 2]
    assert children[0].status.status_code is StatusCode.ERROR
    assert children[0].attributes["error.type"] == "builtins.ConnectionError"
    assert root.status.status_code is StatusCode.UNSET
    assert [e.name for e in root.events] == ["retry"]
    assert root.attributes["callwise.outcome"] == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_rejections_fallbacks_and_hits_are_span_events(mode: str, otel: Otel) -> None:
    """A breaker rejection is an event of the attempt span; the fallback one of the call span."""
    clock = FakeClock()
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=60, clock=clock)
    fn = Policy(name="svc", fallback=fallback(0), breaker=breaker, clock=clock)(
        _flaky(mode, clock, 9)
    )
    call(mode, fn)
    call(mode, fn)
    attempts = [s for s in otel.finished() if s.name == "svc attempt"]
    assert [e.name for e in attempts[0].events] == ["breaker.opened"]
    assert [e.name for e in attempts[1].events] == ["breaker.rejected"]
    assert attempts[1].attributes["callwise.outcome"] == "rejected"
    calls = [s for s in otel.finished() if s.name == "svc"]
    assert [e.name for e in calls[0].events] == ["fallback"]
    assert calls[0].attributes["callwise.outcome"] == "fallback"
    assert calls[0].status.status_code is StatusCode.UNSET


def test_traces_off_records_metrics_only() -> None:
    """enable(traces=False): metrics, and no spans."""
    otel = enable_otel(traces=False)
    Policy(name="m")(lambda: 1)()
    assert otel.points("callwise.call.duration")
    assert otel.finished() == []


# -- on and off ------------------------------------------------------------------------------


def test_disable_stops_and_enable_again_replaces_the_providers(otel: Otel) -> None:
    """disable() stops every emission (idempotent); enable() again writes to the new providers."""
    fn = Policy(name="p")(lambda: 1)
    fn()
    telemetry.disable()
    telemetry.disable()
    assert not telemetry.enabled()
    fn()
    _events.emit("retry", {"callwise.function": "f"})
    assert sum(p.count for _, p in otel.points("callwise.call.duration")) == 1
    assert "retry" not in otel.events()
    assert otel.points("callwise.breaker.state") == []
    second = enable_otel()
    _otel_again = enable_otel(traces=False)
    fn()
    assert sum(p.count for _, p in otel.points("callwise.call.duration")) == 1
    assert second.points("callwise.call.duration") == []
    assert sum(p.count for _, p in _otel_again.points("callwise.call.duration")) == 1
    assert _events._listeners == (_events._listeners[0],)  # one listener, not one per enable


def test_a_ledger_and_telemetry_see_the_same_attempts(otel: Otel) -> None:
    """With a ledger too, rows and metrics agree (the layers sit at the same places)."""
    clock, ledger = FakeClock(), Ledger()
    fn = Policy(name="q", retry=retry(attempts=3, clock=clock), ledger=ledger, clock=clock)(
        _flaky("sync", clock, 2)
    )
    fn()
    rows = [(r.attempt, r.outcome) for r in ledger.records() if r.kind == "attempt"]
    points = sorted(
        (a["callwise.attempt"], a["callwise.outcome"])
        for a, _ in otel.points("callwise.attempt.duration")
    )
    assert rows == points == [(1, "error"), (2, "error"), (3, "ok")]


# -- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_cost_counter_matches_the_catalog_to_the_cent(mode: str) -> None:
    """1,000 calls of 10 s at 1024 MB on aws-lambda: the counter's dollars per component are
    the catalog's first-tier bill; rejected attempts cost nothing."""
    otel = enable_otel(cost=costmodel.LivePricer("aws-lambda", memory_mb=1024), traces=False)
    clock = FakeClock()
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=3600, clock=clock)
    fn = Policy(name="thumb", clock=clock)(_flaky(mode, clock, failures=0, seconds=10.0))
    guarded = Policy(name="thumb", breaker=breaker, clock=clock)(_flaky(mode, clock, 1, 10.0))

    async def many() -> None:
        for _ in range(999):
            await fn()

    if mode == "sync":
        for _ in range(999):
            fn()
    else:
        asyncio.run(many())
    with pytest.raises(ConnectionError):
        call(mode, guarded)  # the 1,000th call, billed; the breaker opens
    for _ in range(50):
        with pytest.raises(CircuitOpenError):
            call(mode, guarded)  # rejected: never ran, never billed
    cost = {a["cost.component"]: p.value for a, p in otel.points("callwise.cost")}
    bill = costmodel.estimate("aws-lambda", invocations=1_000, duration_ms=10_000, memory_mb=1024)
    expected = bill.by_component()
    assert round(cost["requests"], 2) == round(expected["requests"], 2)
    assert round(cost["compute"], 2) == round(expected["compute"], 2) == 0.17
    assert cost["compute"] == pytest.approx(1_000 * 10.0 * 0.0000166667)
    assert cost["requests"] == pytest.approx(1_000 * 0.20 / 1_000_000)
    assert otel.metric("callwise.cost").unit == "USD"


def test_a_pricer_that_fails_never_breaks_the_call(caplog: pytest.LogCaptureFixture) -> None:
    """A pricer raising, or naming a component outside the set, is logged; the call returns."""

    class Broken:
        def price(self, record: Any) -> dict[str, float]:
            return {"gpu": 1.0}

    otel = enable_otel(cost=Broken())
    with caplog.at_level(logging.ERROR, logger="resilience.telemetry"):
        assert Policy(name="p")(lambda: 5)() == 5
    assert "pricer" in caplog.text
    assert otel.points("callwise.cost") == []


# -- logs ------------------------------------------------------------------------------------


def test_log_lines_carry_the_names_and_the_active_span(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    """The breaker's 'opened' line carries the policy name and the attempt span's ids."""
    clock = FakeClock()
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    fn = Policy(name="prices", breaker=breaker, clock=clock)(_flaky("sync", clock, 1))
    with caplog.at_level(logging.INFO, logger="resilience.breaker"), pytest.raises(ConnectionError):
        fn()
    [line] = [r for r in caplog.records if "opened" in r.getMessage()]
    assert (line.callwise_policy, line.callwise_function) == ("prices", "prices")  # type: ignore[attr-defined]
    [attempt] = [s for s in otel.finished() if s.name == "prices attempt"]
    assert line.otelTraceID == format(attempt.context.trace_id, "032x")  # type: ignore[attr-defined]
    assert line.otelSpanID == format(attempt.context.span_id, "016x")  # type: ignore[attr-defined]


def test_log_lines_carry_the_names_without_telemetry(caplog: pytest.LogCaptureFixture) -> None:
    """Disabled: the names are still there, and no trace ids."""
    clock = FakeClock()
    fn = Policy(name="prices", breaker=CircuitBreaker(fail_max=1, clock=clock), clock=clock)(
        _flaky("sync", clock, 1)
    )
    with caplog.at_level(logging.INFO, logger="resilience.breaker"), pytest.raises(ConnectionError):
        fn()
    [line] = [r for r in caplog.records if "opened" in r.getMessage()]
    assert line.callwise_policy == "prices"  # type: ignore[attr-defined]
    assert not hasattr(line, "otelTraceID")


# -- async invocation ------------------------------------------------------------------------


def _linked(otel: Otel, function: str) -> tuple[ReadableSpan, ReadableSpan, ReadableSpan]:
    spans = otel.finished()
    [producer] = [s for s in spans if s.kind is SpanKind.PRODUCER]
    [consumer] = [s for s in spans if s.kind is SpanKind.CONSUMER]
    [inner] = [s for s in spans if s.name == "inner"]
    assert producer.name == f"{function} send" and consumer.name == f"{function} process"
    assert consumer.parent is None
    assert [link.context.span_id for link in consumer.links] == [producer.context.span_id]
    assert inner.parent is not None and inner.parent.span_id == consumer.context.span_id
    return producer, consumer, inner


def test_async_invoker_links_the_consumer_span_to_the_producer(otel: Otel) -> None:
    """AsyncInvoker: a PRODUCER span at submit, a linked CONSUMER span around the run."""
    from resilience import AsyncInvoker

    def work(x: int) -> int:
        return Policy(name="inner")(lambda: x * 2)()

    with AsyncInvoker(workers=1, clock=FakeClock()) as invoker:
        outer = otel.tracer_provider.get_tracer("test").start_as_current_span("request")
        with outer:
            invoker.submit(work, 2)
        assert invoker.drain(timeout_s=10)
    producer, _, _ = _linked(
        otel, "test_async_invoker_links_the_consumer_span_to_the_producer.<locals>.work"
    )
    [request] = [s for s in otel.finished() if s.name == "request"]
    assert producer.parent is not None and producer.parent.span_id == request.context.span_id


def test_asyncio_invoker_links_the_consumer_span_to_the_producer(otel: Otel) -> None:
    """AsyncioInvoker: the same link for coroutines."""
    from resilience import AsyncioInvoker

    async def work(x: int) -> int:
        async def double() -> int:
            return x * 2

        return await Policy(name="inner")(double)()

    async def main() -> None:
        invoker = AsyncioInvoker(workers=1, clock=FakeClock())
        invoker.submit(work, 2)
        await invoker.drain()
        await invoker.close()

    asyncio.run(main())
    _linked(otel, "test_asyncio_invoker_links_the_consumer_span_to_the_producer.<locals>.work")
