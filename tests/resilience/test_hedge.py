"""resilience.hedge: first success wins, failures, budget, losers, ledger rows, adaptive delay.

Async runs on the virtual-time loop; sync on a FakeClock, where a slow attempt moves the
clock past the delay and then blocks until the test releases it (no real sleep).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.modes import MODES

from resilience import (
    CircuitBreaker,
    CircuitOpenError,
    Hedge,
    InvalidUsage,
    Ledger,
    Policy,
    Record,
    RetryBudget,
    _events,
    hedge,
    retry,
)
from resilience.testing import FakeClock
from resilience.virtual_time import VirtualClock, run

SLOW_S = 1.0  # a slow attempt, seconds
FAST_S = 0.01  # a fast one
LIMIT_S = 10.0  # real seconds a sync test may take before it is declared stuck


class Throttled(Exception):
    """A downstream's HTTP 429, in the shape throttle_info reads (``.response``)."""

    class _Response:
        status_code = 429
        headers: Mapping[str, str] = {}

    response = _Response()


class Callee:
    """A function whose n-th invocation behaves as ``plan[n]`` (the last one repeats):
    ``"fast"``, ``"slow"`` or an exception to raise."""

    def __init__(self, plan: list[Any], clock: Any) -> None:
        self.late_until: Callable[[], bool] = self.ended_once
        self.plan = plan
        self.clock = clock
        self.calls = 0
        self.args: list[tuple[Any, ...]] = []
        self.release = threading.Event()
        self.ended = threading.Event()
        self._lock = threading.Lock()

    def _next(self) -> Any:
        with self._lock:
            step = self.plan[min(self.calls, len(self.plan) - 1)]
            self.calls += 1
        if isinstance(step, BaseException):
            if isinstance(self.clock, FakeClock):  # failing takes time: a next hedge is due
                self.clock.advance(SLOW_S)
            self.ended.set()
            raise step
        return step

    def ended_once(self) -> bool:
        return self.ended.is_set()

    def sync(self, *args: Any) -> str:
        step = self._next()
        if step in ("slow", "late"):
            self.clock.advance(SLOW_S)  # past any delay: the caller launches a hedge
            if step == "slow":
                self.release.wait(LIMIT_S)  # until the test ends
            else:
                until(self.late_until)  # until another attempt ended (or the test says)
        self.ended.set()
        return str(step)

    async def asynchronous(self, *args: Any) -> str:
        step = self._next()
        await asyncio.sleep(SLOW_S if step in ("slow", "late") else FAST_S)
        return str(step)


@dataclass
class Outcome:
    results: list[Any]
    ledger: Ledger
    hedge: Hedge
    callee: Callee
    leftover_tasks: int = 0
    elapsed_s: list[float] = field(default_factory=list)

    def attempts(self) -> list[tuple[int | None, str | None, str, int]]:
        """(hedge, hedge_result, outcome, attempt) of each attempt row, by hedge number."""
        rows = [r for r in self.ledger.records() if r.kind == "attempt"]
        return sorted(
            ((r.hedge, r.hedge_result, r.outcome, r.attempt) for r in rows),
            key=lambda t: (t[3], t[0] or 0),
        )

    def calls(self) -> list[Record]:
        return [r for r in self.ledger.records() if r.kind == "call"]


def bounded(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a thread and return what it returned or raised; fail if it hangs."""
    box: list[Any] = []

    def body() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # handed to the test
            box.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(LIMIT_S)
    assert box, "the hedged call is stuck"
    return box[0]


def drive(
    mode: str,
    plan: list[Any],
    *,
    calls: int = 1,
    policy: Mapping[str, Any] | None = None,
    **options: Any,
) -> Outcome:
    """Call a Policy(hedge=hedge(**options)) around a Callee ``calls`` times, then let
    every loser end; what happened."""
    options.setdefault("budget", None)
    late_stop = options.pop("late_stop", False)
    if mode == "sync":
        clock = FakeClock()
        callee = Callee(plan, clock)
        ledger = Ledger()
        part = hedge(clock=clock, **options)
        if late_stop:  # a late primary ends once the hedge stopped hedging (not before)
            callee.late_until = lambda: part.statistics.stopped > 0
        guarded = Policy(name="dep", hedge=part, ledger=ledger, clock=clock, **(policy or {}))(
            callee.sync
        )
        results = [bounded(guarded) for _ in range(calls)]
        callee.release.set()
        part.shutdown()
        return Outcome(results, ledger, part, callee)

    async def main() -> Outcome:
        vclock = VirtualClock()
        callee = Callee(plan, vclock)
        ledger = Ledger()
        part = hedge(clock=vclock, **options)
        guarded = Policy(name="dep", hedge=part, ledger=ledger, clock=vclock, **(policy or {}))(
            callee.asynchronous
        )
        loop = asyncio.get_running_loop()
        results, elapsed = [], []
        for _ in range(calls):
            start = loop.time()
            try:
                results.append(await guarded())
            except Exception as exc:
                results.append(exc)
            elapsed.append(round(loop.time() - start, 6))
        await asyncio.sleep(2 * SLOW_S)  # detached losers end
        others = len(asyncio.all_tasks()) - 1
        return Outcome(results, ledger, part, callee, others, elapsed)

    return run(main())


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"attempts": 1}, "attempts=1"),
        ({"attempts": 6}, "attempts=6: must be an integer in [2, 5]"),
        ({"attempts": 2.0}, "attempts=2.0"),
        ({"attempts": True}, "attempts=True"),
        ({"delay_s": -0.1}, "delay_s=-0.1"),
        ({"delay_s": float("nan")}, "delay_s=nan"),
        ({"delay": "p100"}, "delay='p100'"),
        ({"delay": "95"}, "delay='95'"),
        ({"delay": 95}, "delay=95"),
        ({"on": "ValueError"}, "on='ValueError'"),
        ({"on": KeyboardInterrupt}, "KeyboardInterrupt is not an Exception"),
        ({"loser": "kill"}, "loser='kill'"),
        ({"budget": 0}, "budget=0"),
        ({"budget": "10%"}, "budget='10%'"),
        ({"max_workers": 1}, "max_workers=1"),
        ({"action": "eu-west-1"}, "action='eu-west-1'"),
        ({"delay": "p95", "window": 10, "min_samples": 20}, "min_samples=20"),
        ({"name": ""}, "name=''"),
    ],
)
def test_bad_input_is_refused_at_construction(options: dict[str, Any], named: str) -> None:
    """Each bad parameter is an InvalidUsage naming it and its value."""
    with pytest.raises(InvalidUsage) as info:
        hedge(clock=FakeClock(), **options)
    assert named in str(info.value)


def test_more_than_five_attempts_names_the_cap() -> None:
    """attempts > 5 is refused (gRPC caps at 5; we refuse rather than clamp)."""
    with pytest.raises(InvalidUsage, match="caps hedging at 5"):
        hedge(attempts=9)


def test_an_action_of_the_other_kind_and_a_wrong_part_are_refused() -> None:
    """An async action on a plain function, and Policy(hedge=2), are InvalidUsage."""

    async def elsewhere(k: int) -> str:
        return "eu"

    with pytest.raises(InvalidUsage, match="action="):
        hedge(action=elsewhere, clock=FakeClock())(lambda: "us")
    with pytest.raises(InvalidUsage, match="hedge=2"):
        Policy(hedge=2)  # type: ignore[arg-type]


# -- who wins ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_fast_primary_launches_no_hedge(mode: str) -> None:
    """The primary answers before the delay: one attempt row, hedge 0, won."""
    done = drive(mode, ["fast"], attempts=2, delay_s=0.05)
    assert done.results == ["fast"]
    assert done.attempts() == [(0, "won", "ok", 1)]
    assert done.hedge.statistics.hedges == 0
    assert done.hedge.statistics.won_by_primary == 1
    assert [c.attempt for c in done.calls()] == [1]


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_primary_is_beaten_by_its_hedge(mode: str) -> None:
    """After the delay a hedge starts; it wins, the primary is a loser in the ledger."""
    done = drive(mode, ["slow", "fast"], attempts=2, delay_s=0.05)
    assert done.results == ["fast"]
    loser_outcome = "cancelled" if mode == "async" else "ok"  # a thread runs to its end
    assert done.attempts() == [(0, "lost", loser_outcome, 1), (1, "won", "ok", 1)]
    assert [c.attempt for c in done.calls()] == [2]
    stats = done.hedge.statistics
    assert (stats.calls, stats.attempts, stats.won_by_hedge, stats.detached) == (1, 2, 1, 0)
    if mode == "async":
        assert done.elapsed_s == [pytest.approx(0.05 + FAST_S)]
        assert done.leftover_tasks == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_handled_failure_launches_the_next_attempt_at_once(mode: str) -> None:
    """A failure in on= starts the next attempt without waiting for the delay."""
    done = drive(mode, [ConnectionError("reset"), "fast"], attempts=2, delay_s=0.5)
    assert done.results == ["fast"]
    assert done.attempts() == [(0, "lost", "error", 1), (1, "won", "ok", 1)]
    if mode == "async":
        assert done.elapsed_s == [FAST_S]  # the 0.5 s delay was not waited


@pytest.mark.parametrize("mode", MODES)
def test_when_every_attempt_fails_the_primary_error_is_raised(mode: str) -> None:
    """All attempts failed: the primary's error, as Polly returns it."""
    first, second = ConnectionError("primary"), ConnectionError("hedge")
    done = drive(mode, [first, second], attempts=2, delay_s=0.05)
    assert done.results == [first]
    assert done.attempts() == [(0, "lost", "error", 1), (1, "lost", "error", 1)]


@pytest.mark.parametrize("mode", MODES)
def test_an_unhandled_error_ends_the_group_at_once(mode: str) -> None:
    """An error not in on= is raised at once; the slow primary is cancelled (async)."""
    boom = KeyError("bug")
    done = drive(mode, ["slow", boom], attempts=3, delay_s=0.05, on=ConnectionError)
    assert done.results == [boom]
    assert done.hedge.statistics.hedges == 1  # no third attempt
    primary = "cancelled" if mode == "async" else "ok"
    assert done.attempts() == [(0, "lost", primary, 1), (1, "lost", "error", 1)]
    if mode == "async":
        assert done.elapsed_s == [0.05]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("refusal", [CircuitOpenError("dep", 30.0), Throttled("429")])
def test_a_refusal_or_throttling_stops_further_hedges(mode: str, refusal: Exception) -> None:
    """An open breaker or a 429 from a hedge: no more hedges; the primary still answers."""
    done = drive(mode, ["late", refusal, "fast"], attempts=3, delay_s=0.05, late_stop=True)
    assert done.results == ["late"]
    stats = done.hedge.statistics
    assert (stats.hedges, stats.stopped, stats.won_by_primary) == (1, 1, 1)
    assert done.callee.calls == 2


@pytest.mark.parametrize("mode", MODES)
def test_zero_delay_launches_every_attempt_at_once(mode: str) -> None:
    """delay_s=0 starts all attempts together (Polly's parallel mode)."""
    done = drive(mode, ["fast"], attempts=3, delay_s=0.0)
    assert done.results == ["fast"]
    assert done.hedge.statistics.hedges == 2
    assert sorted(r[1] for r in done.attempts()) == ["lost", "lost", "won"]


@pytest.mark.parametrize("mode", MODES)
def test_an_action_runs_the_hedges_and_the_primary_runs_the_function(mode: str) -> None:
    """action(k, *args) replaces the function for hedge k, through the Policy's layers."""
    seen: list[tuple[int, tuple[Any, ...]]] = []

    if mode == "sync":

        def elsewhere(k: int, *args: Any) -> str:
            seen.append((k, args))
            return f"region-{k}"

    else:

        async def elsewhere(k: int, *args: Any) -> str:  # type: ignore[misc]
            seen.append((k, args))
            return f"region-{k}"

    done = drive(mode, ["slow"], attempts=2, delay_s=0.05, action=elsewhere)
    assert done.results == ["region-1"]
    assert seen == [(1, ())]
    assert done.callee.calls == 1


# -- retry, breaker, concurrency -----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_retry_reruns_a_group_only_when_all_its_attempts_failed(mode: str) -> None:
    """Group 1 fails entirely, group 2's primary answers: attempt numbers 1, 1, 2."""
    plan = [ConnectionError("a"), ConnectionError("b"), "fast"]
    if mode == "sync":
        again = retry(attempts=2, backoff_s=0, budget=None, clock=FakeClock())
        done = drive(mode, plan, attempts=2, delay_s=0.05, policy={"retry": again})
    else:
        done = _drive_async_with_retry(plan)
    assert done.results == ["fast"]
    assert done.attempts() == [
        (0, "lost", "error", 1),
        (1, "lost", "error", 1),
        (0, "won", "ok", 2),
    ]
    assert [c.attempt for c in done.calls()] == [3]


def _drive_async_with_retry(plan: list[Any]) -> Outcome:
    async def main() -> Outcome:
        vclock = VirtualClock()
        callee = Callee(plan, vclock)
        ledger = Ledger()
        part = hedge(attempts=2, delay_s=0.05, budget=None, clock=vclock)
        again = retry(attempts=2, backoff_s=0, budget=None, clock=vclock)
        guarded = Policy(hedge=part, retry=again, ledger=ledger, clock=vclock)(callee.asynchronous)
        return Outcome([await guarded()], ledger, part, callee)

    return run(main())


def test_an_open_breaker_rejects_the_primary_and_no_hedge_is_launched() -> None:
    """The breaker sits inside the hedge: open, it rejects each attempt; none bypasses it."""

    async def main() -> tuple[Any, Hedge, Ledger]:
        vclock = VirtualClock()
        breaker = CircuitBreaker(fail_max=1, reset_timeout_s=60, clock=vclock)
        part = hedge(attempts=3, delay_s=0.05, budget=None, clock=vclock)
        ledger = Ledger()

        async def down() -> str:
            raise ConnectionError("down")

        guarded = Policy(hedge=part, breaker=breaker, ledger=ledger, clock=vclock)(down)
        with pytest.raises(ConnectionError):
            await guarded()  # both attempts fail; the first failure opens the breaker
        try:
            await guarded()
        except CircuitOpenError as exc:
            return exc, part, ledger
        raise AssertionError("not rejected")

    exc, part, ledger = run(main())
    assert isinstance(exc, CircuitOpenError)
    last = [r for r in ledger.records() if r.kind == "attempt"][-1]
    assert (last.outcome, last.hedge) == ("rejected", 0)
    assert part.statistics.hedges == 1  # the second call launched none


def test_concurrent_calls_sharing_a_policy_keep_their_rows_apart() -> None:
    """100 concurrent calls, a third of them slow: one winner per call, counts add up."""

    async def main() -> tuple[Ledger, Hedge]:
        vclock = VirtualClock()
        ledger = Ledger()
        part = hedge(attempts=2, delay_s=0.05, budget=None, clock=vclock)
        slow_keys = {k for k in range(100) if k % 3 == 0}
        fired: set[int] = set()

        @Policy(hedge=part, ledger=ledger, clock=vclock)
        async def fetch(key: int) -> int:
            slow = key in slow_keys and key not in fired
            fired.add(key)
            await asyncio.sleep(SLOW_S if slow else FAST_S)
            return key

        assert await asyncio.gather(*(fetch(k) for k in range(100))) == list(range(100))
        return ledger, part

    ledger, part = run(main())
    rows = ledger.records()
    calls = [r for r in rows if r.kind == "call"]
    attempts = [r for r in rows if r.kind == "attempt"]
    assert len(calls) == 100
    assert sum(r.hedge_result == "won" for r in attempts) == 100
    assert part.statistics.hedges == 34
    assert len(attempts) == sum(c.attempt for c in calls) == 134
    assert sum(r.outcome == "cancelled" for r in attempts) == 34


# -- budget --------------------------------------------------------------------------


def test_the_budget_caps_extra_attempts_in_an_outage() -> None:
    """Every call slow: without a budget each launches a hedge; with 10% only a tenth do."""

    def outage(budget: RetryBudget | None) -> Hedge:
        async def main() -> Hedge:
            vclock = VirtualClock()
            part = hedge(attempts=2, delay_s=0.05, budget=budget, clock=vclock)

            @part
            async def slow() -> str:
                await asyncio.sleep(SLOW_S)
                return "late"

            for _ in range(20):  # 20 s of 10 calls per second
                await asyncio.gather(*(slow() for _ in range(10)))
            return part

        return run(main())

    unbounded = outage(None).statistics
    assert unbounded.hedges == unbounded.calls == 200
    capped = outage(RetryBudget(ratio=0.1, min_retries=0, window_s=10.0)).statistics
    assert capped.calls == 200
    assert capped.hedges <= 0.1 * capped.calls + 1
    assert capped.hedges >= 0.1 * capped.calls - 2  # the budget is used, not just refused
    assert capped.budget_refusals == capped.calls - capped.hedges


# -- losers: cancel, detach, nothing left behind -------------------------------------


def test_detached_losers_finish_in_the_background_and_write_their_rows() -> None:
    """loser='detach' returns at once; the loser keeps running, then writes its row."""

    async def main() -> tuple[float, int, int, Ledger]:
        vclock = VirtualClock()
        ledger = Ledger()
        part = hedge(attempts=2, delay_s=0.05, budget=None, loser="detach", clock=vclock)
        order = iter([SLOW_S, FAST_S])

        @Policy(hedge=part, ledger=ledger, clock=vclock)
        async def fetch() -> str:
            await asyncio.sleep(next(order))
            return "ok"

        loop = asyncio.get_running_loop()
        assert await fetch() == "ok"
        returned_at = loop.time()
        running = part.statistics.detached
        await asyncio.sleep(SLOW_S)
        return returned_at, running, part.statistics.detached, ledger

    returned_at, running, after, ledger = run(main())
    assert returned_at == pytest.approx(0.05 + FAST_S)
    assert (running, after) == (1, 0)
    primary = next(r for r in ledger.records() if r.kind == "attempt" and r.hedge == 0)
    assert (primary.outcome, primary.hedge_result, primary.duration_s) == ("ok", "lost", SLOW_S)


def test_cancelling_the_hedged_call_cancels_every_attempt() -> None:
    """A cancelled caller leaves no task behind: its attempts are cancelled and awaited."""

    async def main() -> tuple[int, list[str]]:
        vclock = VirtualClock()
        ledger = Ledger()
        part = hedge(attempts=3, delay_s=0.05, budget=None, clock=vclock)

        @Policy(hedge=part, ledger=ledger, clock=vclock)
        async def stuck() -> str:
            await asyncio.sleep(3600)
            return "never"

        caller = asyncio.ensure_future(stuck())
        await asyncio.sleep(0.2)  # all three attempts are running
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        others = len(asyncio.all_tasks()) - 1
        return others, sorted(r.outcome for r in ledger.records())

    others, outcomes = run(main())
    assert others == 0
    assert outcomes == ["cancelled"] * 4  # three attempts and the call


def test_sync_losers_leave_no_thread_after_shutdown() -> None:
    """Sync losers are detached threads; after shutdown() no hedge worker is alive."""
    before = {t.ident for t in threading.enumerate()}
    done = drive("sync", ["slow", "fast"], calls=3, attempts=2, delay_s=0.05)
    assert done.results == ["fast", "fast", "fast"]
    after = {t.ident for t in threading.enumerate() if t.name.startswith("callwise-hedge")}
    assert after - before == set()
    assert done.hedge.statistics.detached == 0


def until(condition: Callable[[], bool]) -> None:
    """Wait (in 1 ms real slices, bounded) until ``condition()`` holds: threads at work."""
    for _ in range(int(LIMIT_S * 1000)):
        if condition():
            return
        threading.Event().wait(0.001)
    raise AssertionError("condition never held")


def test_a_sync_hedge_launches_no_hedge_when_every_worker_is_busy() -> None:
    """With every worker busy the hedge is not launched (pool_full): it would only queue."""
    clock = FakeClock()
    callee = Callee(["slow"], clock)
    part = hedge(attempts=2, delay_s=0.05, budget=None, max_workers=2, clock=clock)
    guarded = part(callee.sync)
    first = threading.Thread(target=guarded, daemon=True)
    first.start()
    until(lambda: callee.calls == 2)  # its primary and its hedge hold both workers
    second = threading.Thread(target=guarded, daemon=True)
    second.start()
    until(lambda: part.statistics.calls == 2)
    clock.advance(0.1)  # the second call's delay passes while its primary still queues
    until(lambda: part.statistics.pool_full == 1)
    callee.release.set()
    first.join(LIMIT_S)
    second.join(LIMIT_S)
    part.shutdown()
    assert (part.statistics.hedges, part.statistics.calls, callee.calls) == (1, 2, 3)


# -- adaptive delay, events ----------------------------------------------------------


def test_a_percentile_delay_uses_delay_s_until_min_samples() -> None:
    """delay='p95': delay_s for the first 19 calls, then the p95 of the 20 latencies."""

    async def main() -> list[float]:
        vclock = VirtualClock()
        part = hedge(
            attempts=2, delay_s=1.0, delay="p95", min_samples=20, budget=None, clock=vclock
        )
        latencies = iter([0.001 * (i + 1) for i in range(40)])

        @part
        async def fetch() -> None:
            await asyncio.sleep(next(latencies))

        delays = []
        for _ in range(25):
            await fetch()
            delays.append(round(part.delay_now(), 6))
        return delays

    delays = run(main())
    assert delays[:19] == [1.0] * 19
    assert delays[19] == 0.019  # nearest rank: the 19th of 20 samples 1..20 ms
    assert delays[24] == 0.019  # refreshed every 10 samples, not yet


def test_each_hedge_launched_is_an_event() -> None:
    """hedge.launched is emitted per hedge, with the policy name and the hedge number."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def listener(event: str, attributes: Mapping[str, Any]) -> None:
        seen.append((event, dict(attributes)))

    _events.subscribe(listener)
    try:
        drive("async", ["slow", "slow", "fast"], attempts=3, delay_s=0.05)
    finally:
        _events.unsubscribe(listener)
    assert seen == [
        ("hedge.launched", {"callwise.policy": "dep", "callwise.hedge": 1}),
        ("hedge.launched", {"callwise.policy": "dep", "callwise.hedge": 2}),
    ]


def test_statistics_and_repr() -> None:
    """statistics.as_dict() lists every counter; repr shows the settings."""
    part = hedge(attempts=3, delay_s=0.02, delay="p90", clock=FakeClock())
    assert set(part.statistics.as_dict()) >= {"calls", "hedges", "budget_refusals"}
    assert "attempts=3" in repr(part) and "'p90'" in repr(part)


def test_last_hedge_failing_while_the_primary_runs_waits_for_the_primary() -> None:
    """The last allowed hedge fails fast while the primary is still running: the race
    waits for the primary (it used to spin without awaiting, asking for a hedge that no
    longer could be launched)."""
    tries: list[int] = []

    async def call() -> str:
        tries.append(len(tries))
        if len(tries) == 2:  # the hedge: fails at once
            raise ConnectionError("hedge failed")
        await asyncio.sleep(0.1)  # the primary: slower than the hedge delay
        return "primary"

    async def main() -> tuple[str, float]:
        guarded = hedge(attempts=2, delay_s=0.05, budget=None, clock=VirtualClock())(call)
        result = await asyncio.wait_for(guarded(), timeout=5.0)
        return result, asyncio.get_running_loop().time()

    assert run(main(), stuck_after_s=None) == ("primary", 0.1)
    assert tries == [0, 1]
