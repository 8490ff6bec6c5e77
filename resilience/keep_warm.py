"""Keep functions warm and reachable: scheduled warm-up pings that raise an alert.

:func:`keep_warm` returns a :class:`Warmer` that pings a target (any callable taking a
payload, sync or ``async def``, including the invokers of :mod:`resilience.invokers`)
``concurrency`` times in parallel per round, every ``every_s`` seconds: the warm-up
calls serverless-plugin-warmup makes against cold starts, used as the reachability probe
the article recommends for important functions.

- Each ping is a :class:`~resilience.Ledger` row of kind ``probe`` (outcome ``ok``,
  ``error``, ``timeout`` or ``cancelled``), so billing the Ledger prices the pings.
- A round fails when **every** ping of it failed (nothing answered: the target cannot be
  reached); a round where some pings answered is a good round, and the failed pings are
  counted in :attr:`Warmer.statistics`.
- ``alert_after`` consecutive failed rounds call ``on_unreachable(name, error)`` once,
  log a warning and emit the ``probe.unreachable`` event; the first good round after
  that calls ``on_recovered(name)``, logs and emits ``probe.recovered``. A callback that
  raises is logged and never stops the warmer.
- With ``breaker=``, an unreachable target forces the breaker open through its public
  :meth:`~resilience.CircuitBreaker.open` (with a shared storage, for every process), on
  the alerting round and on every failed round after it, so callers fail fast before a
  user request finds the dead function; the first good round closes it
  (:meth:`~resilience.CircuitBreaker.close`): the probe has just proved that the target
  answers, so there is no reason to keep users waiting for a half-open trial.

Handlers recognise a ping with :func:`is_warmup` and return early with
:func:`warmup_aware`, after holding the instance for the ping's ``hold_ms`` so that the
parallel pings of a round reach distinct instances.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from ._events import emit, listening
from ._validate import Number, is_async, name_of, number
from ._validate import clock as check_clock
from .clock import Clock, SystemClock
from .errors import InvalidUsage
from .ledger import Ledger, check_ledger, collect_sizes

__all__ = [
    "PLUGIN_SOURCE",
    "WARMUP_SOURCE",
    "Warmer",
    "WarmerStatistics",
    "is_warmup",
    "keep_warm",
    "warmup_aware",
    "warmup_payload",
]

log = logging.getLogger("resilience.keep_warm")

#: ``source`` of callwise's warm-up payload.
WARMUP_SOURCE = "callwise-warmup"
#: ``source`` of serverless-plugin-warmup's payload, recognised as a ping too.
PLUGIN_SOURCE = "serverless-plugin-warmup"
_SOURCES = frozenset((WARMUP_SOURCE, PLUGIN_SOURCE))

_EVERY = Number(low=0, low_open=True, allowed="a finite number of seconds > 0")
_HOLD = Number(low=0, allowed="a finite number of ms >= 0")
_COUNT = Number(low=1, integral=True, types=(int,))

Callback = Callable[..., Any]
H = TypeVar("H", bound=Callable[..., Any])


def warmup_payload(hold_ms: float = 0.0) -> dict[str, Any]:
    """The default ping payload: ``{"source": "callwise-warmup", "hold_ms": hold_ms}``.

    >>> warmup_payload(25)
    {'source': 'callwise-warmup', 'hold_ms': 25.0}
    """
    return {"source": WARMUP_SOURCE, "hold_ms": number("hold_ms", hold_ms, _HOLD)}


def is_warmup(event: object) -> bool:
    """Whether ``event`` is a warm-up ping: callwise's payload or serverless-plugin-warmup's.

    >>> is_warmup({"source": "serverless-plugin-warmup"}), is_warmup({"source": "aws.s3"})
    (True, False)
    """
    if type(event) is dict:  # the common case, without an ABC check
        return event.get("source") in _SOURCES
    return isinstance(event, Mapping) and event.get("source") in _SOURCES


def _hold_s(event: Mapping[str, Any]) -> float:
    """How long the ping asks its instance to stay busy, seconds (0 when not said)."""
    hold = event.get("hold_ms", 0)
    if isinstance(hold, (int, float)) and not isinstance(hold, bool) and hold > 0:
        return min(float(hold), 60_000.0) / 1000.0  # a ping never holds more than a minute
    return 0.0


_DEFAULT_RESPONSE: Mapping[str, Any] = {"warmup": True}


@overload
def warmup_aware(handler: H, /) -> H: ...
@overload
def warmup_aware(*, response: object = ..., clock: Clock | None = None) -> Callable[[H], H]: ...
def warmup_aware(
    handler: Callable[..., Any] | None = None,
    /,
    *,
    response: object = _DEFAULT_RESPONSE,
    clock: Clock | None = None,
) -> Any:
    """Make a handler ``(event, context)`` return early on a warm-up ping.

    On a ping (see :func:`is_warmup`) the handler holds for the ping's ``hold_ms`` (on
    ``clock``, so tests never sleep) and returns ``response`` without running its body,
    so a ping bills a few ms, not a full run. Works on plain and ``async def`` handlers.

    Args:
        handler: the handler (when used as ``@warmup_aware`` without parentheses).
        response: what a ping gets back (default ``{"warmup": True}``).
        clock: where the hold sleeps (default: the system clock).

    >>> @warmup_aware
    ... def handler(event, context):
    ...     return "did the work"
    >>> handler({"source": "callwise-warmup"}, None), handler({"id": 1}, None)
    ({'warmup': True}, 'did the work')
    """
    sleeper = check_clock("clock", clock)

    def decorate(fn: H) -> H:
        if not callable(fn):
            raise InvalidUsage(f"handler={fn!r}: must be a callable (event, context)")
        if is_async(fn):

            @functools.wraps(fn)
            async def async_handler(event: Any, *args: Any, **kwargs: Any) -> Any:
                ping = event.get("source") in _SOURCES if type(event) is dict else is_warmup(event)
                if ping:
                    hold = _hold_s(event)
                    if hold:
                        await sleeper.asleep(hold)
                    return response
                return await fn(event, *args, **kwargs)

            return cast(H, async_handler)

        @functools.wraps(fn)
        def sync_handler(event: Any, *args: Any, **kwargs: Any) -> Any:
            if event.get("source") in _SOURCES if type(event) is dict else is_warmup(event):
                hold = _hold_s(event)
                if hold:
                    sleeper.sleep(hold)
                return response
            return fn(event, *args, **kwargs)

        return cast(H, sync_handler)

    return decorate if handler is None else decorate(handler)


@dataclass(frozen=True, slots=True)
class WarmerStatistics:
    """What a warmer has done so far.

    Attributes:
        rounds: rounds run.
        pings: pings sent (``rounds * concurrency``).
        failed_pings: pings that raised.
        failed_rounds: rounds in which every ping failed.
        consecutive_failed_rounds: failed rounds since the last good one.
        unreachable: whether the warmer has alerted and not yet seen a good round.
        alerts: times ``on_unreachable`` was called (once per outage).
        recoveries: times ``on_recovered`` was called.
        last_error: the last exception a ping raised (None before any).
    """

    rounds: int = 0
    pings: int = 0
    failed_pings: int = 0
    failed_rounds: int = 0
    consecutive_failed_rounds: int = 0
    unreachable: bool = False
    alerts: int = 0
    recoveries: int = 0
    last_error: BaseException | None = None


def _outcome(exc: BaseException) -> str:
    """The Ledger outcome of a ping that raised ``exc``."""
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return "cancelled"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "error"


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


class Warmer:
    """Pings a target on a schedule and alerts when it cannot be reached.

    Build it with :func:`keep_warm` (its arguments are documented there). Use
    :meth:`run_once` / :meth:`arun_once` from a scheduler you already have, or let the
    warmer run itself: :meth:`start` / :meth:`stop` (a background thread, ``with``) or
    :meth:`astart` / :meth:`astop` (a task of the running event loop, ``async with``).
    Either runner pings at once (a pre-warm) and then every ``every_s`` seconds.
    """

    def __init__(
        self,
        target: Callable[..., Any],
        *,
        every_s: float,
        concurrency: int,
        payload: object,
        alert_after: int,
        on_unreachable: Callback | None,
        on_recovered: Callback | None,
        breaker: Any,
        clock: Clock,
        ledger: Ledger | None,
        name: str,
    ) -> None:
        self.target = target
        self.every_s = every_s
        self.concurrency = concurrency
        self.payload = payload
        self.alert_after = alert_after
        self.on_unreachable = on_unreachable
        self.on_recovered = on_recovered
        self.breaker = breaker
        self.clock = clock
        self.ledger = ledger
        self.name = name
        self._async = is_async(target)
        self._lock = threading.Lock()
        # counters: rounds, pings, failed pings, failed rounds, consecutive failed rounds,
        # alerts, recoveries (a list: one lock, no object built per round)
        self._counts = [0, 0, 0, 0, 0, 0, 0]
        self._unreachable = False
        self._last_error: BaseException | None = None
        self._monotonic = time.monotonic if type(clock) is SystemClock else clock.monotonic
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_round = False

    # ---- statistics ---------------------------------------------------------------

    @property
    def statistics(self) -> WarmerStatistics:
        """A snapshot of what the warmer has done (see :class:`WarmerStatistics`)."""
        with self._lock:
            rounds, pings, failed_pings, failed_rounds, consecutive, alerts, recoveries = (
                self._counts
            )
            return WarmerStatistics(
                rounds=rounds,
                pings=pings,
                failed_pings=failed_pings,
                failed_rounds=failed_rounds,
                consecutive_failed_rounds=consecutive,
                unreachable=self._unreachable,
                alerts=alerts,
                recoveries=recoveries,
                last_error=self._last_error,
            )

    @property
    def running(self) -> bool:
        """Whether a background thread or task is running."""
        thread, task = self._thread, self._task
        return (thread is not None and thread.is_alive()) or (task is not None and not task.done())

    # ---- one round ----------------------------------------------------------------

    def run_once(self) -> bool:
        """Run one round now: ``concurrency`` pings in parallel; True when it was good.

        An ``async def`` target runs on a fresh event loop (call :meth:`arun_once` from a
        coroutine instead).
        """
        if self._async:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self.arun_once())
            raise InvalidUsage(
                f"run_once() on warmer {self.name!r}: its target is async and an event loop "
                "is running; use `await warmer.arun_once()`"
            )
        if self.concurrency == 1:
            results = [self._ping(1)]
        else:
            pool = self._executor()
            futures = [pool.submit(self._ping, i + 1) for i in range(self.concurrency)]
            results = [f.result() for f in futures]
        return self._finish_round(results)

    async def arun_once(self) -> bool:
        """:meth:`run_once` for a coroutine: async pings are gathered; sync ones run in
        worker threads."""
        if not self._async:
            return await asyncio.to_thread(self.run_once)
        results = await asyncio.gather(*(self._aping(i + 1) for i in range(self.concurrency)))
        return self._finish_round(list(results))

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix=f"warmer-{self.name}"
                )
            return self._pool

    def _ping(self, index: int) -> BaseException | None:
        start = self._monotonic()
        with collect_sizes() as sizes:
            try:
                self.target(self.payload)
            except Exception as exc:  # a failed ping is data, never a crash of the warmer
                self._record(index, start, sizes.request_bytes, sizes.response_bytes, exc)
                return exc
        self._record(index, start, sizes.request_bytes, sizes.response_bytes, None)
        return None

    async def _aping(self, index: int) -> BaseException | None:
        start = self._monotonic()
        with collect_sizes() as sizes:
            try:
                await self.target(self.payload)
            except asyncio.CancelledError as exc:
                self._record(index, start, sizes.request_bytes, sizes.response_bytes, exc)
                raise
            except Exception as exc:
                self._record(index, start, sizes.request_bytes, sizes.response_bytes, exc)
                return exc
        self._record(index, start, sizes.request_bytes, sizes.response_bytes, None)
        return None

    def _record(
        self,
        index: int,
        start_s: float,
        request_bytes: int | None,
        response_bytes: int | None,
        exc: BaseException | None,
    ) -> None:
        if self.ledger is None:
            return
        self.ledger.record(
            function=self.name,
            kind="probe",
            start_s=start_s,
            duration_s=max(0.0, self._monotonic() - start_s),
            outcome="ok" if exc is None else _outcome(exc),
            attempt=index,
            error_type=None if exc is None else _type_name(exc),
            request_bytes=request_bytes,
            response_bytes=response_bytes,
        )

    def _finish_round(self, results: list[BaseException | None]) -> bool:
        """Count the round; alert or recover when it changes reachability."""
        errors = [r for r in results if r is not None]
        good = len(errors) < len(results)
        with self._lock:
            counts, was_down = self._counts, self._unreachable
            consecutive = 0 if good else counts[4] + 1
            alert = not good and not was_down and consecutive >= self.alert_after
            recover = good and was_down
            counts[0] += 1
            counts[1] += len(results)
            counts[4] = consecutive
            if errors:
                counts[2] += len(errors)
                self._last_error = errors[-1]
            if not good:
                counts[3] += 1
            counts[5] += alert
            counts[6] += recover
            self._unreachable = (was_down or alert) and not recover
            still_down = not good and was_down
        if alert:
            self._alert(errors[-1], consecutive)
        elif still_down:
            self._force_open()
        elif recover:
            self._recover()
        return good

    # ---- alerts -------------------------------------------------------------------

    def _alert(self, error: BaseException, rounds: int) -> None:
        log.warning(
            "warmer %r: target unreachable for %d consecutive rounds (%s: %s)",
            self.name,
            rounds,
            type(error).__name__,
            error,
        )
        if listening():
            emit(
                "probe.unreachable",
                {"callwise.policy": self.name, "error.type": _type_name(error), "rounds": rounds},
            )
        self._force_open()
        self._callback(self.on_unreachable, "on_unreachable", self.name, error)

    def _recover(self) -> None:
        log.info("warmer %r: target reachable again", self.name)
        if listening():
            emit("probe.recovered", {"callwise.policy": self.name})
        if self.breaker is not None:
            self._guarded(self.breaker.close, "breaker.close()")
        self._callback(self.on_recovered, "on_recovered", self.name)

    def _force_open(self) -> None:
        if self.breaker is not None:
            self._guarded(self.breaker.open, "breaker.open()")

    def _callback(self, fn: Callback | None, what: str, *args: Any) -> None:
        if fn is not None:
            self._guarded(functools.partial(fn, *args), what)

    def _guarded(self, fn: Callable[[], Any], what: str) -> None:
        try:
            result = fn()
            if asyncio.iscoroutine(result):
                result.close()
                raise InvalidUsage(f"{what} returned a coroutine: give a plain function")
        except Exception:  # a user's callback never stops the warmer
            log.exception("warmer %r: %s raised", self.name, what)

    # ---- the background thread --------------------------------------------------------

    def start(self) -> Warmer:
        """Run rounds in a background thread: one now, then every ``every_s`` seconds.

        The thread waits on ``clock`` (a :class:`~resilience.testing.FakeClock` moved by
        ``advance()`` starts the next round without real waiting) and :meth:`stop` ends
        the wait at once.
        """
        with self._lock:
            if self.running:
                raise InvalidUsage(f"start() on warmer {self.name!r}: it is already running")
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run_thread, name=f"warmer-{self.name}", daemon=True
            )
            self._thread.start()
        return self

    def _run_thread(self) -> None:
        from ._waiters import wait_for

        while not self._stop.is_set():
            started_s = self.clock.monotonic()
            try:
                self.run_once()
            except Exception:  # never expected: pings and callbacks are guarded
                log.exception("warmer %r: a round failed", self.name)
            # rounds start every_s apart, however long a round took
            left_s = max(0.0, started_s + self.every_s - self.clock.monotonic())
            if wait_for(self._stop, left_s, self.clock):
                break

    def stop(self, timeout_s: float | None = 30.0) -> None:
        """Stop the background thread (after its current round) and wait for it; free
        the ping threads. Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        self._thread = None
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Warmer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- the asyncio task ---------------------------------------------------------------

    def astart(self) -> asyncio.Task[None]:
        """Run rounds in a task of the running event loop: one now, then every
        ``every_s`` seconds slept with ``clock.asleep`` (virtual time in a
        :class:`~resilience.virtual_time.VirtualTimeLoop`)."""
        loop = asyncio.get_running_loop()
        if self.running:
            raise InvalidUsage(f"astart() on warmer {self.name!r}: it is already running")
        self._stop.clear()
        self._task = loop.create_task(self._run_task(), name=f"warmer-{self.name}")
        return self._task

    async def _run_task(self) -> None:
        while not self._stop.is_set():
            started_s = self.clock.monotonic()
            self._in_round = True
            try:
                await self.arun_once()
            except Exception:  # never expected: pings and callbacks are guarded
                log.exception("warmer %r: a round failed", self.name)
            finally:
                self._in_round = False
            if self._stop.is_set():
                break
            await self.clock.asleep(max(0.0, started_s + self.every_s - self.clock.monotonic()))

    async def astop(self) -> None:
        """Stop the task: at once when it sleeps, after its round when it pings; wait
        for it to end. Idempotent."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        if not self._in_round:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    async def __aenter__(self) -> Warmer:
        self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def __repr__(self) -> str:
        return (
            f"Warmer({self.name!r}, every_s={self.every_s:g}, concurrency={self.concurrency}, "
            f"alert_after={self.alert_after})"
        )


def _check_callback(name: str, value: object) -> Callback | None:
    if value is not None and not callable(value):
        raise InvalidUsage(f"{name}={value!r}: must be a callable or None")
    return cast("Callback | None", value)


def _check_breaker(value: object) -> Any:
    if value is None:
        return None
    if not (callable(getattr(value, "open", None)) and callable(getattr(value, "close", None))):
        raise InvalidUsage(
            f"breaker={value!r}: must be a resilience.CircuitBreaker (with open() and close()) "
            "or None"
        )
    return value


_NO_PAYLOAD: Any = object()


def keep_warm(
    target: Callable[..., Any] | Callable[..., Awaitable[Any]],
    *,
    every_s: float = 300.0,
    concurrency: int = 1,
    payload: object = _NO_PAYLOAD,
    hold_ms: float = 0.0,
    alert_after: int = 2,
    on_unreachable: Callback | None = None,
    on_recovered: Callback | None = None,
    breaker: Any = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    name: str | None = None,
) -> Warmer:
    """A :class:`Warmer` that pings ``target`` on a schedule and alerts when it is down.

    Args:
        target: what to ping: a callable taking the payload (plain or ``async def``),
            e.g. :class:`~resilience.invokers.HttpFunction`,
            :class:`~resilience.invokers.LambdaFunction` or
            :class:`~resilience.invokers.FcFunction`.
        every_s: seconds between rounds (default 300, serverless-plugin-warmup's
            ``rate(5 minutes)``), > 0.
        concurrency: pings sent in parallel per round, to keep that many instances warm,
            >= 1.
        payload: what each ping sends (default :func:`warmup_payload` with ``hold_ms``).
        hold_ms: in the default payload, how long a warm-up-aware handler holds its
            instance busy, ms >= 0 (so that parallel pings reach distinct instances).
        alert_after: consecutive failed rounds that make the target unreachable, >= 1.
        on_unreachable: called once per outage as ``on_unreachable(name, error)``.
        on_recovered: called as ``on_recovered(name)`` on the first good round after.
        breaker: a :class:`~resilience.CircuitBreaker` forced open while the target is
            unreachable and closed when it recovers.
        clock: where time comes from and where the background thread waits.
        ledger: records each ping as a row of kind ``probe``.
        name: the name of the ledger rows, logs and events (default: the target's).

    Raises:
        InvalidUsage: a parameter is out of range, naming it, its value and what is allowed.

    >>> from resilience import Ledger
    >>> ledger = Ledger()
    >>> warmer = keep_warm(lambda event: "ok", concurrency=3, ledger=ledger, name="api")
    >>> warmer.run_once(), warmer.statistics.pings, len(ledger)
    (True, 3, 3)
    """
    if not callable(target):
        raise InvalidUsage(
            f"target={target!r}: must be a callable taking the payload (a function or an "
            "invoker such as resilience.invokers.HttpFunction)"
        )
    every = number("every_s", every_s, _EVERY)
    count = int(number("concurrency", concurrency, _COUNT))
    alerts = int(number("alert_after", alert_after, _COUNT))
    hold = number("hold_ms", hold_ms, _HOLD)
    if payload is _NO_PAYLOAD:
        payload = warmup_payload(hold)
    elif hold:
        raise InvalidUsage(
            f"hold_ms={hold_ms!r}: applies to the default payload only; put the hold in the "
            "payload you give"
        )
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise InvalidUsage(f"name={name!r}: must be a non-empty string or None")
    return Warmer(
        target,
        every_s=every,
        concurrency=count,
        payload=payload,
        alert_after=alerts,
        on_unreachable=_check_callback("on_unreachable", on_unreachable),
        on_recovered=_check_callback("on_recovered", on_recovered),
        breaker=_check_breaker(breaker),
        clock=check_clock("clock", clock),
        ledger=check_ledger("ledger", ledger),
        name=name if name is not None else name_of(target),
    )
