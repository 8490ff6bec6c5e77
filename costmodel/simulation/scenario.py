"""Scenarios for the simulator: who calls, how often, and how the downstream behaves.

A :class:`Scenario` is traffic (:class:`ConstantRate`, :class:`PoissonArrivals` or
:class:`TraceArrivals`, e.g. timestamps from :func:`costmodel.read_logs`), the keys the
calls ask for (so caches hit and miss as they would), and a :class:`Downstream`: the
function being called, with its latency distribution, its background error rate, its
own platform timeout, and :class:`Window` s of trouble:

- ``outage``: calls fail (with probability ``error_rate``, 1 by default) after the
  downstream's ``error_latency_ms``;
- ``hang``: calls never answer; the callee runs until its own platform timeout (and
  is billed for it), so the caller waits until *its* timeout, if it has one;
- ``slowdown``: latency is multiplied by ``factor``;
- ``flapping``: alternating ``up_s`` healthy and ``down_s`` failing periods
  (``down="outage"`` or ``"hang"``).

At any instant at most one failure window (outage, hang, flapping) and at most one
slowdown may apply; windows that overlap otherwise are contradictory and refused.

Scenario **faults** (:class:`Fault`) are chaos instead of weather: a
:func:`resilience.chaos` spec, the very one the user ships, switched on from ``start_s``
to ``end_s``. The simulation runs it innermost (below the user's Policy, around the
downstream), on the virtual clock, seeded from the simulation's seed: an injected fault
or outcome makes no callee call (nothing billed downstream), an injected latency
lengthens the caller's wait (billed to the caller), not the callee's execution.
Everything is validated at construction: bad values raise :class:`costmodel.InvalidUsage`
naming the field, and :func:`load_scenario` raises :class:`costmodel.InvalidFile` with
the file, the field and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from ..errors import InvalidFile, InvalidUsage
from ..toml_files import read_toml

if TYPE_CHECKING:
    import pandas as pd

    from resilience.chaos import Chaos
    from resilience.clock import Clock

__all__ = [
    "Arrivals",
    "CallerTimeout",
    "ConstantRate",
    "Downstream",
    "DownstreamError",
    "DownstreamThrottled",
    "DownstreamTimeout",
    "Fault",
    "PoissonArrivals",
    "Scenario",
    "TraceArrivals",
    "Window",
    "load_scenario",
]

T = TypeVar("T")

WindowKind = Literal["outage", "hang", "slowdown", "flapping"]
WINDOW_KINDS: tuple[str, ...] = ("outage", "hang", "slowdown", "flapping")
_FAILURE_KINDS = frozenset({"outage", "hang", "flapping"})


class DownstreamError(Exception):
    """The simulated downstream function answered with an error."""


class DownstreamTimeout(DownstreamError):
    """The simulated downstream function hit its own platform timeout."""


class DownstreamThrottled(DownstreamError):
    """The platform refused to run the downstream: its concurrency limit was reached
    (AWS Lambda's ``TooManyRequestsException``, HTTP 429). Nothing ran, nothing billed.

    Shaped like the botocore error Lambda's Invoke raises then (its ``response``), so
    :func:`resilience.throttle_info` recognises it as it would the real one: an adaptive
    limit counts it as a drop, telemetry labels it a throttle.
    """

    response = MappingProxyType(
        {
            "Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."},
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            "ResponseMetadata": {"HTTPStatusCode": 429},
        }
    )


class CallerTimeout(TimeoutError):
    """The simulated caller hit its own platform timeout (``Scenario.caller_timeout_s``)
    while waiting: the platform killed it there."""


# -- validation helpers: every message names the field, the value and what is allowed --


def _number(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and math.isfinite(value) and (value > low or (not strict and value == low)):
        return float(value)
    relation = ">" if strict else ">="
    raise InvalidUsage(f"{name}={value!r}: must be a finite number {relation} {low:g}")


def _probability(name: str, value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and 0.0 <= value <= 1.0:
        return float(value)
    raise InvalidUsage(f"{name}={value!r}: must be a probability in [0, 1]")


# -- latency ---------------------------------------------------------------------------


@runtime_checkable
class LatencySampler(Protocol):
    """What the simulator needs of a latency distribution (milliseconds)."""

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray[Any, Any]:
        """``size`` independent draws, milliseconds."""
        ...


# -- arrivals --------------------------------------------------------------------------


class Arrivals(Protocol):
    """Traffic: the times at which calls arrive."""

    @property
    def duration_s(self) -> float:
        """How long the traffic lasts, seconds."""
        ...

    def times_s(self, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Sorted arrival times from 0, seconds."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantRate:
    """Evenly spaced arrivals.

    Args:
        rate_per_s: calls per second (> 0).
        duration_s: how long the traffic lasts, seconds (> 0).

    Example:
        >>> ConstantRate(rate_per_s=4, duration_s=1).times_s(np.random.default_rng(0))
        array([0.  , 0.25, 0.5 , 0.75])
    """

    rate_per_s: float
    duration_s: float

    def __post_init__(self) -> None:
        _number("rate_per_s", self.rate_per_s, strict=True)
        _number("duration_s", self.duration_s, strict=True)
        if round(self.rate_per_s * self.duration_s) < 1:
            raise InvalidUsage(
                f"rate_per_s={self.rate_per_s!r}: with duration_s={self.duration_s!r} that is "
                f"{self.rate_per_s * self.duration_s:g} calls, which rounds to none; raise the "
                "rate or the duration so at least one call arrives"
            )

    def times_s(self, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float64]]:
        count = round(self.rate_per_s * self.duration_s)
        return np.arange(count, dtype=np.float64) / float(self.rate_per_s)


@dataclass(frozen=True, slots=True)
class PoissonArrivals:
    """A Poisson process: independent arrivals at an average rate (seeded).

    Args:
        rate_per_s: mean calls per second (> 0).
        duration_s: how long the traffic lasts, seconds (> 0).

    Example:
        >>> times = PoissonArrivals(rate_per_s=100, duration_s=60).times_s(np.random.default_rng(0))
        >>> 5_700 < len(times) < 6_300, bool(times.max() < 60)
        (True, True)
    """

    rate_per_s: float
    duration_s: float

    def __post_init__(self) -> None:
        _number("rate_per_s", self.rate_per_s, strict=True)
        _number("duration_s", self.duration_s, strict=True)

    def times_s(self, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float64]]:
        count = int(rng.poisson(self.rate_per_s * self.duration_s))
        # Given the count, Poisson arrival times are sorted uniforms over the span.
        return np.sort(rng.uniform(0.0, self.duration_s, size=count))


@dataclass(frozen=True, slots=True)
class TraceArrivals:
    """Arrivals at recorded times (shifted so the first one is at 0).

    Args:
        offsets_s: arrival times, seconds (any order; sorted on use).

    Example:
        >>> TraceArrivals(offsets_s=(10.5, 10.0, 12.0)).times_s(np.random.default_rng(0))
        array([0. , 0.5, 2. ])
    """

    offsets_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.offsets_s) == 0:
            raise InvalidUsage("offsets_s=(): a trace needs at least one arrival")
        values = np.asarray(self.offsets_s, dtype=np.float64)
        if not np.isfinite(values).all():
            raise InvalidUsage("offsets_s: every arrival time must be a finite number")
        object.__setattr__(self, "offsets_s", tuple(float(v) for v in values))

    @property
    def duration_s(self) -> float:
        return max(self.offsets_s) - min(self.offsets_s)

    def times_s(self, rng: np.random.Generator) -> np.ndarray[Any, np.dtype[np.float64]]:
        values = np.sort(np.asarray(self.offsets_s, dtype=np.float64))
        offsets: np.ndarray[Any, np.dtype[np.float64]] = values - values[0]
        return offsets

    @classmethod
    def from_logs(cls, frame: pd.DataFrame, *, column: str | None = None) -> TraceArrivals:
        """Arrivals at the invocation times of a :func:`costmodel.read_logs` frame.

        Args:
            frame: a frame with one row per invocation.
            column: the time column; by default the first of ``timestamp``, ``time``,
                ``start_s`` that exists. Datetimes and numbers (seconds) are accepted.
        """
        import pandas as pd

        candidates = [column] if column else ["timestamp", "time", "start_s"]
        found = next((c for c in candidates if c in frame.columns), None)
        if found is None:
            raise InvalidUsage(
                f"column={column!r}: the frame has none of {candidates}; "
                f"its columns are {list(frame.columns)}"
            )
        values = frame[found].dropna()
        if values.empty:
            other = [c for c in ("timestamp", "time", "start_s") if c != found and c in frame]
            raise InvalidUsage(
                f"column={found!r}: empty in all {len(frame)} rows, so there are no arrival "
                "times to replay (plain AWS REPORT lines carry no timestamp: export the log "
                "with a timestamp before each line, as CloudWatch Logs does, or use a JSON "
                "log, or pass column= naming a time column"
                + (f": this frame also has {other})" if other else ")")
            )
        if pd.api.types.is_datetime64_any_dtype(values):
            seconds = (values - values.min()).dt.total_seconds().to_numpy(dtype=np.float64)
        else:
            seconds = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64)
        return cls(offsets_s=tuple(seconds.tolist()))


# -- downstream ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A period of trouble for the downstream.

    Args:
        kind: ``"outage"``, ``"hang"``, ``"slowdown"`` or ``"flapping"``.
        start_s: when it starts, seconds from the start of the traffic.
        end_s: when it ends, seconds (> ``start_s``).
        error_rate: share of calls that fail during an outage (or a flapping down
            period), in [0, 1].
        factor: latency multiplier of a slowdown (> 0).
        up_s: healthy period of a flapping window, seconds (> 0).
        down_s: failing period of a flapping window, seconds (> 0). A flapping window
            starts with a down period.
        down: what a flapping down period is: ``"outage"`` or ``"hang"``.
    """

    kind: WindowKind
    start_s: float
    end_s: float
    error_rate: float = 1.0
    factor: float = 1.0
    up_s: float | None = None
    down_s: float | None = None
    down: Literal["outage", "hang"] = "outage"

    def __post_init__(self) -> None:
        if self.kind not in WINDOW_KINDS:
            raise InvalidUsage(f"kind={self.kind!r}: must be one of {WINDOW_KINDS}")
        _number("start_s", self.start_s)
        end = _number("end_s", self.end_s)
        if end <= self.start_s:
            raise InvalidUsage(f"end_s={self.end_s!r}: must be after start_s={self.start_s!r}")
        _probability("error_rate", self.error_rate)
        _number("factor", self.factor, strict=True)
        if self.down not in ("outage", "hang"):
            raise InvalidUsage(f"down={self.down!r}: must be 'outage' or 'hang'")
        if self.kind == "flapping":
            if self.up_s is None or self.down_s is None:
                raise InvalidUsage("a flapping window needs up_s and down_s (seconds, > 0)")
            _number("up_s", self.up_s, strict=True)
            _number("down_s", self.down_s, strict=True)
            span = end - float(self.start_s)
            if self.up_s + self.down_s > span:
                raise InvalidUsage(
                    f"up_s={self.up_s!r}: up_s + down_s = {self.up_s + self.down_s:g} s is "
                    f"longer than the window ({span:g} s), so it never flaps; shorten them, "
                    "or use an outage or hang window"
                )
        else:
            if self.up_s is not None or self.down_s is not None:
                raise InvalidUsage(f"up_s and down_s apply to flapping windows, not {self.kind!r}")
            if self.down != "outage":
                raise InvalidUsage(
                    f"down={self.down!r}: applies to flapping windows only; on kind="
                    f"{self.kind!r} it would be ignored"
                )
        if self.kind != "slowdown" and self.factor != 1.0:
            raise InvalidUsage(f"factor={self.factor!r}: applies to slowdown windows only")
        fails = self.kind == "outage" or (self.kind == "flapping" and self.down == "outage")
        if self.error_rate != 1.0 and not fails:
            what = (
                "a flapping window with down='hang'"
                if self.kind == "flapping"
                else (f"a {self.kind!r} window")
            )
            raise InvalidUsage(
                f"error_rate={self.error_rate!r}: applies to outage windows (and flapping "
                f"ones with down='outage'), not to {what}, where it would be ignored"
            )

    def failing_at(self, t_s: float) -> str | None:
        """``"outage"`` or ``"hang"`` if the window makes the downstream fail at ``t_s``."""
        if not (self.start_s <= t_s < self.end_s) or self.kind == "slowdown":
            return None
        if self.kind == "flapping":
            assert self.up_s is not None and self.down_s is not None
            phase = (t_s - self.start_s) % (self.up_s + self.down_s)
            return self.down if phase < self.down_s else None
        return self.kind

    def describe(self) -> str:
        return f"{self.kind} {self.start_s:g}-{self.end_s:g} s"


@dataclass(frozen=True, slots=True)
class Downstream:
    """The function being called, as the simulator plays it.

    Args:
        latency: duration of a successful call, milliseconds: a number (fixed) or a
            distribution from :mod:`costmodel` (``fixed``, ``lognormal``, ``empirical``).
        error_rate: background share of calls that fail, independently, in [0, 1].
        error_latency_ms: how long a failing call takes, milliseconds; ``None``: as
            long as a successful one (a draw from ``latency``).
        timeout_s: the callee's own platform timeout, seconds: a call that runs
            longer is cut there and billed up to there (900 s is AWS Lambda's cap).
        invoke_overhead_ms: network and invoke overhead the caller waits for on every
            attempt, on top of the callee's duration (not billed to the callee).
        concurrency_limit: most executions the platform runs at once (AWS Lambda's
            account default is 1,000); an invocation beyond it fails fast with
            :class:`DownstreamThrottled` after ``invoke_overhead_ms`` and is not billed
            to the callee. Executions the caller abandoned still count until they end.
            ``None`` (default): unlimited.
    """

    latency: Any
    error_rate: float = 0.0
    error_latency_ms: float | None = None
    timeout_s: float = 900.0
    invoke_overhead_ms: float = 0.0
    concurrency_limit: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.latency, (int, float)) and not isinstance(self.latency, bool):
            _number("latency", self.latency)
        elif not isinstance(self.latency, LatencySampler):
            raise InvalidUsage(
                f"latency={self.latency!r}: must be a number of milliseconds or a "
                "costmodel distribution (fixed, lognormal, empirical)"
            )
        _probability("error_rate", self.error_rate)
        if self.error_latency_ms is not None:
            _number("error_latency_ms", self.error_latency_ms)
        _number("timeout_s", self.timeout_s, strict=True)
        _number("invoke_overhead_ms", self.invoke_overhead_ms)
        limit = self.concurrency_limit
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1
        ):
            raise InvalidUsage(
                f"concurrency_limit={limit!r}: must be an integer >= 1 (concurrent "
                "executions), or None for no limit"
            )
        if limit is not None:
            object.__setattr__(self, "concurrency_limit", int(limit))

    def sample_latency_ms(self, size: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
        """``size`` draws of the success latency, milliseconds."""
        if isinstance(self.latency, (int, float)):
            return np.full(size, float(self.latency))
        return np.asarray(self.latency.sample(rng, size), dtype=np.float64)


# -- faults ----------------------------------------------------------------------------


_TIMER_SLACK_S = 1e-6


@dataclass(frozen=True, slots=True)
class Fault:
    """A :func:`resilience.chaos` spec switched on for a span of the scenario.

    The window is the switch: the spec's own ``enabled`` (off by default, a feature
    flag in production) is not asked in a simulation; the spec is on from ``start_s``
    to ``end_s`` and off otherwise. Its ``rng`` and ``clock`` are replaced too: a
    generator seeded from the simulation's seed, and the virtual clock.

    Args:
        chaos: the spec: what to inject (latency, fault, outcome) and at what rates.
        start_s: when it switches on, seconds from the start of the traffic (>= 0).
        end_s: when it switches off, seconds (> ``start_s``); None: at the end.

    Example:
        >>> import resilience
        >>> throttles = resilience.chaos(
        ...     fault=resilience.InjectedThrottle(retry_after_s=1.0), rate=0.02)
        >>> Fault(throttles, start_s=600, end_s=1200).describe()
        'chaos 600-1200 s'
    """

    chaos: Chaos
    start_s: float = 0.0
    end_s: float | None = None

    def __post_init__(self) -> None:
        from resilience.chaos import Chaos

        if not isinstance(self.chaos, Chaos):
            raise InvalidUsage(
                f"chaos={self.chaos!r}: must be a resilience.chaos(...) spec, e.g. "
                "resilience.chaos(fault=resilience.InjectedThrottle(), rate=0.02)"
            )
        _number("start_s", self.start_s)
        if self.end_s is not None:
            end = _number("end_s", self.end_s)
            if end <= self.start_s:
                raise InvalidUsage(f"end_s={self.end_s!r}: must be after start_s={self.start_s!r}")

    def active_at(self, t_s: float) -> bool:
        """Whether the fault is switched on at ``t_s`` (seconds)."""
        return self.start_s <= t_s and (self.end_s is None or t_s < self.end_s)

    def bind(self, *, clock: Clock, seed: int, index: int) -> Chaos:
        """The spec as one simulation runs it: on during the window (read on ``clock``),
        sleeping on ``clock``, drawing from a generator seeded by ``seed`` and ``index``
        (the fault's place in the scenario), with counters of its own."""
        start_s, end_s = float(self.start_s), self.end_s

        def on() -> bool:
            # the loop runs a timer due at t up to a nanosecond early: a call arriving
            # at start_s is inside the window, one arriving at end_s outside
            now = clock.monotonic() + _TIMER_SLACK_S
            return start_s <= now and (end_s is None or now < end_s)

        return dataclasses.replace(
            self.chaos,
            enabled=on,
            clock=clock,
            rng=random.Random(f"callwise-faults:{seed}:{index}"),
        )

    def describe(self) -> str:
        end = "end" if self.end_s is None else f"{self.end_s:g}"
        return f"chaos {self.start_s:g}-{end} s"


# -- the scenario ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """Traffic against a downstream, with windows of trouble.

    Args:
        arrivals: when calls arrive (:class:`ConstantRate`, :class:`PoissonArrivals`,
            :class:`TraceArrivals`).
        downstream: the function called (:class:`Downstream`).
        windows: periods of trouble (:class:`Window`), at most one failure window
            and one slowdown at any instant.
        keys: how many distinct keys the calls ask for (what a cache keys on), >= 1.
        key_skew: popularity skew of the keys: 0 for uniform, s > 0 for a Zipf law
            (key k asked with weight 1/k**s).
        caller_work_ms: the caller's own work per call, milliseconds, billed to the
            caller on top of its waiting.
        faults: chaos switched on for a span (:class:`Fault`, or a bare
            :func:`resilience.chaos` spec for the whole run), run innermost around the
            downstream, in this order (the first outermost).
        caller_timeout_s: the caller's own platform timeout, seconds (its work and
            its wait together): a call still waiting then is killed by the platform,
            raises :class:`CallerTimeout` to the user and is billed up to there. AWS
            Lambda allows up to 900 s; API Gateway cuts a synchronous request at 29 s.
            ``None`` (default): the caller waits as long as the Policy does.
        name: a label for reports.

    Example:
        >>> s = Scenario(
        ...     arrivals=ConstantRate(rate_per_s=200, duration_s=1800),
        ...     downstream=Downstream(latency=80.0),
        ...     windows=(Window(kind="outage", start_s=600, end_s=1200),),
        ... )
        >>> s.duration_s, s.windows[0].describe()
        (1800.0, 'outage 600-1200 s')
    """

    arrivals: ConstantRate | PoissonArrivals | TraceArrivals
    downstream: Downstream
    windows: tuple[Window, ...] = ()
    keys: int = 1
    key_skew: float = 0.0
    caller_work_ms: float = 0.0
    name: str = "scenario"
    caller_timeout_s: float | None = None
    faults: tuple[Fault, ...] = ()
    _sorted: tuple[Window, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.arrivals, (ConstantRate, PoissonArrivals, TraceArrivals)):
            raise InvalidUsage(
                f"arrivals={self.arrivals!r}: must be ConstantRate, PoissonArrivals or "
                "TraceArrivals"
            )
        if not isinstance(self.downstream, Downstream):
            raise InvalidUsage(f"downstream={self.downstream!r}: must be a Downstream")
        if not isinstance(self.windows, (tuple, list)):
            raise InvalidUsage(
                f"windows={self.windows!r}: must be a tuple of Window (one window: "
                "windows=(window,))"
            )
        windows = tuple(self.windows)
        duration_s = float(self.arrivals.duration_s)
        for i, window in enumerate(windows):
            if not isinstance(window, Window):
                raise InvalidUsage(f"windows[{i}]={window!r}: must be a Window")
            if window.start_s >= duration_s and duration_s > 0:
                raise InvalidUsage(
                    f"windows[{i}].start_s={window.start_s!r}: the {window.kind} starts when "
                    f"the traffic has ended ({duration_s:g} s of arrivals), so no call "
                    "would meet it; start it earlier or lengthen the arrivals"
                )
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "faults", _faults(self.faults, duration_s))
        _check_overlaps(windows)
        object.__setattr__(self, "_sorted", tuple(sorted(windows, key=lambda w: w.start_s)))
        integer = isinstance(self.keys, (int, np.integer)) and not isinstance(self.keys, bool)
        if not (integer and self.keys >= 1):
            raise InvalidUsage(f"keys={self.keys!r}: must be an integer >= 1")
        object.__setattr__(self, "keys", int(self.keys))
        _number("key_skew", self.key_skew)
        _number("caller_work_ms", self.caller_work_ms)
        if self.caller_timeout_s is not None:
            limit_s = _number("caller_timeout_s", self.caller_timeout_s, strict=True)
            if limit_s * 1000.0 <= self.caller_work_ms:
                raise InvalidUsage(
                    f"caller_timeout_s={self.caller_timeout_s!r}: must leave time to wait "
                    f"after the caller's own work (caller_work_ms={self.caller_work_ms!r})"
                )

    @property
    def duration_s(self) -> float:
        """How long the traffic lasts, seconds."""
        return float(self.arrivals.duration_s)

    def condition_at(self, t_s: float) -> tuple[str | None, float, float]:
        """The downstream's condition at ``t_s``: (failure, error rate, latency factor).

        ``failure`` is None (healthy), ``"outage"`` or ``"hang"``; the error rate is
        the background one when healthy, the window's during an outage.
        """
        failure: str | None = None
        error_rate = self.downstream.error_rate
        factor = 1.0
        for window in self._sorted:
            if window.start_s > t_s:
                break
            if t_s >= window.end_s:
                continue
            if window.kind == "slowdown":
                factor = window.factor
                continue
            mode = window.failing_at(t_s)
            if mode is not None:
                failure = mode
                if mode == "outage":
                    error_rate = max(error_rate, window.error_rate)
        return failure, error_rate, factor

    def keys_for(self, count: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
        """The key asked by each of ``count`` calls (integers from 0)."""
        if self.keys == 1:
            return np.zeros(count, dtype=np.int64)
        if self.key_skew == 0:
            return rng.integers(0, self.keys, size=count)
        weights = 1.0 / np.arange(1, self.keys + 1, dtype=np.float64) ** self.key_skew
        return rng.choice(self.keys, size=count, p=weights / weights.sum())


def _faults(value: Any, duration_s: float) -> tuple[Fault, ...]:
    """``value`` as a tuple of :class:`Fault` (a bare chaos spec: for the whole run)."""
    from resilience.chaos import Chaos

    if isinstance(value, (Fault, Chaos)) or not isinstance(value, (tuple, list)):
        raise InvalidUsage(
            f"faults={value!r}: must be a tuple of Fault (one fault: faults=(fault,))"
        )
    faults = []
    for i, item in enumerate(value):
        if isinstance(item, Chaos):
            item = Fault(item)
        if not isinstance(item, Fault):
            raise InvalidUsage(f"faults[{i}]={item!r}: must be a Fault or a resilience.chaos spec")
        if item.start_s >= duration_s and duration_s > 0:
            raise InvalidUsage(
                f"faults[{i}].start_s={item.start_s!r}: the fault starts when the traffic "
                f"has ended ({duration_s:g} s of arrivals), so no call would meet it"
            )
        faults.append(item)
    return tuple(faults)


def _check_overlaps(windows: Sequence[Window]) -> None:
    """Refuse two failure windows, or two slowdowns, that apply at the same instant."""
    for i, first in enumerate(windows):
        for j in range(i + 1, len(windows)):
            second = windows[j]
            same_class = (first.kind == "slowdown") == (second.kind == "slowdown")
            if same_class and first.start_s < second.end_s and second.start_s < first.end_s:
                what = "slowdown" if first.kind == "slowdown" else "failure window"
                raise InvalidUsage(
                    f"windows[{j}] ({second.describe()}) overlaps windows[{i}] "
                    f"({first.describe()}): at most one {what} may apply at a time"
                )


# -- files -----------------------------------------------------------------------------

_TOP_LEVEL = (
    "scenario", "arrivals", "downstream", "windows", "faults", "simulation", "policies",
)  # fmt: skip
_SCENARIO_FIELDS = ("name", "keys", "key_skew", "caller_work_ms", "caller_timeout_s")
_ARRIVAL_FIELDS = {
    "constant": ("kind", "rate_per_s", "duration_s"),
    "poisson": ("kind", "rate_per_s", "duration_s"),
    "logs": ("kind", "path", "column"),
}
_DOWNSTREAM_FIELDS = (
    "latency",
    "latency_ms",
    "error_rate",
    "error_latency_ms",
    "timeout_s",
    "invoke_overhead_ms",
    "concurrency_limit",
)
_WINDOW_FIELDS = ("kind", "start_s", "end_s", "error_rate", "factor", "up_s", "down_s", "down")
_FAULT_FIELDS = (
    "start_s", "end_s", "rate", "latency_rate", "fault_rate", "outcome_rate", "latency_ms",
    "fault", "retry_after_s", "outcome", "name",
)  # fmt: skip
_LATENCY_FIELDS = {
    "fixed": ("kind", "duration_ms"),
    "lognormal": ("kind", "p50_ms", "p99_ms"),
    "empirical": ("kind", "samples_ms", "path"),
}


class FileContext:
    """Turns errors raised while building objects from a file into InvalidFile."""

    __slots__ = ("path",)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def fail(self, field_: str, reason: str) -> InvalidFile:
        return InvalidFile(self.path, field_, reason)

    def table(self, field_: str, value: Any, allowed: Sequence[str]) -> Mapping[str, Any]:
        """``value`` as a table whose keys are all in ``allowed``."""
        if not isinstance(value, Mapping):
            raise self.fail(field_, f"must be a table, got {value!r}")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{field_}.{key}", f"unknown field; allowed: {', '.join(allowed)}")
        return value

    def build(self, field_: str, factory: Callable[..., T], /, **kwargs: Any) -> T:
        """``factory(**kwargs)``, an InvalidUsage becoming InvalidFile on ``field.param``."""
        try:
            return factory(**kwargs)
        except (ValueError, TypeError) as exc:  # costmodel's and resilience's InvalidUsage
            if isinstance(exc, InvalidFile):
                raise
            message = str(exc)
            match = re.match(r"(\w+(?:\[\d+\])?(?:\.\w+)?)(?:=| \()", message)
            where = field_
            if match:
                where = f"{field_}.{match.group(1)}" if field_ else match.group(1)
            raise self.fail(where or "-", message) from exc


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a TOML file.

    Tables: ``[scenario]`` (``name``, ``keys``, ``key_skew``, ``caller_work_ms``,
    ``caller_timeout_s``),
    ``[arrivals]`` (``kind = "constant" | "poisson"`` with ``rate_per_s`` and
    ``duration_s``, or ``kind = "logs"`` with ``path`` to a log file read by
    :func:`costmodel.read_logs`), ``[downstream]`` (``latency`` as a number of ms or
    ``{kind = "lognormal", p50_ms = ..., p99_ms = ...}``, ``error_rate``,
    ``error_latency_ms``, ``timeout_s``, ``invoke_overhead_ms``, ``concurrency_limit``),
    ``[[windows]]``
    (``kind``, ``start_s``, ``end_s`` and the kind's own fields) and ``[[faults]]``
    (chaos: ``start_s``, ``end_s``, ``rate`` and ``latency_rate`` / ``fault_rate`` /
    ``outcome_rate``, ``latency_ms`` as a number or a distribution table, ``fault`` one of
    :data:`FAULT_NAMES` with ``retry_after_s`` for ``"throttle"``, ``outcome``, ``name``).
    ``[simulation]`` and ``[policies]`` are read by :func:`costmodel.load_simulation`.

    Raises:
        InvalidFile: naming the file, the field and the reason.
    """
    return scenario_from_mapping(read_toml(path), FileContext(path))


def scenario_from_mapping(data: Mapping[str, Any], ctx: FileContext) -> Scenario:
    """Build a :class:`Scenario` from parsed TOML (see :func:`load_scenario`)."""
    for key in data:
        if key not in _TOP_LEVEL:
            raise ctx.fail(key, f"unknown table; allowed: {', '.join(_TOP_LEVEL)}")
    head = ctx.table("scenario", data.get("scenario", {}), _SCENARIO_FIELDS)
    if "arrivals" not in data:
        raise ctx.fail("arrivals", "missing: say when calls arrive ([arrivals] kind = ...)")
    if "downstream" not in data:
        raise ctx.fail("downstream", "missing: describe the function called ([downstream])")
    arrivals = _arrivals_from(data["arrivals"], ctx)
    downstream = _downstream_from(data["downstream"], ctx)
    raw_windows = data.get("windows", [])
    if not isinstance(raw_windows, list):
        raise ctx.fail("windows", "must be an array of tables ([[windows]])")
    windows = tuple(
        ctx.build(f"windows[{i}]", Window, **ctx.table(f"windows[{i}]", w, _WINDOW_FIELDS))
        for i, w in enumerate(raw_windows)
    )
    raw_faults = data.get("faults", [])
    if not isinstance(raw_faults, list):
        raise ctx.fail("faults", "must be an array of tables ([[faults]])")
    faults = tuple(_fault_from(f, ctx, f"faults[{i}]") for i, f in enumerate(raw_faults))
    try:
        return ctx.build(
            "",
            Scenario,
            arrivals=arrivals,
            downstream=downstream,
            windows=windows,
            faults=faults,
            **head,
        )
    except InvalidFile as exc:
        if exc.field in _SCENARIO_FIELDS:  # a field of the [scenario] table
            raise ctx.fail(f"scenario.{exc.field}", exc.reason) from exc
        raise


def _arrivals_from(raw: Any, ctx: FileContext) -> ConstantRate | PoissonArrivals | TraceArrivals:
    if not isinstance(raw, Mapping):
        raise ctx.fail("arrivals", f"must be a table, got {raw!r}")
    kind = raw.get("kind")
    if kind not in _ARRIVAL_FIELDS:
        raise ctx.fail("arrivals.kind", f"{kind!r}: must be one of {tuple(_ARRIVAL_FIELDS)}")
    fields = dict(ctx.table("arrivals", raw, _ARRIVAL_FIELDS[kind]))
    fields.pop("kind")
    if kind == "constant":
        return ctx.build("arrivals", ConstantRate, **fields)
    if kind == "poisson":
        return ctx.build("arrivals", PoissonArrivals, **fields)
    log_path = fields.get("path")
    if not isinstance(log_path, str):
        raise ctx.fail("arrivals.path", "missing: the log file whose timestamps to replay")
    from ..logs.reader import read_logs

    resolved = Path(ctx.path).parent / log_path
    frame = read_logs(resolved)
    return ctx.build("arrivals", TraceArrivals.from_logs, frame=frame, column=fields.get("column"))


def _downstream_from(raw: Any, ctx: FileContext) -> Downstream:
    fields = dict(ctx.table("downstream", raw, _DOWNSTREAM_FIELDS))
    if "latency_ms" in fields:
        if "latency" in fields:
            raise ctx.fail("downstream.latency_ms", "give latency or latency_ms, not both")
        fields["latency"] = fields.pop("latency_ms")
    if "latency" not in fields:
        raise ctx.fail("downstream.latency", "missing: a number of ms or a distribution table")
    fields["latency"] = _latency_from(fields["latency"], ctx)
    return ctx.build("downstream", Downstream, **fields)


#: The faults a ``[[faults]]`` table names (``fault = "..."``): ``throttle`` is
#: :class:`resilience.InjectedThrottle` (with ``retry_after_s``), the others are raised
#: as the class with a message.
FAULT_NAMES = (
    "throttle",
    "DownstreamError",
    "DownstreamTimeout",
    "TimeoutError",
    "ConnectionError",
)


def _fault_from(raw: Any, ctx: FileContext, where: str) -> Fault:
    """A :class:`Fault` from a ``[[faults]]`` table (see :func:`load_scenario`)."""
    import resilience

    fields = dict(ctx.table(where, raw, _FAULT_FIELDS))
    window = {key: fields.pop(key) for key in ("start_s", "end_s") if key in fields}
    if "latency_ms" in fields:
        latency = _latency_from(fields.pop("latency_ms"), ctx, f"{where}.latency_ms")
        fields["latency_s"] = latency.seconds()
    retry_after_s = fields.pop("retry_after_s", None)
    if "fault" in fields:
        name = fields["fault"]
        classes: dict[str, type[BaseException]] = {
            "DownstreamError": DownstreamError,
            "DownstreamTimeout": DownstreamTimeout,
            "TimeoutError": TimeoutError,
            "ConnectionError": ConnectionError,
        }
        if name == "throttle":
            fields["fault"] = ctx.build(
                where, resilience.InjectedThrottle, retry_after_s=retry_after_s
            )
        elif name in classes:
            fields["fault"] = classes[name]
        else:
            raise ctx.fail(
                f"{where}.fault", f"{name!r}: unknown fault; known: {', '.join(FAULT_NAMES)}"
            )
    if retry_after_s is not None and not isinstance(
        fields.get("fault"), resilience.InjectedThrottle
    ):
        raise ctx.fail(f"{where}.retry_after_s", 'applies to fault = "throttle" only')
    spec = ctx.build(where, resilience.chaos, **fields)
    return ctx.build(where, Fault, chaos=spec, **window)


def _latency_from(raw: Any, ctx: FileContext, where: str = "downstream.latency") -> Any:
    from ..architectures import distributions

    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return ctx.build(where, distributions.fixed, duration_ms=raw)
    if not isinstance(raw, Mapping):
        raise ctx.fail(where, f"{raw!r}: must be a number of ms or a table with a kind")
    kind = raw.get("kind")
    if kind not in _LATENCY_FIELDS:
        raise ctx.fail(f"{where}.kind", f"{kind!r}: must be one of {tuple(_LATENCY_FIELDS)}")
    fields = dict(ctx.table(where, raw, _LATENCY_FIELDS[kind]))
    fields.pop("kind")
    if kind == "fixed":
        return ctx.build(where, distributions.fixed, **fields)
    if kind == "lognormal":
        return ctx.build(where, distributions.lognormal, **fields)
    if "path" in fields:
        from ..logs.reader import read_logs

        frame = read_logs(Path(ctx.path).parent / str(fields["path"]))
        return ctx.build(where, distributions.empirical, samples=frame)
    if "samples_ms" not in fields:
        raise ctx.fail(where, "an empirical latency needs samples_ms or path")
    return ctx.build(where, distributions.empirical, samples=fields["samples_ms"])
