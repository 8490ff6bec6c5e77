"""Chaos: inject latency, faults and canned outcomes, on purpose, to rehearse failures.

:func:`chaos` builds one frozen fault spec, :class:`Chaos`, that is also a decorator for
plain and ``async def`` functions, and a part of :class:`resilience.Policy`
(``Policy(chaos=...)``, always innermost: inside the timeout, so every layer above sees
an injected fault as a real one). It offers the three injections of Polly v8's chaos
strategies and AWS FIS's Lambda actions:

- **latency** (``latency_s``): wait before the call, a fixed number of seconds or a
  draw from a distribution (any object with ``sample(rng) -> float`` in seconds, the
  :class:`Sampler` protocol; costmodel's distributions give one with ``.seconds()``);
- **fault** (``fault``): raise an exception instead of calling the function (the call is
  not made), e.g. :class:`resilience.InjectedThrottle`, an HTTP 429 with a retry-after
  that :func:`resilience.throttle_info` reads;
- **outcome** (``outcome``): return a canned result instead of calling the function.

Each injection has its own rate (``rate``, or ``latency_rate`` / ``fault_rate`` /
``outcome_rate``), drawn independently per call from the spec's seeded ``rng``: in
order, the latency first (the wait), then the fault (the call fails), then, when no
fault was injected, the outcome. A spec is **off unless enabled** (``enabled=False`` by
default, where Polly enables its strategies by default): production never injects by
accident. ``enabled`` is a bool or a zero-argument callable asked on every call (a
feature flag, an environment variable). With the constant ``False`` no layer is built
at all: the decorated function is the function itself, and a Policy is exactly the
Policy without chaos.

Ledger: the attempt row of a call a chaos layer touched carries
``injected="latency" | "fault" | "outcome"`` (a latency followed by a fault or an outcome
is marked by the latter). Billing: injected latency is the caller's wait, never the
callee's duration; an injected fault or outcome made no call, so it bills nothing
downstream. The same spec drives costmodel's simulation (``Scenario(faults=...)``) on
the virtual clock, seeded from the simulation's seed.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar, cast, runtime_checkable

from ._events import emit, listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._recording import mark_injected
from ._validate import Number, is_async, name_of, number
from ._validate import clock as valid_clock
from ._wraps import wraps
from .clock import SYSTEM_CLOCK, Clock
from .errors import InjectedThrottle, InvalidUsage

__all__ = ["Chaos", "ChaosStatistics", "Sampler", "chaos"]

P = ParamSpec("P")
R = TypeVar("R")

#: Polly v8's default ``InjectionRate``: one call in a thousand.
DEFAULT_RATE = 0.001


@runtime_checkable
class Sampler(Protocol):
    """A latency distribution for chaos: one draw per call, in **seconds**.

    resilience never imports costmodel; costmodel's duration distributions (which speak
    milliseconds and sample numpy arrays) give an object of this kind with
    ``.seconds()``, e.g. ``costmodel.lognormal(p50_ms=200, p99_ms=2000).seconds()``.
    """

    def sample(self, rng: random.Random) -> float:
        """One draw, seconds (>= 0), made with ``rng``."""
        ...


class ChaosStatistics:
    """Live counters of a :class:`Chaos`, shared by every function it decorates.

    Attributes:
        calls: calls that reached an active layer (enabled or not).
        skipped: calls let through because ``enabled()`` said False.
        latency: calls given an injected latency.
        faults: calls failed with an injected fault.
        outcomes: calls answered with an injected outcome.
        latency_s: total injected latency, seconds.
    """

    __slots__ = ("_calls", "_lock", "_skipped", "faults", "latency", "latency_s", "outcomes")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # for the injections' counters
        self._calls = itertools.count()  # next() is atomic: no lock on the hot path
        self._skipped = itertools.count()
        self.latency = 0
        self.faults = 0
        self.outcomes = 0
        self.latency_s = 0.0

    @property
    def calls(self) -> int:
        return _used(self._calls)

    @property
    def skipped(self) -> int:
        return _used(self._skipped)

    def as_dict(self) -> dict[str, float]:
        """A snapshot of every counter."""
        names = ("calls", "skipped", "latency", "faults", "outcomes", "latency_s")
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"ChaosStatistics({fields})"


def _used(counter: itertools.count[int]) -> int:
    """How often ``next`` was called on an ``itertools.count``."""
    return int(repr(counter)[6:-1])  # "count(42)"


_RATE = Number(low=0, high=1, allowed="a rate in [0, 1]")
_LATENCY = Number(low=0, allowed="a number of seconds >= 0")


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to inject on one call: the wait (seconds or None), then a fault or an outcome."""

    delay_s: float | None
    fault: bool
    outcome: bool


@dataclass(frozen=True, slots=True, eq=False)
class Chaos:
    """A fault-injection spec and decorator; build it with :func:`chaos`.

    The attributes are those of :func:`chaos`, checked, with ``rng`` always a
    ``random.Random`` and each rate resolved. ``dataclasses.replace`` makes a variant
    (another ``enabled``, ``rng`` or ``clock``) with counters of its own.
    """

    latency_s: float | Sampler | None = None
    fault: BaseException | type[BaseException] | Callable[[], BaseException] | None = None
    outcome: Any = None
    rate: float = DEFAULT_RATE
    latency_rate: float | None = None
    fault_rate: float | None = None
    outcome_rate: float | None = None
    enabled: bool | Callable[[], bool] = False
    rng: random.Random | int | None = None
    clock: Clock | None = None
    name: str | None = None
    statistics: ChaosStatistics = field(default_factory=ChaosStatistics, init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.latency_s is None and self.fault is None and self.outcome is None:
            raise InvalidUsage(
                "chaos(): nothing to inject; give latency_s=, fault= or outcome= "
                "(e.g. fault=resilience.InjectedThrottle(retry_after_s=1.0))"
            )
        latency = self.latency_s
        if hasattr(latency, "seconds") and hasattr(latency, "mean_ms"):
            raise InvalidUsage(
                f"latency_s={latency!r}: a costmodel distribution speaks milliseconds (and "
                "samples arrays); give latency_s=distribution.seconds()"
            )
        if latency is not None and not isinstance(latency, Sampler):
            set_(self, "latency_s", number("latency_s", latency, _LATENCY))
        _check_fault(self.fault)
        rate = number("rate", self.rate, _RATE)
        set_(self, "rate", rate)
        for kind in ("latency", "fault", "outcome"):
            own = getattr(self, f"{kind}_rate")
            present = getattr(self, "latency_s" if kind == "latency" else kind) is not None
            if own is not None and not present:
                raise InvalidUsage(
                    f"{kind}_rate={own!r}: given without anything to inject as {kind}"
                )
            if present:  # resolved: the kind's own rate, or the spec's
                set_(
                    self,
                    f"{kind}_rate",
                    rate if own is None else number(f"{kind}_rate", own, _RATE),
                )
        if not (isinstance(self.enabled, bool) or callable(self.enabled)):
            raise InvalidUsage(
                f"enabled={self.enabled!r}: must be True, False or a function of no "
                "arguments returning a bool (asked on every call)"
            )
        set_(self, "rng", _rng(self.rng))
        if self.clock is not None:
            valid_clock("clock", self.clock)
        if self.name is not None and not (isinstance(self.name, str) and self.name):
            raise InvalidUsage(f"name={self.name!r}: must be a non-empty string or None")

    # -- decorating ----------------------------------------------------------------

    @property
    def off(self) -> bool:
        """True when ``enabled`` is the constant False: no layer is built."""
        return self.enabled is False

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``); ``fn`` itself while :attr:`off`."""
        if not callable(fn):
            raise InvalidUsage(f"chaos(...) decorates a callable, got {fn!r}")
        if self.off:
            return fn
        wrapped = self.decorate(fn, is_async=is_async(fn))
        wrapped.chaos = self  # type: ignore[attr-defined]
        wrapped.statistics = self.statistics  # type: ignore[attr-defined]
        return wrapped

    def decorate(
        self,
        fn: Callable[P, R],
        *,
        is_async: bool,
        label: str | None = None,
        clock: Clock | None = None,
        site: Site | None = None,
    ) -> Callable[P, R]:
        """``fn`` behind the injections (what :class:`Policy` composes).

        Args:
            fn: the function.
            is_async: whether ``fn`` is a coroutine function.
            label: the name on ``chaos.injected`` events when the spec has none (the
                Policy's name); default the function's name.
            clock: the clock to sleep injected latency on when the spec has none (the
                Policy's); default the system clock.
            site: telemetry observes each call here (the wrapper is a Policy's outermost).
        """
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), label, clock, site))
        plan, inject, sleep = self._plan, self._inject, (self.clock or clock or SYSTEM_CLOCK).sleep
        enabled = None if self.enabled is True else cast("Callable[[], bool]", self.enabled)
        name = self.name or label or name_of(fn)
        stats = self.statistics

        @wraps(fn)
        def chaos_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            if enabled is not None and not enabled():
                next(stats._calls)
                next(stats._skipped)
                return fn(*args, **kwargs)
            todo = plan(name)
            if todo is None:
                return fn(*args, **kwargs)
            if todo.delay_s is not None:
                sleep(todo.delay_s)
            if todo.fault or todo.outcome:
                return cast("R", inject(todo, name))
            return fn(*args, **kwargs)

        me = weakref.ref(chaos_call)  # for observe_call: no reference cycle

        return chaos_call

    def _decorate_async(
        self,
        fn: Callable[P, Awaitable[R]],
        label: str | None,
        clock: Clock | None,
        site: Site | None,
    ) -> Callable[P, Awaitable[R]]:
        plan, inject, asleep = (
            self._plan,
            self._inject,
            (self.clock or clock or SYSTEM_CLOCK).asleep,
        )
        enabled = None if self.enabled is True else cast("Callable[[], bool]", self.enabled)
        name = self.name or label or name_of(fn)
        stats = self.statistics

        @wraps(fn)
        async def chaos_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            if enabled is not None and not enabled():
                next(stats._calls)
                next(stats._skipped)
                return await fn(*args, **kwargs)
            todo = plan(name)
            if todo is None:
                return await fn(*args, **kwargs)
            if todo.delay_s is not None:
                await asleep(todo.delay_s)
            if todo.fault or todo.outcome:
                return cast("R", inject(todo, name))
            return await fn(*args, **kwargs)

        me = weakref.ref(chaos_call)  # for observe_call: no reference cycle

        return chaos_call

    # -- one call ------------------------------------------------------------------

    def _plan(self, name: str) -> _Plan | None:
        """Draw this call's injections (None: none), count the call and a latency.

        A kind absent or at rate 0 takes no draw."""
        stats = self.statistics
        next(stats._calls)
        draw = cast("random.Random", self.rng).random
        delay_s: float | None = None
        fault = outcome = False
        rate = self.latency_rate
        if rate and draw() < rate:
            delay_s = self._delay_s()
            with stats._lock:
                stats.latency += 1
                stats.latency_s += delay_s
            mark_injected("latency")
            if listening():
                _emit(name, "latency")
        rate = self.fault_rate
        if rate and draw() < rate:
            fault = True
        else:
            rate = self.outcome_rate
            outcome = bool(rate and draw() < rate)
        if delay_s is None and not (fault or outcome):
            return None
        return _Plan(delay_s, fault, outcome)

    def _delay_s(self) -> float:
        latency = self.latency_s
        if not isinstance(latency, Sampler):
            return cast("float", latency)
        value = latency.sample(cast("random.Random", self.rng))
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise InvalidUsage(
                f"latency_s={latency!r}: sample() returned {value!r}; a latency sampler "
                "must return a finite number of seconds >= 0"
            )
        return float(value)

    def _inject(self, todo: _Plan, name: str) -> Any:
        """Raise the fault, or return the outcome; mark the ledger and tell listeners."""
        kind = "fault" if todo.fault else "outcome"
        stats = self.statistics
        with stats._lock:
            if todo.fault:
                stats.faults += 1
            else:
                stats.outcomes += 1
        mark_injected(kind)
        if listening():
            _emit(name, kind)
        if todo.fault:
            raise self._exception()
        outcome = self.outcome
        return outcome() if callable(outcome) else outcome

    def _exception(self) -> BaseException:
        fault = self.fault
        if isinstance(fault, BaseException):
            try:
                return copy.copy(fault)  # a fresh instance: no traceback shared or grown
            except Exception:
                return fault
        if isinstance(fault, type):
            kind = cast("type[BaseException]", fault)
            if kind is InjectedThrottle:
                return InjectedThrottle(name=self.name or "")
            return kind(f"fault injected by chaos {self.name or ''}".rstrip())
        made = cast("Callable[[], BaseException]", fault)()
        if not isinstance(made, BaseException):
            raise InvalidUsage(f"fault={fault!r}: returned {made!r}, not an exception")
        return made

    def __repr__(self) -> str:
        parts = []
        for key in ("latency_s", "fault", "outcome"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value!r}")
        rates = {k: getattr(self, f"{k}_rate") for k in ("latency", "fault", "outcome")}
        parts.append(f"rate={self.rate!r}")
        parts.extend(
            f"{k}_rate={v!r}" for k, v in rates.items() if v is not None and v != self.rate
        )
        parts.append(f"enabled={self.enabled!r}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"Chaos({', '.join(parts)})"


def _emit(name: str, kind: str) -> None:
    emit("chaos.injected", {"callwise.policy": name, "callwise.injected": kind})


def _check_fault(fault: object) -> None:
    if fault is None or isinstance(fault, BaseException):
        return
    if isinstance(fault, type):
        if issubclass(fault, BaseException):
            return
        raise InvalidUsage(
            f"fault={fault!r}: is a class but not an exception; give an exception (class, "
            "instance or a function returning one), e.g. fault=ConnectionError"
        )
    if not callable(fault):
        raise InvalidUsage(
            f"fault={fault!r}: must be an exception instance, an exception class, or a "
            "function of no arguments returning an exception"
        )


def _rng(value: object) -> random.Random:
    if value is None:
        return random.Random()
    if isinstance(value, random.Random):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return random.Random(value)
    raise InvalidUsage(f"rng={value!r}: must be a random.Random, an int seed, or None (unseeded)")


def chaos(
    *,
    latency_s: float | Sampler | None = None,
    fault: BaseException | type[BaseException] | Callable[[], BaseException] | None = None,
    outcome: Any = None,
    rate: float = DEFAULT_RATE,
    latency_rate: float | None = None,
    fault_rate: float | None = None,
    outcome_rate: float | None = None,
    enabled: bool | Callable[[], bool] = False,
    rng: random.Random | int | None = None,
    clock: Clock | None = None,
    name: str | None = None,
) -> Chaos:
    """Inject latency, a fault or a canned outcome into a share of the calls.

    Args:
        latency_s: a wait before the call, seconds (>= 0), or a :class:`Sampler` drawn
            per call (seconds), e.g. ``costmodel.lognormal(p50_ms=..., p99_ms=...).seconds()``.
        fault: raised instead of making the call: an exception instance (a copy is
            raised each time), an exception class (made with a message), or a function
            of no arguments returning one.
        outcome: returned instead of making the call; a callable is called for each
            injection (to inject ``None``, or a callable, give ``lambda: value``).
        rate: share of calls given each injection, in [0, 1] (default 0.001, Polly's).
        latency_rate: the latency's own rate (default ``rate``).
        fault_rate: the fault's own rate (default ``rate``).
        outcome_rate: the outcome's own rate (default ``rate``).
        enabled: True, False (default: nothing is injected, no layer is built), or a
            function of no arguments asked on every call.
        rng: a ``random.Random`` or an int seed for the draws (default: unseeded).
        clock: sleeps the injected latency (``sleep`` / ``asleep``); default the
            Policy's clock inside a Policy, else the system clock.
        name: on ``chaos.injected`` events (default: the Policy's or function's name).

    Returns:
        A :class:`Chaos`, to use as a decorator or as ``Policy(chaos=...)``.

    Raises:
        InvalidUsage: nothing to inject, a rate outside [0, 1] or NaN, a negative
            latency, a fault that is not an exception, a bad ``enabled`` or ``rng``.

    Example:
        >>> from resilience import InjectedThrottle, throttle_info
        >>> flaky = chaos(fault=InjectedThrottle(retry_after_s=2.0), rate=1.0, enabled=True)
        >>> @flaky
        ... def price() -> float:
        ...     return 9.5
        >>> try:
        ...     price()
        ... except InjectedThrottle as exc:
        ...     print(exc.status_code, throttle_info(exc).retry_after_s)
        429 2.0
        >>> price.statistics.faults
        1
    """
    return Chaos(
        latency_s=latency_s,
        fault=fault,
        outcome=outcome,
        rate=rate,
        latency_rate=latency_rate,
        fault_rate=fault_rate,
        outcome_rate=outcome_rate,
        enabled=enabled,
        rng=rng,
        clock=clock,
        name=name,
    )
