"""A time limit on each call: :class:`~resilience.TimeoutExceeded` when it is exceeded.

Coroutines run under ``asyncio.timeout``: on expiry the coroutine is cancelled (it
sees ``CancelledError`` at its current ``await``) and the caller gets
``TimeoutExceeded``. The deadline is on the event loop's clock (``loop.time()``), not
on ``clock=``: under a virtual-time loop (the simulator's) it is virtual time, under
a normal loop real time.

Plain functions cannot be interrupted in Python, so each call runs in a worker thread
and the caller waits for it at most ``timeout_s`` on ``clock=``. With the system clock
(the default) that is one plain blocking wait, in real time. With any other clock
(:class:`resilience.testing.FakeClock`, a simulator's clock) the caller waits in short
real slices (2 ms) and looks at ``clock.monotonic()`` between them: a clock moved past
the deadline by the function (``clock.sleep``) or by a test (``FakeClock.advance``)
fires the timeout without real waiting, and a function whose clock time at return is
past the deadline took too long even if it did return. On expiry the caller gets
``TimeoutExceeded`` and **the work is abandoned, not killed**: the thread runs the
function to its end and its result or error is dropped (logged at debug level). Keep
that in mind for functions with side effects, and bound them with their own timeouts
(socket, HTTP client) where you can. Worker threads are daemon threads, reused while
busy calls come in, so an abandoned call never keeps the interpreter from exiting.
The function runs in a copy of the caller's context (``contextvars``), so
:func:`resilience.ledger.report_sizes` reaches the caller's ledger.

``TimeoutExceeded`` is also a ``TimeoutError``, so ``except TimeoutError`` catches
it. A ``TimeoutError`` raised by the function itself passes through unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import logger as _logger_named
from ._observe import names as _names
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._recording import record_outside
from ._validate import clock as valid_clock
from ._validate import is_async, name_of, positive
from ._wraps import wraps
from .clock import Clock, SystemClock
from .errors import InvalidUsage, TimeoutExceeded
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = ["Timeout", "timeout"]

P = ParamSpec("P")
R = TypeVar("R")

logger = _logger_named("resilience.timeout")
_TIMEOUT_TYPE = f"{TimeoutExceeded.__module__}.{TimeoutExceeded.__qualname__}"


class _Workers:
    """Daemon worker threads, started on demand and kept while jobs keep coming.

    ``concurrent.futures.ThreadPoolExecutor`` would do, but its threads are joined at
    interpreter exit: one abandoned call that never returns would hang the exit.
    """

    def __init__(self, *, idle_s: float = 30.0) -> None:
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # workers waiting for a job, minus jobs queued for them
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._jobs.put(job)
                return
        worker = threading.Thread(
            target=self._work, args=(job,), daemon=True, name="callwise-timeout"
        )
        worker.start()

    def _work(self, job: Callable[[], None]) -> None:
        while True:
            job()
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    # A job put since the timeout was matched with an idle slot that
                    # may be ours: take it; otherwise give our slot back and leave.
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        return


_WORKERS = _Workers()

_POLL_S = 0.002
"""Real time between two looks at a clock other than the system's (seconds)."""


def _timed_out(policy: str, function: str) -> None:
    _emit(
        "timeout",
        {
            "callwise.policy": policy,
            "callwise.function": function,
            "callwise.outcome": "timeout",
            "error.type": _TIMEOUT_TYPE,
        },
    )


def _finished_within(future: concurrent.futures.Future[Any], seconds: float) -> bool:
    """Wait up to ``seconds`` (real time) for ``future``; True when it is done.

    ``future.result(timeout=)`` would raise the same ``TimeoutError`` for "not done"
    and for a function that raised ``TimeoutError`` itself; ``exception()`` only
    raises for "not done".
    """
    try:
        future.exception(timeout=seconds)
    except concurrent.futures.TimeoutError:
        return False
    return True


def _finished_by(
    future: concurrent.futures.Future[Any],
    deadline_s: float,
    monotonic: Callable[[], float],
    ended_at_s: list[float],
) -> bool:
    """Wait for ``future`` until ``monotonic()`` reaches ``deadline_s``; True when in time.

    Waits in real slices of ``_POLL_S`` and checks the clock between them, so a clock
    moved by the function (``clock.sleep``) or by a test (``FakeClock.advance``) ends
    the wait without real waiting. A function that returned but whose clock time
    at return (``ended_at_s[0]``) is past the deadline took too long: not in time.
    """
    while not _finished_within(future, _POLL_S):
        if monotonic() >= deadline_s:
            return False
    return ended_at_s[0] <= deadline_s


class Timeout:
    """A timeout decorator; build it with :func:`timeout`."""

    def __init__(
        self,
        timeout_s: float,
        *,
        name: str | None = None,
        clock: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.timeout_s = positive("timeout_s", timeout_s)
        if name is not None and not isinstance(name, str):
            raise InvalidUsage(f"name={name!r}: must be a string or None")
        self.name = name
        self.clock: Clock = valid_clock("clock", clock)
        self.ledger = valid_ledger("ledger", ledger)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"timeout(...) decorates a callable, got {fn!r}")
        asynchronous = is_async(fn)
        if self.ledger is None:
            return self.decorate(fn, is_async=asynchronous)
        guarded = self.decorate(fn, is_async=asynchronous)
        return record_outside(self.ledger, fn, guarded, self.clock)

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """``fn`` with the time limit and no ledger rows (what :class:`Policy` composes)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site))
        seconds, name, label = self.timeout_s, self.name or name_of(fn), name_of(fn)
        submit = _WORKERS.submit
        on_clock = not isinstance(self.clock, SystemClock)
        monotonic = self.clock.monotonic

        @wraps(fn)
        def timed_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            future: concurrent.futures.Future[R] = concurrent.futures.Future()
            context = contextvars.copy_context()
            abandoned = threading.Event()
            ended_at_s: list[float] = []  # clock time the function returned (on_clock)

            def job() -> None:
                try:
                    result = context.run(fn, *args, **kwargs)
                except BaseException as exc:
                    if on_clock:
                        ended_at_s.append(monotonic())
                    future.set_exception(exc)
                    if abandoned.is_set():
                        logger.debug(
                            "abandoned call to %s raised %r",
                            label,
                            exc,
                            extra=_names(name, label),
                        )
                else:
                    if on_clock:
                        ended_at_s.append(monotonic())
                    future.set_result(result)

            if on_clock:
                deadline_s = monotonic() + seconds
                submit(job)
                in_time = _finished_by(future, deadline_s, monotonic, ended_at_s)
            else:
                submit(job)
                in_time = _finished_within(future, seconds)
            if not in_time:
                abandoned.set()
                if _listening():
                    _timed_out(name, label)
                raise TimeoutExceeded(seconds, name)
            return future.result()  # the function's own TimeoutError stays its own

        me = weakref.ref(timed_call)  # for observe_call: no reference cycle

        return timed_call

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        seconds, name, label = self.timeout_s, self.name or name_of(fn), name_of(fn)

        @wraps(fn)
        async def timed_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            limit = asyncio.timeout(seconds)
            try:
                async with limit:
                    return await fn(*args, **kwargs)
            except TimeoutError as exc:
                if limit.expired():
                    if _listening():
                        _timed_out(name, label)
                    raise TimeoutExceeded(seconds, name) from exc
                raise

        me = weakref.ref(timed_call)  # for observe_call: no reference cycle

        return timed_call

    def __repr__(self) -> str:
        return f"Timeout(timeout_s={self.timeout_s!r}, name={self.name!r})"


def timeout(
    timeout_s: float,
    *,
    name: str | None = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
) -> Timeout:
    """Limit each call of a plain or ``async def`` function to ``timeout_s`` seconds.

    Args:
        timeout_s: the limit, seconds (> 0). Coroutines: on the event loop's clock.
            Plain functions: on ``clock``, in a worker thread; on expiry the work is
            abandoned, not killed.
        name: shown in the ``TimeoutExceeded`` message (None, the default: the
            function's name).
        clock: the deadline of plain functions (see the module docstring) and the
            times of ledger rows. Coroutines' deadlines are on the loop's clock.
        ledger: record one attempt row and one call row per call.

    Returns:
        A :class:`Timeout`, to use as a decorator.

    Example:
        >>> import asyncio
        >>> @timeout(0.01)
        ... async def slow() -> None:
        ...     await asyncio.Event().wait()  # never set
        >>> try:
        ...     asyncio.run(slow())
        ... except TimeoutError as exc:
        ...     print(type(exc).__name__, exc.timeout_s)
        TimeoutExceeded 0.01
    """
    return Timeout(timeout_s, name=name, clock=clock, ledger=ledger)
