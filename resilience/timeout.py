"""A time limit on each call: :class:`~resilience.TimeoutExceeded` when it is exceeded.

Coroutines run under ``asyncio.timeout``: on expiry the coroutine is cancelled (it
sees ``CancelledError`` at its current ``await``) and the caller gets
``TimeoutExceeded``. The deadline is on the event loop's clock (``loop.time()``), not
on ``clock=``: under a virtual-time loop (the simulator's) it is virtual time, under
a normal loop real time.

Plain functions cannot be interrupted in Python, so each call runs in a worker thread
and the caller waits for it at most ``seconds`` (real time). On expiry the caller gets
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
import functools
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from ._recording import Recorder
from ._validate import is_async, name_of, positive
from .clock import SYSTEM_CLOCK, Clock
from .errors import InvalidUsage, TimeoutExceeded
from .ledger import Ledger

__all__ = ["Timeout", "timeout"]

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("resilience.timeout")


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


class Timeout:
    """A timeout decorator; build it with :func:`timeout`."""

    def __init__(
        self,
        seconds: float,
        *,
        name: str = "",
        clock: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.seconds = positive("seconds", seconds)
        if not isinstance(name, str):
            raise InvalidUsage(f"name={name!r}: must be a string")
        self.name = name
        self.clock: Clock = clock or SYSTEM_CLOCK
        if ledger is not None and not isinstance(ledger, Ledger):
            raise InvalidUsage(f"ledger={ledger!r}: must be a resilience.Ledger or None")
        self.ledger = ledger

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"timeout(...) decorates a callable, got {fn!r}")
        asynchronous = is_async(fn)
        if self.ledger is None:
            return self.decorate(fn, is_async=asynchronous)
        recorder = Recorder(self.ledger, name_of(fn), self.clock)
        return recorder.wrap(
            fn,
            functools.partial(self.decorate, is_async=asynchronous),
            is_async=asynchronous,
            attempt_inside=False,
        )

    def decorate(self, fn: Callable[P, R], *, is_async: bool) -> Callable[P, R]:
        """``fn`` with the time limit and no ledger rows (what :class:`Policy` composes)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn)))
        seconds, name, label = self.seconds, self.name or name_of(fn), name_of(fn)
        submit = _WORKERS.submit

        @functools.wraps(fn)
        def timed_call(*args: P.args, **kwargs: P.kwargs) -> R:
            future: concurrent.futures.Future[R] = concurrent.futures.Future()
            context = contextvars.copy_context()
            abandoned = threading.Event()

            def job() -> None:
                try:
                    result = context.run(fn, *args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                    if abandoned.is_set():
                        logger.debug("abandoned call to %s raised %r", label, exc)
                else:
                    future.set_result(result)

            submit(job)
            try:
                return future.result(timeout=seconds)
            except concurrent.futures.TimeoutError:
                abandoned.set()
                raise TimeoutExceeded(seconds, name) from None

        return timed_call

    def _decorate_async(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        seconds, name = self.seconds, self.name or name_of(fn)

        @functools.wraps(fn)
        async def timed_call(*args: P.args, **kwargs: P.kwargs) -> R:
            limit = asyncio.timeout(seconds)
            try:
                async with limit:
                    return await fn(*args, **kwargs)
            except TimeoutError as exc:
                if limit.expired():
                    raise TimeoutExceeded(seconds, name) from exc
                raise

        return timed_call

    def __repr__(self) -> str:
        return f"Timeout(seconds={self.seconds!r}, name={self.name!r})"


def timeout(
    seconds: float, *, name: str = "", clock: Clock | None = None, ledger: Ledger | None = None
) -> Timeout:
    """Limit each call of a plain or ``async def`` function to ``seconds``.

    Args:
        seconds: the limit, seconds (> 0). Coroutines: on the event loop's clock.
            Plain functions: real time, in a worker thread; on expiry the work is
            abandoned, not killed.
        name: shown in the ``TimeoutExceeded`` message (default: the function's name).
        clock: times ledger rows (the deadline itself is the loop's or real time).
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
    return Timeout(seconds, name=name, clock=clock, ledger=ledger)
