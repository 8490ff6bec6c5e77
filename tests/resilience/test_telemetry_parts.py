"""Telemetry of the hedge, chaos and keep-warm parts, emitted by the real parts (not by hand):
their events on callwise.events, and a hedged call's attempts as child spans."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from support.otel import Otel, enable_otel

from resilience import Ledger, Policy, chaos, hedge, keep_warm, telemetry
from resilience.testing import FakeClock
from resilience.virtual_time import VirtualClock, run


@pytest.fixture
def otel() -> Iterator[Otel]:
    yield enable_otel()
    telemetry.disable()


def test_a_hedged_call_has_a_span_per_attempt_and_a_hedge_launched_event(otel: Otel) -> None:
    """The slow primary and the winning hedge are two attempt spans under one call span."""

    async def main() -> None:
        clock = VirtualClock()
        started: list[int] = []

        @Policy(name="quote", hedge=hedge(attempts=2, delay_s=0.05, budget=None), clock=clock)
        async def quote() -> str:
            started.append(1)
            await clock.asleep(1.0 if len(started) == 1 else 0.01)
            return "ok"

        assert await quote() == "ok"

    run(main())
    [launched] = otel.events()["hedge.launched"]
    assert launched["callwise.policy"] == "quote" and launched["n"] == 1
    spans = otel.finished()
    [root] = [s for s in spans if s.name == "quote"]
    attempts = [s for s in spans if s.name == "quote attempt"]
    assert len(attempts) == 2
    assert {s.parent.span_id for s in attempts if s.parent} == {root.context.span_id}
    [duration] = [
        p for a, p in otel.points("callwise.call.duration") if a["callwise.policy"] == "quote"
    ]
    assert duration.count == 1 and 0.05 <= duration.sum < 0.1


def test_chaos_injections_are_counted_by_kind(otel: Otel) -> None:
    """Every injected fault is one chaos.injected event of the calling policy."""
    clock = FakeClock()
    spec = chaos(fault=ConnectionError("injected"), rate=0.5, enabled=True,
                 rng=random.Random(7), clock=clock)  # fmt: skip
    fn = Policy(name="stock", chaos=spec, clock=clock)(lambda: "ok")
    failed = 0
    for _ in range(200):
        try:
            fn()
        except ConnectionError:
            failed += 1
    counted = otel.events()["chaos.injected"]
    assert sum(a["n"] for a in counted) == failed == spec.statistics.faults
    assert all(a["callwise.policy"] == "stock" for a in counted)


def test_an_unreachable_target_and_its_recovery_are_counted_once(otel: Otel) -> None:
    """Two failed rounds: one probe.unreachable; the next good round: one probe.recovered."""
    clock = FakeClock()
    up = [False]

    def target(payload: object) -> str:
        if not up[0]:
            raise ConnectionError("no route")
        return "warm"

    warmer = keep_warm(target, every_s=60, alert_after=2, clock=clock, ledger=Ledger(),
                       name="orders")  # fmt: skip
    for _ in range(3):
        warmer.run_once()
    up[0] = True
    warmer.run_once()
    events = otel.events()
    assert sum(a["n"] for a in events["probe.unreachable"]) == 1
    assert sum(a["n"] for a in events["probe.recovered"]) == 1
