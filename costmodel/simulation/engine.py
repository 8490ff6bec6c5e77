"""The simulation engine: arrivals become tasks through a guarded async function.

Internal to :mod:`costmodel.simulation.run`. One :class:`Engine` runs one scenario once, on
a :class:`~resilience.virtual_time.VirtualTimeLoop`. It owns the simulated downstream (an
``async def`` that sleeps its latency in virtual time and fails as the scenario's
windows say) and records, in flat lists, what the caller saw (start, duration,
raised or not) and what the callee executed (start, billed duration), plus one
snapshot per second (breaker state, calls in flight).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from resilience.virtual_time import VirtualTimeLoop

from .scenario import (
    CallerTimeout,
    DownstreamError,
    DownstreamThrottled,
    DownstreamTimeout,
    Scenario,
)

_BLOCK = 65_536  # random draws fetched from numpy at a time

# The index of the call a task runs: set by the engine's per-call coroutine, read where
# the Policy writes that call's ledger row (same task, so the same context).
_call_index: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "callwise_sim_call", default=None
)


def _cancelled(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError)


def _wake(future: asyncio.Future[None]) -> None:
    """End a virtual sleep (``asyncio.sleep``'s own callback)."""
    if not future.cancelled():
        future.set_result(None)


class _Draws:
    """A stream of random draws, fetched from numpy in blocks (fast and seeded)."""

    __slots__ = ("_draw", "_index", "_values")

    def __init__(self, draw: Callable[[int], np.ndarray[Any, Any]]) -> None:
        self._draw = draw
        self._values: list[float] = []
        self._index = 0

    def next(self) -> float:
        index = self._index
        if index >= len(self._values):
            self._values = self._draw(_BLOCK).tolist()
            index = 0
        self._index = index + 1
        return self._values[index]


class Engine:
    """Runs one scenario through one guarded function, recording what happened.

    Args:
        scenario: the scenario.
        seed: the seed; arrivals and keys depend on it only, so every policy run
            with the same seed sees the same traffic.
        state_of: returns the breaker state to record each second (or None).
        progress: called each simulated second with the number of calls started.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int,
        state_of: Callable[[], str | None] = lambda: None,
        progress: Callable[[int], None] | None = None,
        loser_billing: str = "run_to_completion",
    ) -> None:
        self.scenario = scenario
        # until_cancel: an execution the caller cancels stops (and stops billing) there
        self._until_cancel = loser_billing == "until_cancel"
        streams = np.random.SeedSequence(seed).spawn(4)
        arrivals_rng, keys_rng, latency_rng, errors_rng = (
            np.random.default_rng(s) for s in streams
        )
        self.arrivals_s = scenario.arrivals.times_s(arrivals_rng)
        self.keys = scenario.keys_for(len(self.arrivals_s), keys_rng).tolist()
        downstream = scenario.downstream
        self._latency = _Draws(lambda n: downstream.sample_latency_ms(n, latency_rng))
        self._uniform = _Draws(lambda n: errors_rng.random(n))
        self._state_of = state_of
        self._progress = progress
        count = len(self.arrivals_s)
        # what the caller saw, one entry per call (index = arrival order)
        self.call_start_s = self.arrivals_s.tolist()
        self.call_duration_s = [0.0] * count
        self.call_raised: list[str | None] = [None] * count
        # the ledger's call row of each call (outcome), by identity, not by time
        self.call_outcome: list[str | None] = [None] * count
        self.call_rows = [0] * count
        # what the callee executed, one entry per execution
        self.exec_start_s: list[float] = []
        self.exec_billed_ms: list[float] = []
        self.exec_failed: list[bool] = []
        # invocations the platform refused (concurrency limit): not run, not billed
        self.throttled_s: list[float] = []
        self._running = 0  # executions running on the platform (abandoned ones too)
        # one snapshot per simulated second
        self.tick_s: list[float] = []
        self.tick_state: list[str | None] = []
        self.tick_in_flight: list[int] = []
        self.tick_running: list[int] = []
        self._in_flight = 0
        self._pending = count
        self._started = 0
        limit_s = scenario.caller_timeout_s
        # the caller's work shares its platform timeout with its wait
        self._wait_limit_s = None if limit_s is None else limit_s - scenario.caller_work_ms / 1000.0
        self._loop: VirtualTimeLoop | None = None
        self._live: dict[int, asyncio.Task[None]] = {}  # the calls' tasks, by index
        self._expired_tasks: set[asyncio.Task[None]] = set()
        self._done: asyncio.Future[None] | None = None

    # -- the simulated downstream ------------------------------------------------------

    async def downstream(self, key: int) -> int:
        """The callee: waits its latency in virtual time, then answers or fails.

        Returns the key (what a cache would store). Raises :class:`DownstreamError`
        on a failure, :class:`DownstreamTimeout` when the platform cuts it and
        :class:`DownstreamThrottled` when its concurrency limit refuses the invocation
        (after the invoke overhead; nothing runs, nothing is billed).
        """
        loop = self._loop
        assert loop is not None
        now = loop._now_s
        model = self.scenario.downstream
        overhead_s = model.invoke_overhead_ms / 1000.0
        limit = model.concurrency_limit
        if limit is not None and self._running >= limit:
            self.throttled_s.append(now)
            await asyncio.sleep(overhead_s)
            raise DownstreamThrottled(
                f"downstream throttled: {limit} concurrent executions already running"
            )
        failure, error_rate, factor = self.scenario.condition_at(now)
        limit_ms = model.timeout_s * 1000.0
        if failure == "hang":
            duration_ms = limit_ms
            fails = True
        else:
            fails = error_rate > 0.0 and self._uniform.next() < error_rate
            if fails and model.error_latency_ms is not None:
                duration_ms = model.error_latency_ms * factor
            else:
                duration_ms = self._latency.next() * factor
        cut = duration_ms >= limit_ms
        if cut:
            duration_ms = limit_ms
        index = len(self.exec_billed_ms)
        self.exec_start_s.append(now)
        self.exec_billed_ms.append(duration_ms)
        self.exec_failed.append(fails or cut)
        self._running += 1
        ended = loop.call_at(now + duration_ms / 1000.0, self._execution_ended)
        # run_to_completion (default): the execution is billed in full even if the caller
        # gives up (a timeout or a hedge's win cancels this sleep): the platform keeps
        # running the callee. until_cancel: it ends, and stops billing, at the cancel.
        # The sleep is asyncio.sleep's own (a future and a timer at now + delay), inline.
        delay = duration_ms / 1000.0 + overhead_s
        if delay > 0:
            woken = loop.create_future()
            timer = loop.call_at(now + delay, _wake, woken)
        try:
            if delay > 0:
                try:
                    await woken
                finally:
                    timer.cancel()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            if self._until_cancel:
                self._cancelled(index, (loop._now_s - now) * 1000.0, ended)
            raise
        if cut:
            raise DownstreamTimeout(f"downstream timed out after {model.timeout_s:g} s")
        if fails:
            raise DownstreamError("downstream failed")
        return key

    def _execution_ended(self) -> None:
        self._running -= 1

    def _cancelled(self, index: int, elapsed_ms: float, ended: asyncio.TimerHandle) -> None:
        """until_cancel: execution ``index``, cancelled after ``elapsed_ms``, stops there."""
        if elapsed_ms < self.exec_billed_ms[index]:
            self.exec_billed_ms[index] = elapsed_ms
            self.exec_failed[index] = True
            ended.cancel()
            self._running -= 1

    def note_call_row(self, outcome: str) -> None:
        """Attach a ledger call row to the call whose task writes it."""
        index = _call_index.get()
        if index is not None:
            self.call_outcome[index] = outcome
            self.call_rows[index] += 1

    # -- driving the traffic -----------------------------------------------------------

    async def run(self, call: Callable[[int], Awaitable[object]]) -> None:
        """Start every arrival as a task through ``call`` and wait for all of them."""
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        self._loop = loop
        self._call = call
        self._done = loop.create_future()
        if self._pending == 0:
            self._done.set_result(None)
        self._tick(0)
        await self._done
        # Let the last second's snapshot land after the last call ends.
        self._snapshot(loop._now_s)

    def _tick(self, second: int) -> None:
        """Each simulated second: snapshot, then schedule that second's arrivals."""
        loop = self._loop
        assert loop is not None
        self._snapshot(float(second))
        times = self.call_start_s
        index = self._started
        end = float(second + 1)
        while index < len(times) and times[index] < end:
            loop.call_at(times[index], self._start, index)
            index += 1
        self._started = index
        if self._progress is not None:
            self._progress(index)
        if index < len(times) or self._pending > 0:
            loop.call_at(end, self._tick, second + 1)

    def _snapshot(self, t_s: float) -> None:
        self.tick_s.append(t_s)
        self.tick_state.append(self._state_of())
        self.tick_in_flight.append(self._in_flight)
        self.tick_running.append(self._running)

    def _start(self, index: int) -> None:
        """Start call ``index`` as a task of its own (kept here until it ends)."""
        loop = self._loop
        assert loop is not None
        # the task is asyncio's Task, in a copy of this context, as create_task makes it
        self._live[index] = asyncio.Task(self._one(index), loop=loop)

    async def _one(self, index: int) -> None:
        loop = self._loop
        assert loop is not None
        start = loop._now_s
        self._in_flight += 1
        _call_index.set(index)  # this task's own context (the Task copied it)
        task = cut = None
        if self._wait_limit_s is not None:  # the caller's own platform timeout
            task, cut = self._arm(loop, start + self._wait_limit_s)
        try:
            try:
                await self._call(self.keys[index])
            except BaseException as exc:
                if cut is not None and self._settle(task, cut) and _cancelled(exc):
                    raise CallerTimeout(
                        "the caller hit its platform timeout "
                        f"({self.scenario.caller_timeout_s:g} s)"
                    ) from None
                raise
            if cut is not None:
                self._settle(task, cut)
        except Exception as exc:
            self.call_raised[index] = type(exc).__qualname__
        finally:
            self.call_duration_s[index] = loop._now_s - start
            self._in_flight -= 1
            self._pending -= 1
            del self._live[index]
            if self._pending == 0 and self._done is not None and not self._done.done():
                self._done.set_result(None)

    # -- the caller's own platform timeout: its invocation is killed there --------------
    # What asyncio.timeout does, without its context manager: a timer at the deadline
    # cancels the call's task, and the cancellation it caused becomes CallerTimeout.

    def _arm(self, loop: VirtualTimeLoop, when: float) -> tuple[asyncio.Task[Any], asyncio.Handle]:
        task = asyncio.current_task()
        assert task is not None
        if when <= loop._now_s:
            return task, loop.call_soon(self._expire, task)
        return task, loop.call_at(when, self._expire, task)

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._expired_tasks.add(task)
        task.cancel()

    def _settle(self, task: asyncio.Task[Any] | None, cut: asyncio.Handle) -> bool:
        """Disarm ``cut``; whether its deadline passed with no other cancellation."""
        cut.cancel()
        if task is None or task not in self._expired_tasks:
            return False
        self._expired_tasks.discard(task)
        return task.uncancel() <= 0
