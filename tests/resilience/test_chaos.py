"""resilience.chaos: injected latency, faults and outcomes, seeded, off by default, innermost.

Every test runs in virtual time: injected latency sleeps on a FakeClock (or a virtual
loop), never for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from support.modes import MODES, call, make, make_without_yield
from support.virtual import run_virtual

import costmodel
import resilience
from resilience import (
    CircuitBreaker,
    InjectedThrottle,
    InvalidUsage,
    Ledger,
    Policy,
    TimeoutExceeded,
    _events,
    chaos,
    fallback,
    retry,
    throttle_info,
    timeout,
)
from resilience.testing import FakeClock


class Boom(Exception):
    """The fault these tests inject."""


def _count_ok(mode: str, fn: Any, calls: int) -> int:
    """Call ``fn`` ``calls`` times; how many calls raised Boom."""
    if mode == "sync":
        failed = 0
        for _ in range(calls):
            try:
                fn()
            except Boom:
                failed += 1
        return failed

    async def many() -> int:
        failed = 0
        for _ in range(calls):
            try:
                await fn()
            except Boom:
                failed += 1
        return failed

    return asyncio.run(many())


def _binomial_bound(calls: int, rate: float) -> float:
    """Four standard deviations of a binomial count."""
    return 4 * math.sqrt(calls * rate * (1 - rate))


@pytest.mark.parametrize("mode", MODES)
def test_fault_rate_is_observed_within_binomial_error_over_10k_calls(mode: str) -> None:
    """10,000 seeded calls at rate 0.05: the faults seen are 500 within 4 sigma."""
    spec = chaos(fault=Boom, rate=0.05, enabled=True, rng=2026)
    fn = spec(make_without_yield(mode, lambda: "ok"))
    failed = _count_ok(mode, fn, 10_000)
    assert abs(failed - 500) <= _binomial_bound(10_000, 0.05)
    assert spec.statistics.faults == failed
    assert spec.statistics.calls == 10_000


@pytest.mark.parametrize("mode", MODES)
def test_each_kind_has_its_own_rate(mode: str) -> None:
    """latency_rate and fault_rate are drawn independently, each within binomial error."""
    clock = FakeClock()
    spec = chaos(
        latency_s=0.5, fault=Boom, latency_rate=0.2, fault_rate=0.01, enabled=True, rng=7,
        clock=clock,
    )  # fmt: skip
    fn = spec(make_without_yield(mode, lambda: "ok"))
    failed = _count_ok(mode, fn, 10_000)
    assert abs(failed - 100) <= _binomial_bound(10_000, 0.01)
    delayed = spec.statistics.latency
    assert abs(delayed - 2_000) <= _binomial_bound(10_000, 0.2)
    assert clock.monotonic() == pytest.approx(0.5 * delayed)
    assert spec.statistics.latency_s == pytest.approx(0.5 * delayed)


def test_the_same_seed_injects_into_the_same_calls() -> None:
    """Two specs with one seed inject into exactly the same calls."""

    def pattern(seed: int) -> list[bool]:
        fn = chaos(fault=Boom, rate=0.3, enabled=True, rng=seed)(lambda: None)
        seen = []
        for _ in range(200):
            try:
                fn()
                seen.append(False)
            except Boom:
                seen.append(True)
        return seen

    assert pattern(11) == pattern(11)
    assert pattern(11) != pattern(12)


def test_off_by_default_and_a_constant_false_builds_no_layer() -> None:
    """enabled defaults to False; then the decorator returns the function itself."""

    def price() -> float:
        return 9.5

    spec = chaos(fault=Boom, rate=1.0)
    assert spec.enabled is False and spec.off
    assert spec(price) is price
    assert price() == 9.5


def _chain(fn: Any) -> list[str]:
    """The qualified names of the wrappers down to the function."""
    names = []
    while fn is not None:
        names.append(fn.__code__.co_name if hasattr(fn, "__code__") else repr(fn))
        fn = getattr(fn, "__wrapped__", None)
    return names


@pytest.mark.parametrize("mode", MODES)
def test_policy_with_chaos_off_is_exactly_the_policy_without_it(mode: str) -> None:
    """A constant enabled=False chaos part adds no wrapper to a Policy."""
    clock = FakeClock()
    body = make(mode, lambda: 1)
    common: dict[str, Any] = {"retry": 3, "timeout": 5.0, "ledger": Ledger(), "clock": clock}
    plain = Policy(**common)(body)
    off = Policy(chaos=chaos(fault=Boom, rate=1.0), **{**common, "ledger": Ledger()})(body)
    on = Policy(chaos=chaos(fault=Boom, rate=0.0, enabled=True), **common)(body)
    assert _chain(off) == _chain(plain)
    assert len(_chain(on)) == len(_chain(plain)) + 1
    assert call(mode, off) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_callable_enabled_is_asked_on_every_call(mode: str) -> None:
    """A flag flipped between calls turns injection on and off at once."""
    flag = {"on": False}
    spec = chaos(outcome="canned", rate=1.0, enabled=lambda: flag["on"])
    fn = spec(make_without_yield(mode, lambda: "real"))
    seen = []
    for on in (False, True, True, False, True):
        flag["on"] = on
        seen.append(call(mode, fn))
    assert seen == ["real", "canned", "canned", "real", "canned"]
    assert spec.statistics.as_dict() == {
        "calls": 5, "skipped": 2, "latency": 0, "faults": 0, "outcomes": 3, "latency_s": 0.0,
    }  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_injected_latency_sleeps_on_the_clock_then_calls(mode: str) -> None:
    """A fixed latency is slept on the spec's clock before the function runs."""
    clock = FakeClock()
    ran: list[float] = []
    spec = chaos(latency_s=1.5, rate=1.0, enabled=True, clock=clock)
    fn = spec(make_without_yield(mode, lambda: ran.append(clock.monotonic()) or "done"))
    assert call(mode, fn) == "done"
    assert clock.sleeps == [1.5] and ran == [1.5]


def test_a_costmodel_lognormal_drives_a_live_chaos_layer() -> None:
    """costmodel.lognormal(...).seconds() is a Sampler: the injected delays follow it."""
    clock = FakeClock()
    tail = costmodel.lognormal(p50_ms=200, p99_ms=2000).seconds()
    assert isinstance(tail, resilience.Sampler)
    spec = chaos(latency_s=tail, rate=1.0, enabled=True, clock=clock, rng=3)
    fn = spec(lambda: None)
    for _ in range(4_000):
        fn()
    delays = sorted(clock.sleeps)
    assert delays[2_000] == pytest.approx(0.2, rel=0.1)  # the median, seconds
    assert delays[3_960] == pytest.approx(2.0, rel=0.25)  # the 99th percentile
    assert sum(delays) / len(delays) == pytest.approx(tail.mean_s, rel=0.1)


def test_a_distribution_in_ms_is_refused_with_the_adapter_named() -> None:
    """A costmodel distribution given as it is (ms) must go through .seconds()."""
    with pytest.raises(InvalidUsage, match=r"latency_s=.*\.seconds\(\)"):
        chaos(latency_s=costmodel.lognormal(p50_ms=200, p99_ms=2000), enabled=True)


def test_a_sampler_returning_a_bad_value_fails_clearly() -> None:
    """A sampler that returns a negative delay is reported, naming latency_s."""

    class Negative:
        def sample(self, rng: random.Random) -> float:
            return -1.0

    fn = chaos(latency_s=Negative(), rate=1.0, enabled=True, clock=FakeClock())(lambda: 1)
    with pytest.raises(InvalidUsage, match=r"latency_s=.*returned -1\.0"):
        fn()


@pytest.mark.parametrize("mode", MODES)
def test_fault_instance_class_and_factory(mode: str) -> None:
    """An instance is raised as a fresh copy; a class is made; a factory is called."""
    ran: list[int] = []
    body = make_without_yield(mode, lambda: ran.append(1))
    instance = Boom("from an instance")
    raised = []
    for fault in (instance, instance, Boom, lambda: Boom("from a factory")):
        fn = chaos(fault=fault, rate=1.0, enabled=True, name="ch")(body)
        with pytest.raises(Boom) as info:
            call(mode, fn)
        raised.append(info.value)
    assert ran == []  # the call was never made
    assert [str(e) for e in raised] == [
        "from an instance", "from an instance", "fault injected by chaos ch", "from a factory",
    ]  # fmt: skip
    assert raised[0] is not instance and raised[1] is not raised[0]
    assert instance.__traceback__ is None


def test_a_fault_factory_that_returns_no_exception_fails_clearly() -> None:
    """A factory returning something else is reported, naming fault."""
    fn = chaos(fault=lambda: "oops", rate=1.0, enabled=True)(lambda: 1)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidUsage, match=r"fault=.*returned 'oops'"):
        fn()


@pytest.mark.parametrize("mode", MODES)
def test_outcome_value_and_factory_replace_the_call(mode: str) -> None:
    """A canned outcome is returned without calling; a callable outcome is called."""
    ran: list[int] = []
    body = make_without_yield(mode, lambda: ran.append(1) or "real")
    made = iter(range(10))
    value = chaos(outcome={"cached": True}, rate=1.0, enabled=True)(body)
    factory = chaos(outcome=lambda: next(made), rate=1.0, enabled=True)(body)
    assert call(mode, value) == {"cached": True}
    assert [call(mode, factory), call(mode, factory)] == [0, 1]
    assert ran == []


def test_injected_throttle_reads_as_a_throttle() -> None:
    """InjectedThrottle is an HTTP 429 with Retry-After that throttle_info reads."""
    exc = InjectedThrottle(retry_after_s=1.5, name="prices")
    info = throttle_info(exc)
    assert info is not None and (info.retry_after_s, info.source) == (1.5, "http")
    assert (exc.status_code, exc.url) == (429, "chaos:prices")
    assert throttle_info(InjectedThrottle()) is not None  # no hint, still a throttle
    with pytest.raises(InvalidUsage, match="retry_after_s=-1"):
        InjectedThrottle(retry_after_s=-1)


@pytest.mark.parametrize("mode", MODES)
def test_retry_waits_the_injected_retry_after(mode: str) -> None:
    """Retry honours the injected throttle's Retry-After, as it would a real one."""
    clock = FakeClock()
    draws = iter([0.0, 0.9])  # the first call throttled, the retry not

    class Scripted(random.Random):
        def random(self) -> float:
            return next(draws)

    spec = chaos(fault=InjectedThrottle(retry_after_s=2.0), rate=0.5, enabled=True, rng=Scripted())
    policy = Policy(retry=retry(attempts=3, clock=clock, rng=random.Random(0)), chaos=spec)
    fn = policy(make(mode, lambda: "ok"))
    assert call(mode, fn) == "ok"
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize("mode", MODES)
def test_ledger_marks_the_injected_attempts(mode: str) -> None:
    """Attempt rows carry injected=latency|fault|outcome; untouched ones None."""
    clock = FakeClock()
    ledger = Ledger()
    cases = [
        ("latency", chaos(latency_s=0.2, rate=1.0, enabled=True)),
        ("fault", chaos(fault=Boom, rate=1.0, enabled=True)),
        ("outcome", chaos(outcome=0, rate=1.0, enabled=True)),
        ("fault", chaos(latency_s=0.2, fault=Boom, rate=1.0, enabled=True)),
        (None, chaos(fault=Boom, rate=0.0, enabled=True)),
    ]
    for expected, spec in cases:
        fn = Policy(name=str(expected), chaos=spec, ledger=ledger, clock=clock)(
            make(mode, lambda: 1)
        )
        with contextlib.suppress(Boom):
            call(mode, fn)
    rows = [(r.kind, r.injected, r.outcome) for r in ledger.records()]
    assert rows == [
        ("attempt", "latency", "ok"), ("call", None, "ok"),
        ("attempt", "fault", "error"), ("call", None, "error"),
        ("attempt", "outcome", "ok"), ("call", None, "ok"),
        ("attempt", "fault", "error"), ("call", None, "error"),
        ("attempt", None, "ok"), ("call", None, "ok"),
    ]  # fmt: skip
    frame = ledger.to_frame()
    assert frame["injected"].dropna().tolist() == ["latency", "fault", "outcome", "fault"]


def test_marks_stay_with_their_attempt_when_attempts_run_at_once() -> None:
    """Two calls in flight together, one delayed by chaos: only its row is marked."""
    draws = iter([0.0, 0.9])  # first call: latency injected; second: not

    class Scripted(random.Random):
        def random(self) -> float:
            return next(draws)

    ledger = Ledger()
    loop_clock = resilience.virtual_time.VirtualClock()
    spec = chaos(latency_s=1.0, rate=0.5, enabled=True, rng=Scripted())

    @Policy(chaos=spec, ledger=ledger, clock=loop_clock)
    async def work(tag: str) -> str:
        await asyncio.sleep(0.5)
        return tag

    async def both() -> list[str]:
        return list(await asyncio.gather(work("slow"), work("fast")))

    result, elapsed = run_virtual(both())
    assert (result, elapsed) == (["slow", "fast"], 1.5)
    attempts = [(r.duration_s, r.injected) for r in ledger.records() if r.kind == "attempt"]
    assert sorted(attempts) == [(0.5, None), (1.5, "latency")]


def test_marks_stay_with_their_attempt_across_threads() -> None:
    """Sync attempts in two threads at once: each row carries its own thread's mark."""
    clock = FakeClock()
    ledger = Ledger()
    gate = threading.Barrier(2)
    spec = chaos(fault=Boom, rate=1.0, enabled=lambda: threading.current_thread().name == "A")

    @Policy(chaos=spec, ledger=ledger, clock=clock)
    def work() -> int:
        gate.wait(timeout=5)
        return 1

    def run() -> None:
        try:
            work()
        except Boom:
            gate.wait(timeout=5)

    threads = [threading.Thread(target=run, name=n) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    marks = sorted((r.outcome, r.injected or "-") for r in ledger.records() if r.kind == "attempt")
    assert marks == [("error", "fault"), ("ok", "-")]


@pytest.mark.parametrize("mode", MODES)
def test_retry_retries_injected_faults(mode: str) -> None:
    """Inside a Policy, retry sees an injected fault as a real failure and retries it."""
    clock = FakeClock()
    ledger = Ledger()
    spec = chaos(fault=Boom, rate=1.0, enabled=True)
    policy = Policy(
        retry=retry(attempts=3, backoff_s=0.1, clock=clock, rng=random.Random(0)),
        chaos=spec, ledger=ledger, clock=clock,
    )  # fmt: skip
    fn = policy(make(mode, lambda: 1))
    with pytest.raises(Boom):
        call(mode, fn)
    assert spec.statistics.faults == 3
    assert [r.injected for r in ledger.records() if r.kind == "attempt"] == ["fault"] * 3


@pytest.mark.parametrize("mode", MODES)
def test_the_breaker_counts_injected_faults(mode: str) -> None:
    """Injected faults trip the breaker; then it rejects before chaos is reached."""
    spec = chaos(fault=Boom, rate=1.0, enabled=True)
    breaker = CircuitBreaker(fail_max=3, reset_timeout_s=60, clock=FakeClock())
    fn = Policy(breaker=breaker, chaos=spec)(make(mode, lambda: 1))
    for _ in range(3):
        with pytest.raises(Boom):
            call(mode, fn)
    with pytest.raises(resilience.CircuitOpenError):
        call(mode, fn)
    assert spec.statistics.calls == 3


def test_the_timeout_bounds_injected_latency_async() -> None:
    """An injected 30 s latency is cut by a 2 s timeout (virtual loop, async)."""
    ledger = Ledger()
    clock = resilience.virtual_time.VirtualClock()
    spec = chaos(latency_s=30.0, rate=1.0, enabled=True)

    @Policy(timeout=2.0, chaos=spec, ledger=ledger, clock=clock)
    async def work() -> int:
        return 1

    async def attempt() -> str:
        try:
            await work()
        except TimeoutExceeded:
            return "timeout"
        return "ok"

    assert run_virtual(attempt()) == ("timeout", 2.0)
    row = next(r for r in ledger.records() if r.kind == "attempt")
    assert (row.outcome, row.injected) == ("timeout", "latency")


def test_the_timeout_bounds_injected_latency_sync() -> None:
    """An injected latency slept on the FakeClock in the timeout's worker fires the
    timeout, and the worker thread's mark reaches the attempt row."""
    clock = FakeClock()
    ledger = Ledger()
    spec = chaos(latency_s=30.0, rate=1.0, enabled=True)
    fn = Policy(timeout=timeout(2.0, clock=clock), chaos=spec, ledger=ledger, clock=clock)(
        lambda: 1
    )
    with pytest.raises(TimeoutExceeded):
        fn()
    row = next(r for r in ledger.records() if r.kind == "attempt")
    assert (row.outcome, row.injected) == ("timeout", "latency")


@pytest.mark.parametrize("mode", MODES)
def test_a_fallback_answers_for_an_injected_fault(mode: str) -> None:
    """The outermost fallback catches an injected fault as any other."""
    spec = chaos(fault=Boom, rate=1.0, enabled=True)
    fn = Policy(fallback=fallback("stale"), chaos=spec)(make(mode, lambda: "fresh"))
    assert call(mode, fn) == "stale"


def test_events_report_each_injection() -> None:
    """chaos.injected is emitted per injection, with the Policy's name and the kind."""
    seen: list[tuple[str, Mapping[str, Any]]] = []

    def listener(event: str, attributes: Mapping[str, Any]) -> None:
        seen.append((event, dict(attributes)))

    spec = chaos(latency_s=0.1, outcome=0, rate=1.0, enabled=True, clock=FakeClock())
    fn = Policy(name="prices", chaos=spec)(lambda: 1)
    _events.subscribe(listener)
    try:
        fn()
    finally:
        _events.unsubscribe(listener)
    assert seen == [
        ("chaos.injected", {"callwise.policy": "prices", "callwise.injected": "latency"}),
        ("chaos.injected", {"callwise.policy": "prices", "callwise.injected": "outcome"}),
    ]


def test_the_policy_clock_sleeps_the_latency_unless_the_spec_has_one() -> None:
    """A spec without a clock sleeps on the Policy's; its own clock wins."""
    policy_clock, own_clock = FakeClock(), FakeClock()
    Policy(chaos=chaos(latency_s=1.0, rate=1.0, enabled=True), clock=policy_clock)(lambda: 1)()
    spec = chaos(latency_s=2.0, rate=1.0, enabled=True, clock=own_clock)
    Policy(chaos=spec, clock=policy_clock)(lambda: 1)()
    assert (policy_clock.sleeps, own_clock.sleeps) == ([1.0], [2.0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "nothing to inject"),
        ({"fault": Boom, "rate": -0.1}, r"rate=-0.1: must be a rate in \[0, 1\]"),
        ({"fault": Boom, "rate": 1.5}, r"rate=1.5"),
        ({"fault": Boom, "rate": float("nan")}, r"rate=nan"),
        ({"fault": Boom, "fault_rate": 2}, r"fault_rate=2"),
        ({"fault": Boom, "latency_rate": 0.5}, "latency_rate=0.5: given without"),
        ({"latency_s": -1}, r"latency_s=-1: must be a number of seconds >= 0"),
        ({"latency_s": float("inf")}, r"latency_s=inf"),
        ({"latency_s": "1s"}, r"latency_s='1s'"),
        ({"fault": "Boom"}, r"fault='Boom': must be an exception"),
        ({"fault": int}, r"fault=<class 'int'>: is a class but not an exception"),
        ({"fault": Boom, "enabled": "yes"}, r"enabled='yes'"),
        ({"fault": Boom, "rng": "seed"}, r"rng='seed'"),
        ({"fault": Boom, "clock": object()}, r"clock=.*monotonic"),
        ({"fault": Boom, "name": ""}, r"name=''"),
    ],
)
def test_bad_input_fails_at_construction_naming_the_parameter(
    options: dict[str, Any], message: str
) -> None:
    """Each bad option raises InvalidUsage naming it, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        chaos(**options)


def test_policy_refuses_a_chaos_part_of_the_wrong_kind() -> None:
    """chaos= takes a resilience.chaos spec."""
    with pytest.raises(InvalidUsage, match=r"chaos=0.1: must be a Chaos"):
        Policy(chaos=0.1)  # type: ignore[arg-type]


def test_repr_and_defaults_beside_polly() -> None:
    """The default rate is Polly's 0.001; the repr shows what is injected and the switch."""
    spec = chaos(fault=Boom, latency_s=0.5, latency_rate=0.1)
    assert spec.rate == 0.001 and spec.fault_rate == 0.001 and spec.latency_rate == 0.1
    assert spec.outcome_rate is None
    assert repr(spec) == (
        f"Chaos(latency_s=0.5, fault={Boom!r}, rate=0.001, latency_rate=0.1, enabled=False)"
    )
