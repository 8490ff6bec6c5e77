"""Virtual time: an asyncio event loop whose clock only moves when nothing is ready.

:class:`VirtualTimeLoop` is a complete asyncio event loop (tasks, futures,
``asyncio.sleep``, ``asyncio.timeout``, ``call_later``, ``call_soon_threadsafe``) whose
``time()`` returns *virtual* seconds. When no callback is ready, the loop does not wait:
it jumps straight to the next scheduled timer. An hour of traffic with thousands of
concurrent calls runs in the time the Python code takes, nothing sleeps for real, and
the same program always produces the same interleaving.

It has no sockets, pipes or subprocesses (the simulated world needs none): the loop
never polls the operating system.

Worker threads take zero virtual time. ``run_in_executor`` and ``asyncio.to_thread``
work; while a job they submitted is running and no callback is ready, the loop waits
for it for real and the virtual clock stands still (callbacks already due still run).
So a 50 ms job inside ``asyncio.timeout(5)`` completes, and ``loop.time()`` reads the
same before and after ``await asyncio.to_thread(...)`` even with an hour-long sleep
pending elsewhere. ``shutdown_default_executor`` (which ``asyncio.Runner`` calls on
close) joins the threads in real time too, its ``timeout`` in real seconds. Two
consequences: a job that never finishes stops virtual time for good, and a job that
waits for the loop to reach a later virtual time (``run_coroutine_threadsafe(
asyncio.sleep(1), loop).result()``) deadlocks. Threads started any other way are not
waited for: their ``call_soon_threadsafe`` callbacks run when they arrive.

Portability: the loop's fast iteration reads the base loop's private state (its
ready queue and timer heap). It checks that state at creation and, on a Python where
it differs, runs the stock ``BaseEventLoop._run_once`` on a virtual selector instead,
with the same results.

A stuck program raises instead of hanging. With no ready callback, no timer and no
thread job, nothing inside the loop can ever run again (``await asyncio.Event().wait()``
with nobody to set it); only a foreign thread or a signal handler calling
``call_soon_threadsafe`` could. The loop waits ``stuck_after_s`` real seconds (default
1) for such a call, then raises ``RuntimeError("virtual-time loop is stuck ...")`` out
of ``run_until_complete``; the loop stays usable. ``stuck_after_s=None`` waits forever,
like a stock loop, for programs whose own threads call back later than that.

:class:`VirtualClock` is the ``clock=`` to give resilience objects inside the loop:
``monotonic()`` is the loop's virtual time, ``asleep()`` is ``asyncio.sleep`` and
``sleep()`` refuses, because a blocking sleep would freeze the simulated world.

Example:
    >>> import asyncio
    >>> async def main() -> float:
    ...     loop = asyncio.get_running_loop()
    ...     async with asyncio.timeout(5):
    ...         await asyncio.sleep(3600)  # an hour, in no time
    ...     return loop.time()
    >>> run(main())
    Traceback (most recent call last):
    ...
    TimeoutError
    >>> async def main() -> float:
    ...     await asyncio.sleep(3600)
    ...     return asyncio.get_running_loop().time()
    >>> run(main())
    3600.0
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import heapq
import math
import threading
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, TypeVarTuple

from .errors import InvalidUsage

__all__ = ["VirtualClock", "VirtualTimeLoop", "run"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The base loop's thresholds for compacting its timer heap (asyncio.base_events).
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5


class _VirtualSelector:
    """Stands where ``BaseEventLoop`` expects a selector; its ``select`` moves time.

    ``BaseEventLoop._run_once`` asks the selector to wait ``timeout`` seconds: 0 when
    callbacks are ready, the delay to the next timer when one is scheduled, ``None``
    when there is nothing at all. Here waiting ``timeout`` seconds means adding them to
    the virtual clock; only ``None`` waits for real, for a worker thread to call back.
    """

    __slots__ = ("_loop", "_wakeup")

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._wakeup = threading.Event()

    def select(self, timeout: float | None) -> list[Any]:
        if timeout is None or (timeout > 0 and self._loop._thread_jobs):
            # Nothing ready and either no timer or a thread at work: only another
            # thread can make progress; virtual time waits for it.
            self.wait_for_thread()
        elif timeout > 0:
            loop = self._loop
            loop._set_now(loop._next_stop(timeout))
        return []

    def wait_for_thread(self) -> None:
        """Wait for real until a thread calls back; raise if none can or does in time.

        With thread jobs running the wait has no limit (they call back when they
        finish). Without any, only a foreign thread could call back: past the loop's
        ``stuck_after_s`` real seconds the loop is declared stuck.
        """
        loop = self._loop
        if loop._thread_jobs or loop._stuck_after_s is None:
            self._wakeup.wait()
        elif not self._wakeup.wait(loop._stuck_after_s):
            raise RuntimeError(
                f"virtual-time loop is stuck at {loop._now_s!r} s: no timers, no ready "
                f"callbacks, no thread work, and no call_soon_threadsafe for "
                f"{loop._stuck_after_s!r} real seconds (stuck_after_s=None waits forever)"
            )
        self._wakeup.clear()

    def wake(self) -> None:
        self._wakeup.set()

    def close(self) -> None:
        self._wakeup.set()


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_times(start_s: float, stuck_after_s: float | None) -> tuple[float, float | None]:
    """``start_s`` and ``stuck_after_s`` as floats, or InvalidUsage naming the bad one."""
    if not _is_number(start_s) or not math.isfinite(start_s):
        raise InvalidUsage(f"start_s={start_s!r}: must be a finite number of seconds")
    if stuck_after_s is None:
        return float(start_s), None
    if not _is_number(stuck_after_s) or not 0 < stuck_after_s < math.inf:
        raise InvalidUsage(
            f"stuck_after_s={stuck_after_s!r}: must be a positive finite number of real "
            "seconds, or None to wait forever"
        )
    return float(start_s), float(stuck_after_s)


def _noop() -> None:
    return None


_new = object.__new__


class _Due(float):
    """A timer's due time in the lean heap; ``handle`` is its TimerHandle. Compared as the
    float it is (in C), as ``TimerHandle.__lt__`` compares handles by their times."""

    handle: Any  # an asyncio.TimerHandle (its private fields are not in typeshed)


def _report(loop: asyncio.AbstractEventLoop, handle: Any, exc: BaseException) -> None:
    """What ``Handle._run`` reports for a callback that raised."""
    from asyncio import format_helpers

    callback = format_helpers._format_callback_source(handle._callback, handle._args)
    context = {"message": f"Exception in callback {callback}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    loop.call_exception_handler(context)


# The fields of asyncio's Handle and TimerHandle (CPython 3.11 to 3.13), which the lean
# iteration sets itself when it builds a handle.
_HANDLE_FIELDS = frozenset(
    ("_callback", "_args", "_cancelled", "_loop", "_source_traceback", "_repr", "_context")
)
_TIMER_FIELDS = frozenset(("_scheduled", "_when"))


def _fields(cls: type) -> frozenset[str]:
    return frozenset(vars(cls).get("__slots__", ())) - {"__weakref__"}


def _lean_supported(loop: asyncio.BaseEventLoop) -> bool:
    """Whether ``loop`` has the private state the lean ``_run_once`` uses, as expected.

    Checked at loop creation: the ready deque, the timer heap and its cancelled
    count, the stopping flag, the clock resolution, the closed flag, and the fields of
    a handle and a timer handle (``_when``, ``_cancelled``, ``_scheduled``, ``_callback``,
    ``_args``, ``_context`` ...), which the lean iteration reads and, building handles
    itself, sets. CPython 3.11 to 3.13 have them all.
    """
    try:
        handle = asyncio.TimerHandle(0.0, _noop, (), loop)
    except Exception:
        return False
    state = vars(loop)
    return (
        type(state.get("_ready")) is collections.deque
        and type(state.get("_scheduled")) is list
        and type(state.get("_timer_cancelled_count")) is int
        and type(state.get("_stopping")) is bool
        and type(state.get("_debug")) is bool
        and type(state.get("_clock_resolution")) is float
        and type(state.get("_closed")) is bool
        and _fields(asyncio.Handle) == _HANDLE_FIELDS
        and _fields(asyncio.TimerHandle) == _TIMER_FIELDS
        and type(getattr(handle, "_when", None)) is float
        and type(getattr(handle, "_cancelled", None)) is bool
        and type(getattr(handle, "_scheduled", None)) is bool
        and callable(getattr(handle, "_run", None))
    )


class VirtualTimeLoop(asyncio.BaseEventLoop):
    """An asyncio event loop on a virtual clock that jumps to the next timer.

    Args:
        start_s: the virtual time the loop starts at, seconds (finite).
        stuck_after_s: with nothing ready, no timer and no thread job, how long to
            wait for a foreign thread's ``call_soon_threadsafe`` before raising
            ``RuntimeError``, real seconds (None: wait forever).

    Use it with :func:`run`, with ``asyncio.Runner(loop_factory=VirtualTimeLoop)``, or
    directly (``loop.run_until_complete(...)``). ``loop.clock`` is a
    :class:`VirtualClock` reading this loop's time.

    Example:
        >>> loop = VirtualTimeLoop()
        >>> _ = loop.call_later(90.0, lambda: None)
        >>> loop.run_until_complete(asyncio.sleep(120.0))
        >>> loop.time()
        120.0
        >>> loop.close()
    """

    # BaseEventLoop's private state, used by _run_once (not in typeshed)
    _scheduled: list[asyncio.TimerHandle]
    _ready: collections.deque[asyncio.Handle]
    _stopping: bool
    _timer_cancelled_count: int
    _clock_resolution: float
    _debug: bool
    _closed: bool

    def __init__(self, *, start_s: float = 0.0, stuck_after_s: float | None = 1.0) -> None:
        super().__init__()
        try:
            start_s, stuck_after_s = _valid_times(start_s, stuck_after_s)
        except InvalidUsage:
            asyncio.BaseEventLoop.close(self)  # closed: no ResourceWarning from __del__
            raise
        self._stuck_after_s = stuck_after_s
        self._lean = _lean_supported(self)
        self._timer_whens: list[float] | None = None
        self._timers: list[_Due] = []  # the lean iteration's heap
        if not self._lean:
            # Stock iteration: keep our own heap of timer times, so the virtual
            # selector can land exactly on the next one (see _next_stop).
            self._timer_whens = []
            self.call_at = self._call_at_tracked  # type: ignore[method-assign]
            if not isinstance(getattr(self, "_clock_resolution", None), float):
                self._clock_resolution = time.get_clock_info("monotonic").resolution
        self._now_s = 0.0
        self._set_now(start_s)
        self._selector: _VirtualSelector | None = _VirtualSelector(self)
        self._thread_jobs = 0  # run_in_executor jobs not finished yet
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_shut_down = False
        self.clock = VirtualClock(self)
        """A :class:`VirtualClock` on this loop."""

    def time(self) -> float:
        """The virtual time, seconds."""
        return self._now_s

    def _set_now(self, now_s: float) -> None:
        """Move the clock to ``now_s``, keeping a timer due at ``now_s`` detectably due.

        A timer is due when ``when < now + clock_resolution``. Beyond ~1e8 s (an epoch
        time, say) adding the 1 ns resolution no longer changes ``now``, so a timer at
        exactly ``now`` would never become due and the loop would spin; the resolution
        is raised to one unit in the last place of ``now``, which makes the test read
        ``when <= now``.
        """
        self._now_s = now_s
        if now_s + self._clock_resolution <= now_s:
            self._clock_resolution = math.ulp(now_s)

    def _next_stop(self, timeout: float) -> float:
        """Where a ``select(timeout)`` of the stock iteration moves the clock, seconds.

        The stock iteration asks to wait ``timeout = when - now`` for the next timer
        (capped at a day); ``now + (when - now)`` may round below ``when``, so the
        clock lands exactly on the timer when that is what was asked for.
        """
        now = self._now_s
        if self._timer_whens is None:
            scheduled: list[Any] = self._scheduled
            if scheduled:
                when: float = scheduled[0]._when
                if timeout >= when - now:
                    return when
            return now + timeout
        whens = self._timer_whens
        while whens and whens[0] <= now:  # passed (fired or cancelled)
            heapq.heappop(whens)
        target = now + timeout
        # a cancelled timer may be the earliest here: landing on it runs nothing
        if whens and (whens[0] <= target or whens[0] - now == timeout):
            return whens[0]
        return target

    def _call_at_tracked(
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        """``call_at``, remembering the time for :meth:`_next_stop` (stock iteration)."""
        handle = asyncio.BaseEventLoop.call_at(self, when, callback, *args, context=context)
        assert self._timer_whens is not None
        heapq.heappush(self._timer_whens, handle.when())
        return handle

    # -- scheduling: the base methods' steps, with the handle built in place ------------

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        """As ``BaseEventLoop.call_soon`` (in debug mode, or off the lean iteration, it is
        that method); otherwise the same handle, built without its debug checks."""
        if self._debug or not self._lean:
            return super().call_soon(callback, *args, context=context)
        if self._closed:
            raise RuntimeError("Event loop is closed")
        handle: Any = _new(asyncio.Handle)
        handle._context = contextvars.copy_context() if context is None else context
        handle._loop = self
        handle._callback = callback
        handle._args = args
        handle._cancelled = False
        handle._repr = None
        handle._source_traceback = None
        self._ready.append(handle)
        built: asyncio.Handle = handle
        return built

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        """As ``BaseEventLoop.call_at`` (in debug mode, or off the lean iteration, it is
        that method); otherwise the same timer handle, built without its debug checks."""
        if self._debug or not self._lean:
            return asyncio.BaseEventLoop.call_at(self, when, callback, *args, context=context)
        if when is None:
            raise TypeError("when cannot be None")
        if self._closed:
            raise RuntimeError("Event loop is closed")
        timer: Any = _new(asyncio.TimerHandle)
        timer._context = contextvars.copy_context() if context is None else context
        timer._loop = self
        timer._callback = callback
        timer._args = args
        timer._cancelled = False
        timer._repr = None
        timer._source_traceback = None
        timer._when = when
        timer._scheduled = True
        due = _Due(when)
        due.handle = timer
        heapq.heappush(self._timers, due)
        built: asyncio.TimerHandle = timer
        return built

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        """As ``BaseEventLoop.call_later``: :meth:`call_at` ``time() + delay``."""
        if delay is None:
            raise TypeError("delay must not be None")
        return self.call_at(self._now_s + delay, callback, *args, context=context)

    def _run_once(self) -> None:
        """One iteration, as ``BaseEventLoop._run_once`` without polling: lean and exact.

        Same steps and the same private state as the base class (drop cancelled
        timers, move due timers to the ready queue, run what was ready), but when
        nothing is ready the clock is set straight to the next timer, and there is
        no selector call per iteration. In debug mode (slow-callback reports), and
        on a Python whose private loop state differs from what :func:`_lean_supported`
        checks at loop creation, the base implementation runs instead, on the virtual
        selector: the same results, somewhat slower.
        """
        if not self._lean or self._debug:
            self._hand_over()
            super()._run_once()  # type: ignore[misc]
            return
        if self._scheduled:
            self._take_over()
        timers = self._drop_cancelled()
        ready: collections.deque[Any] = self._ready
        if not ready and not self._stopping:
            if self._thread_jobs and self._selector is not None:
                self._selector.wait_for_thread()  # a thread is at work: the clock waits
            elif timers:
                when = float(timers[0])
                if when > self._now_s:
                    self._set_now(when)
            elif self._selector is not None:
                self._selector.wait_for_thread()  # only another thread can wake us
        end = self._now_s + self._clock_resolution
        handle: Any
        while timers and timers[0] < end:
            handle = heapq.heappop(timers).handle
            handle._scheduled = False
            ready.append(handle)
        for _ in range(len(ready)):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            # Handle._run, inline (one frame less per callback)
            try:
                handle._context.run(handle._callback, *handle._args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                _report(self, handle, exc)
        handle = None  # break cycles when an exception occurred

    # The lean iteration keeps its timers in a heap of _Due entries (a timer's time, a
    # float, carrying its handle), compared in C: a heap of TimerHandles compares them
    # with a Python __lt__, about a dozen times per timer. The comparisons give the same
    # answers (on the times alone), so the heap pops timers in the very same order. The
    # stock iteration (debug mode) reads the base loop's heap of handles: the timers go
    # over to it and come back.

    def _drop_cancelled(self) -> list[_Due]:
        """Drop cancelled timers from the heap, as the base iteration does."""
        timers = self._timers
        count = len(timers)
        if (
            count > _MIN_SCHEDULED_TIMER_HANDLES
            and self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
        ):
            kept = []
            for entry in timers:
                if entry.handle._cancelled:
                    entry.handle._scheduled = False
                else:
                    kept.append(entry)
            heapq.heapify(kept)
            self._timers = timers = kept
            self._timer_cancelled_count = 0
        else:
            while timers and timers[0].handle._cancelled:
                self._timer_cancelled_count -= 1
                heapq.heappop(timers).handle._scheduled = False
        return timers

    def _hand_over(self) -> None:
        """Move the lean heap's timers to the base loop's heap (stock iteration)."""
        for due in self._timers:
            heapq.heappush(self._scheduled, due.handle)
        self._timers.clear()

    def _take_over(self) -> None:
        """Move the base loop's heap's timers (scheduled in debug mode) to the lean heap."""
        for handle in sorted(self._scheduled):
            due = _Due(handle.when())
            due.handle = handle
            heapq.heappush(self._timers, due)
        self._scheduled.clear()

    def _process_events(self, event_list: list[Any]) -> None:
        """No file descriptors, so no I/O events to process."""

    def _write_to_self(self) -> None:
        """Wake a loop waiting for a worker thread (``call_soon_threadsafe``)."""
        selector = self._selector
        if selector is not None:
            selector.wake()

    # -- worker threads ----------------------------------------------------------

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[*Ts], T],
        *args: *Ts,
    ) -> asyncio.Future[T]:
        """Run ``func(*args)`` on a worker thread; the virtual clock waits for it.

        As ``BaseEventLoop.run_in_executor`` (``executor=None``: the default
        ``ThreadPoolExecutor``), and the job counts as thread work until its
        concurrent future is done (finished or cancelled before it started).
        """
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if executor is None:
            if self._executor_shut_down:
                raise RuntimeError("Executor shutdown has been called")
            executor = self._executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
                self.set_default_executor(executor)
        job = executor.submit(func, *args)
        future = asyncio.wrap_future(job, loop=self)  # first: the result lands first
        self._thread_jobs += 1
        job.add_done_callback(self._thread_job_done)
        return future

    def _thread_job_done(self, _job: concurrent.futures.Future[Any]) -> None:
        """In the worker thread: tell the loop one job less is running."""
        with contextlib.suppress(RuntimeError):  # a closed loop has nothing to count
            self.call_soon_threadsafe(self._count_thread_job_done)

    def _count_thread_job_done(self) -> None:
        self._thread_jobs -= 1

    def set_default_executor(self, executor: Any) -> None:
        """Use ``executor`` (a ``ThreadPoolExecutor``) for ``run_in_executor(None, ...)``."""
        super().set_default_executor(executor)
        self._executor = executor

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Join the default executor's threads, waiting in real time.

        Args:
            timeout: the longest real wait, seconds (None: until they finish). Past
                it, a ``RuntimeWarning`` is issued and the threads are left running,
                as ``BaseEventLoop.shutdown_default_executor`` does on Python 3.12+.
        """
        self._executor_shut_down = True
        executor = self._executor
        if executor is None:
            return
        joined: asyncio.Future[bool] = self.create_future()

        def report(still_running: bool) -> None:
            self._thread_jobs -= 1
            if not joined.done():
                joined.set_result(still_running)

        def join() -> None:
            worker = threading.Thread(
                target=executor.shutdown, name="VirtualTimeLoop-executor-join", daemon=True
            )
            worker.start()
            worker.join(timeout)
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
                self.call_soon_threadsafe(report, worker.is_alive())

        self._thread_jobs += 1
        threading.Thread(target=join, name="VirtualTimeLoop-shutdown", daemon=True).start()
        if await joined:
            warnings.warn(
                f"The executor did not finish joining its threads within {timeout} seconds.",
                RuntimeWarning,
                stacklevel=2,
            )
            executor.shutdown(wait=False)

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        super().close()  # shuts the default executor down without waiting
        self._timers.clear()
        self._executor = None
        self._executor_shut_down = True
        if self._selector is not None:
            self._selector.close()
            self._selector = None

    def __repr__(self) -> str:
        return (
            f"<VirtualTimeLoop time={self._now_s!r} running={self.is_running()} "
            f"closed={self.is_closed()}>"
        )


class VirtualClock:
    """A resilience ``clock=`` driven by a :class:`VirtualTimeLoop`.

    ``monotonic()`` returns the loop's virtual time in seconds, ``asleep(s)`` is
    ``asyncio.sleep(s)`` (so it advances virtual time), and ``sleep(s)`` raises
    :class:`resilience.InvalidUsage`: a blocking sleep would freeze every simulated call,
    so only ``async def`` functions can be simulated.

    Args:
        loop: the loop to read; ``None`` reads the running loop, which must be a
            :class:`VirtualTimeLoop`.
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: VirtualTimeLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> VirtualTimeLoop:
        """The loop whose time this clock reads."""
        if self._loop is not None:
            return self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            raise InvalidUsage(
                "VirtualClock() without a loop reads the running loop, and none is running"
            ) from None
        if not isinstance(running, VirtualTimeLoop):
            raise InvalidUsage(
                f"VirtualClock() needs a VirtualTimeLoop, the running loop is "
                f"{type(running).__name__}"
            )
        return running

    @property
    def bound_loop(self) -> VirtualTimeLoop | None:
        """The loop given at construction (None: the running loop is read)."""
        return self._loop

    def monotonic(self) -> float:
        """The virtual time, seconds."""
        loop = self._loop
        return loop._now_s if loop is not None else self.loop._now_s

    def sleep(self, seconds: float) -> None:
        """Refuse: a blocking sleep would block the whole simulated world."""
        raise InvalidUsage(
            f"sleep({seconds!r}) on a VirtualClock: a blocking sleep would freeze every "
            "simulated call; simulate async def functions (they use asleep)"
        )

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` of virtual time."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        where = "running loop" if self._loop is None else f"time={self._loop._now_s!r}"
        return f"VirtualClock({where})"


def run(
    main: Coroutine[Any, Any, T],
    *,
    start_s: float = 0.0,
    debug: bool | None = None,
    stuck_after_s: float | None = 1.0,
) -> T:
    """Run a coroutine to completion in virtual time, like ``asyncio.run``.

    Args:
        main: the coroutine.
        start_s: the virtual time at start, seconds.
        debug: asyncio debug mode (``None``: the default).
        stuck_after_s: real seconds to wait for a foreign thread when nothing else
            can run, before raising ``RuntimeError`` (None: forever); see
            :class:`VirtualTimeLoop`.

    Returns:
        What the coroutine returns.

    Example:
        >>> async def nap() -> float:
        ...     await asyncio.sleep(86_400)
        ...     return asyncio.get_running_loop().time()
        >>> run(nap(), start_s=10.0)
        86410.0
    """

    def factory() -> VirtualTimeLoop:
        return VirtualTimeLoop(start_s=start_s, stuck_after_s=stuck_after_s)

    with asyncio.Runner(debug=debug, loop_factory=factory) as r:
        return r.run(main)
