"""Telemetry off costs no Python frame on a Policy's call path; on, it observes every shape.

While telemetry is disabled a Policy's call makes exactly the Python calls of the same
parts composed by hand (no layer of telemetry's: the outermost wrapper and the attempt's
caller check one global). Enabled later, it observes Policies built before, whichever part
is outermost, with the call span, the attempt spans and the two duration histograms.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.modes import MODES, call, make
from support.otel import Otel, enable_otel

from resilience import (
    CircuitBreaker,
    HttpStatusError,
    Ledger,
    Policy,
    adaptive_limit,
    bulkhead,
    cached,
    chaos,
    fallback,
    hedge,
    rate_limit,
    retry,
    telemetry,
    timeout,
)
from resilience.testing import FakeClock


@pytest.fixture(autouse=True)
def _disabled() -> Iterator[None]:
    telemetry.disable()
    yield
    telemetry.disable()


def _work(x: int = 0) -> int:
    return x


async def _awork(x: int = 0) -> int:
    return x


def _frames(fn: Callable[[], Any], mode: str) -> list[tuple[str, str]]:
    """(file, qualified name) of each Python call one call of ``fn`` makes (after a warm
    call), counted with sys.setprofile: exact, whatever the machine's load."""
    seen: list[tuple[str, str]] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            seen.append((frame.f_code.co_filename, frame.f_code.co_qualname))

    if mode == "sync":
        fn()
        sys.setprofile(profile)
        try:
            fn()
        finally:
            sys.setprofile(None)
        return seen

    async def twice() -> None:
        await fn()
        sys.setprofile(profile)
        try:
            await fn()
        finally:
            sys.setprofile(None)

    asyncio.run(twice())
    return seen


# Each shape: the Policy's parts, and the same parts composed by hand in the Policy's order.
SHAPES: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[Any], Any]]] = {
    "retry": (lambda: {"retry": 3}, lambda f: retry(attempts=3)(f)),
    "breaker": (lambda: {"breaker": CircuitBreaker()}, lambda f: CircuitBreaker()(f)),
    "fallback": (lambda: {"fallback": fallback(0)}, lambda f: fallback(0)(f)),
    "retry + breaker + fallback": (
        lambda: {"retry": 3, "breaker": CircuitBreaker(), "fallback": fallback(0)},
        lambda f: fallback(0)(retry(attempts=3)(CircuitBreaker()(f))),
    ),
    "cache + retry": (
        lambda: {"cache": cached(ttl=60), "retry": 3},
        lambda f: cached(ttl=60)(retry(attempts=3)(f)),
    ),
    "cache": (lambda: {"cache": cached(ttl=60)}, lambda f: cached(ttl=60)(f)),
    "rate limit + bulkhead": (
        lambda: {"rate_limit": rate_limit(10**9, per_s=1), "bulkhead": 5},
        lambda f: rate_limit(10**9, per_s=1)(bulkhead(5)(f)),
    ),
    "adaptive limit": (
        lambda: {"bulkhead": adaptive_limit("aimd")},
        lambda f: adaptive_limit("aimd")(f),
    ),
    "chaos": (
        lambda: {"chaos": chaos(fault=ConnectionError, rate=0.0, enabled=True)},
        lambda f: chaos(fault=ConnectionError, rate=0.0, enabled=True)(f),
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_off_the_policy_makes_the_calls_of_its_parts_by_hand(mode: str, shape: str) -> None:
    """Telemetry off: the same Python calls as the parts composed by hand, none more."""
    parts, by_hand = SHAPES[shape]
    fn = _work if mode == "sync" else _awork
    policy = _frames(Policy(name="q", **parts())(fn), mode)
    hand = _frames(by_hand(fn), mode)
    assert [name for _, name in policy] == [name for _, name in hand]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [*SHAPES, "no part"])
def test_off_no_frame_of_telemetry_with_or_without_a_ledger(mode: str, shape: str) -> None:
    """No call into resilience/_observe.py or _otel.py, with a ledger or without (a Policy of
    no part keeps the one wrapper it always returned)."""
    parts = {} if shape == "no part" else SHAPES[shape][0]()
    fn = _work if mode == "sync" else _awork
    for ledger in (None, Ledger()):
        frames = _frames(Policy(name="q", ledger=ledger, **parts)(fn), mode)
        files = {file.rsplit("/", 1)[-1] for file, _ in frames}
        if shape == "no part" and ledger is None:
            assert [name for _, name in frames].count("call_layer.<locals>.observed_call") <= 1
            continue
        assert not files & {"_observe.py", "_otel.py"}, frames


OUTERMOST: dict[str, Callable[[FakeClock], dict[str, Any]]] = {
    "fallback": lambda c: {"fallback": fallback(0), "breaker": CircuitBreaker()},
    "cache": lambda c: {"cache": cached(ttl=60, clock=c)},
    "retry": lambda c: {"retry": retry(attempts=2, clock=c)},
    "hedge": lambda c: {"hedge": hedge(attempts=2, delay_s=30.0, clock=c)},
    "breaker": lambda c: {"breaker": CircuitBreaker()},
    "rate_limit": lambda c: {"rate_limit": rate_limit(100, per_s=1, clock=c)},
    "bulkhead": lambda c: {"bulkhead": bulkhead(2, clock=c)},
    "adaptive limit": lambda c: {"bulkhead": adaptive_limit("aimd", clock=c)},
    "timeout": lambda c: {"timeout": timeout(30.0)},
    "chaos": lambda c: {"chaos": chaos(fault=ConnectionError, rate=0.0, enabled=True)},
    "no part": lambda c: {},
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ledger", [False, True], ids=["no ledger", "ledger"])
@pytest.mark.parametrize("outermost", OUTERMOST)
def test_enable_observes_policies_built_before(mode: str, ledger: bool, outermost: str) -> None:
    """Built while off, enabled after: one call span, its attempt span, both histograms."""
    clock = FakeClock()
    book = Ledger() if ledger else None
    fn = Policy(name="q", ledger=book, clock=clock, **OUTERMOST[outermost](clock))(
        make(mode, lambda: "ok")
    )
    otel = enable_otel()
    assert call(mode, fn) == "ok"
    spans = {span.name: span for span in otel.finished()}
    assert sorted(spans) == ["q", "q attempt"]
    assert spans["q attempt"].parent is not None
    assert spans["q attempt"].parent.span_id == spans["q"].context.span_id
    assert spans["q"].attributes["callwise.outcome"] == "ok"
    assert spans["q"].attributes["callwise.attempt"] == 1
    for name in ("callwise.call.duration", "callwise.attempt.duration"):
        assert [p.count for _, p in otel.points(name)] == [1]
    telemetry.disable()
    otel.spans.clear()
    clock.advance(60.0)  # the rate limit's permit is back
    assert call(mode, fn) == "ok"
    assert otel.finished() == []


@pytest.mark.parametrize("mode", MODES)
def test_a_recursive_call_is_a_call_of_its_own(mode: str) -> None:
    """A function calling itself through its Policy: a call span inside the outer attempt."""
    otel = enable_otel()
    depth: list[int] = []

    def body() -> str:
        depth.append(1)
        return "inner" if len(depth) > 1 else "outer"

    if mode == "sync":

        @Policy(name="r", breaker=CircuitBreaker())
        def fn() -> str:
            return "inner" if depth else body() + "+" + fn()

    else:

        @Policy(name="r", breaker=CircuitBreaker())
        async def fn() -> str:
            return "inner" if depth else body() + "+" + await fn()

    assert call(mode, fn) == "outer+inner"
    names = sorted(span.name for span in otel.finished())
    assert names == ["r", "r", "r attempt", "r attempt"]
    calls = [span for span in otel.finished() if span.name == "r"]
    inner, outer = sorted(calls, key=lambda span: span.start_time, reverse=True)
    attempts = {s.context.span_id: s for s in otel.finished() if s.name == "r attempt"}
    assert inner.parent is not None and inner.parent.span_id in attempts
    assert attempts[inner.parent.span_id].parent.span_id == outer.context.span_id


@pytest.mark.parametrize("mode", MODES)
def test_a_throttled_attempt_carries_the_retry_hint(mode: str) -> None:
    """An attempt failing with a throttling error that asked for a wait: a ``throttled``
    span event with ``callwise.retry_after_s``; other attempts have none."""
    otel = enable_otel()
    tries: list[int] = []

    def body() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise HttpStatusError(429, "https://example.com/fn", headers={"Retry-After": "7"})
        if len(tries) == 2:
            raise ConnectionError("reset")
        return "ok"

    clock = FakeClock()
    fn = Policy(name="api", retry=retry(attempts=3, clock=clock), clock=clock)(make(mode, body))
    assert call(mode, fn) == "ok"
    attempts = sorted(
        (s for s in otel.finished() if s.name == "api attempt"),
        key=lambda s: s.attributes["callwise.attempt"],
    )
    hints = [[dict(e.attributes) for e in s.events if e.name == "throttled"] for s in attempts]
    assert hints == [[{"callwise.retry_after_s": 7.0}], [], []]


def test_a_dropped_policy_function_is_freed_without_the_collector() -> None:
    """The wrappers that observe hold no reference to themselves: no reference cycle."""
    for parts in ({"breaker": CircuitBreaker()}, {"retry": 2, "fallback": fallback(0)}, {}):
        fn = Policy(name="q", **parts)(lambda: 1)
        gone = weakref.ref(fn)
        gc.disable()
        try:
            del fn
            assert gone() is None
        finally:
            gc.enable()


def test_otel_fixture_type() -> None:
    """enable_otel gives the in-memory reader and exporter (what the tests above read)."""
    otel: Otel = enable_otel()
    assert otel.finished() == []
