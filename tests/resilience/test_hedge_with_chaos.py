"""Hedge and chaos in one Policy: injected faults launch hedges, rows carry both marks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from resilience import InjectedThrottle, Ledger, Policy, _events, chaos, hedge
from resilience.virtual_time import VirtualClock, run


def test_an_injected_fault_on_the_primary_launches_the_hedge_at_once() -> None:
    """The fault is marked on the primary's row; the hedge wins; both rows are hedged."""

    async def main() -> tuple[list[Any], list[str]]:
        clock, ledger, events = VirtualClock(), Ledger(), []

        def listen(event: str, attributes: Mapping[str, Any]) -> None:
            events.append(event)

        _events.subscribe(listen)
        try:
            faults = iter([True, False])
            spec = chaos(
                fault=ConnectionError("injected"),
                enabled=lambda: next(faults),
                rate=1.0,
                rng=random.Random(1),
                clock=clock,
            )
            policy = Policy(
                name="quote",
                hedge=hedge(attempts=2, delay_s=1.0, budget=None, clock=clock),
                chaos=spec,
                ledger=ledger,
                clock=clock,
            )

            @policy
            async def quote() -> float:
                await clock.asleep(0.01)
                return 9.5

            assert await quote() == 9.5
            assert clock.monotonic() < 0.1  # the fault launched the hedge, no 1 s delay
        finally:
            _events.unsubscribe(listen)
        return ledger.records(), events

    rows, events = run(main())
    attempts = sorted((r for r in rows if r.kind == "attempt"), key=lambda r: r.hedge or 0)
    assert [(r.hedge, r.hedge_result, r.outcome, r.injected) for r in attempts] == [
        (0, "lost", "error", "fault"),
        (1, "won", "ok", None),
    ]
    assert "chaos.injected" in events and "hedge.launched" in events


def test_an_injected_throttle_stops_further_hedges() -> None:
    """A throttling error (retry-after) is not hedged into: the primary's error is raised."""

    async def main() -> tuple[Exception, Any]:
        clock = VirtualClock()
        part = hedge(attempts=3, delay_s=1.0, budget=None, clock=clock)
        policy = Policy(
            hedge=part,
            chaos=chaos(fault=InjectedThrottle(retry_after_s=2.0), rate=1.0, enabled=True),
            clock=clock,
        )

        @policy
        async def call() -> int:
            return 1

        try:
            await call()
        except InjectedThrottle as exc:
            await asyncio.sleep(0)
            return exc, part.statistics
        raise AssertionError("the injected throttle was not raised")

    exc, statistics = run(main())
    assert isinstance(exc, InjectedThrottle)
    assert statistics.hedges == 0
