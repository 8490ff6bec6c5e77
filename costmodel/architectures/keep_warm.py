"""What keeping a function warm costs, and what it does to cold starts: a stated model.

:class:`KeepWarm` describes scheduled warm-up pings (serverless-plugin-warmup's pattern,
:func:`resilience.keep_warm` in process): ``concurrency`` pings every ``every_s`` seconds,
each billed as one invocation of ``ping_ms + hold_ms`` at the function's memory, plus the
scheduler's charge (:data:`SCHEDULERS`) and the warmer function, if one sends the pings.

**The cold-start model** (each line an assumption, not a measurement):

- An instance stays warm for an *idle window* ``W`` after its last call (:data:`IDLE_WINDOW_S`
  per provider, from public measurements; overridable with ``idle_window_s``). AWS says
  nothing about it and may change it at any time.
- Calls arrive as a Poisson process of rate ``λ`` (calls per second of the month); a call
  keeps an instance busy for the function's mean duration ``d``, so ``a = λ·d`` instances
  are busy on average.
- Without pings, a call starts cold when no call came in the ``W`` seconds before it:
  ``P(cold) = exp(-λ·W)`` (one instance at a time: the low-traffic case that matters).
- Pings every ``every_s <= W`` keep ``concurrency = c`` instances warm all the time. A call
  finds one of them free unless all ``c`` are busy: Erlang's loss formula ``B(a, c)`` (a
  loss system with ``c`` servers). A call that finds them busy (a burst above ``c``) starts
  another instance, cold unless traffic kept one warm: ``P(cold) = B(a, c)·exp(-λ·W)``.
  With ``every_s > W`` the pinged instances are cold for a share ``1 - W/every_s`` of the
  time, and so is each ping.
- A measured baseline: where the share of cold starts without pings is known (a
  function's ``cold_start_probability``, e.g. from its logs), it stands for ``exp(-λ·W)``
  and the pings keep the same share of it: ``P(cold) = B(a, c)·p`` (``cold_share(...,
  baseline=p)``). :func:`costmodel.compare` does this for a function with ``keep_warm``.
- Provisioned concurrency ``n`` keeps ``n`` initialized instances: the same ``B(a, n)``
  share of calls spills over to on-demand instances, which start cold with
  ``exp(-λ·W)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

from resilience._validate import Number, number

from ..errors import InvalidUsage
from .distributions import Distribution

__all__ = [
    "IDLE_WINDOW_S",
    "IDLE_WINDOW_SOURCES",
    "MONTH_S",
    "SCHEDULERS",
    "KeepWarm",
    "cold_pings_share",
    "cold_share",
    "erlang_b",
    "idle_window_of",
]

#: Seconds in the month every monthly figure of the model uses (730 hours, as AWS's
#: pricing examples do).
MONTH_S = 730 * 3600.0

#: How long an idle instance stays warm after its last call, seconds, per provider key.
#: Assumptions from public measurements (see :data:`IDLE_WINDOW_SOURCES`); providers
#: without one need ``idle_window_s=``.
IDLE_WINDOW_S: dict[str, float] = {
    "aws-lambda": 600.0,
    "azure-functions-consumption": 1200.0,
}
#: Where each idle window comes from.
IDLE_WINDOW_SOURCES: dict[str, str] = {
    "aws-lambda": (
        "about 10 minutes since July 2019 (before: 25 to 60 minutes): Mikhail Shilkov, "
        "'AWS Lambda Cold Starts After 10 Minutes', mikhail.io, 2019-08 (measured); the same "
        "10-minute keep-alive in Shahrad et al., 'Serverless in the Wild', USENIX ATC 2020. "
        "An implementation detail AWS may change without notice (Yan Cui, "
        "theburningmonk.com, 2017-06)."
    ),
    "azure-functions-consumption": (
        "20 minutes idle before an instance is recycled: Mikhail Shilkov, mikhail.io, 2019; "
        "Shahrad et al., USENIX ATC 2020 (Azure Functions production trace)."
    ),
}


class WarmerFunction(Protocol):
    """What the model needs of a warmer function (a :class:`costmodel.Function`)."""

    @property
    def memory_mb(self) -> float: ...
    @property
    def duration(self) -> Distribution: ...


Scheduler = Literal["eventbridge-scheduler", "eventbridge-rule", "none"]
#: What sends the pings (or starts the warmer function), and its price sheet: None where
#: it is not priced. ``eventbridge-scheduler``: one billed invocation per schedule firing
#: (14M free a month); ``eventbridge-rule``: a legacy scheduled rule, whose price was not
#: verified (left out of the bill and said so); ``none``: a scheduler you already run
#: (cron, a scheduled job) at no extra charge.
SCHEDULERS: dict[str, str | None] = {
    "eventbridge-scheduler": "aws-eventbridge-scheduler",
    "eventbridge-rule": None,
    "none": None,
}

_EVERY = Number(low=0, low_open=True, allowed="a finite number of seconds > 0")
_MS = Number(low=0, allowed="a finite number of ms >= 0")
_COUNT = Number(low=1, integral=True, types=(int,))
_WINDOW = Number(low=0, low_open=True, allowed="a finite number of seconds > 0")


@dataclass(frozen=True, slots=True)
class KeepWarm:
    """Scheduled warm-up pings of one function, as the cost model prices them.

    Args:
        every_s: seconds between rounds (default 300: serverless-plugin-warmup's
            ``rate(5 minutes)``).
        concurrency: pings per round, sent in parallel to keep that many instances warm.
        hold_ms: how long a warm-up-aware handler holds its instance per ping, ms (so
            that parallel pings reach distinct instances); billed.
        ping_ms: the handler's own run on a ping before it returns early, ms; billed.
        scheduler: what fires the rounds, one of :data:`SCHEDULERS`.
        warmer_function: the function that sends the pings, invoked once per round (as
            serverless-plugin-warmup does: 128 MB, its run lasting about as long as the
            pings it waits for); None: the scheduler invokes the function directly, one
            schedule per ping.
        idle_window_s: the idle window to assume, seconds (default: the provider's, see
            :data:`IDLE_WINDOW_S`).

    >>> kw = KeepWarm(every_s=300, concurrency=3)
    >>> kw.rounds_per_month, kw.pings_per_month
    (8760.0, 26280.0)
    """

    every_s: float = 300.0
    concurrency: int = 1
    hold_ms: float = 0.0
    ping_ms: float = 5.0
    scheduler: Scheduler = "eventbridge-scheduler"
    warmer_function: WarmerFunction | None = None
    idle_window_s: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "every_s", number("every_s", self.every_s, _EVERY, error=InvalidUsage))
        number("concurrency", self.concurrency, _COUNT, error=InvalidUsage)
        set_(self, "hold_ms", number("hold_ms", self.hold_ms, _MS, error=InvalidUsage))
        set_(self, "ping_ms", number("ping_ms", self.ping_ms, _MS, error=InvalidUsage))
        if self.scheduler not in SCHEDULERS:
            raise InvalidUsage(
                f"scheduler={self.scheduler!r}: must be one of {', '.join(map(repr, SCHEDULERS))}"
            )
        if self.warmer_function is not None:
            warmer = self.warmer_function
            if not isinstance(getattr(warmer, "duration", None), Distribution) or not hasattr(
                warmer, "memory_mb"
            ):
                raise InvalidUsage(
                    f"warmer_function={self.warmer_function!r}: must be a costmodel.Function "
                    "or None"
                )
        if self.idle_window_s is not None:
            window = number("idle_window_s", self.idle_window_s, _WINDOW, error=InvalidUsage)
            set_(self, "idle_window_s", window)

    @property
    def rounds_per_month(self) -> float:
        """Rounds in a month of :data:`MONTH_S`."""
        return MONTH_S / self.every_s

    @property
    def pings_per_month(self) -> float:
        """Pings (invocations of the function) in a month."""
        return self.rounds_per_month * self.concurrency

    @property
    def ping_billed_ms(self) -> float:
        """What one ping runs, ms (``ping_ms + hold_ms``)."""
        return self.ping_ms + self.hold_ms

    @property
    def scheduler_invocations_per_month(self) -> float:
        """What the scheduler fires: once per round for a warmer function, else once per
        ping (one schedule per parallel ping)."""
        return self.rounds_per_month if self.warmer_function else self.pings_per_month

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> KeepWarm:
        """A KeepWarm from an architecture file's ``keep_warm`` table (its fields; the
        ``warmer_function`` already a :class:`costmodel.Function`)."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise InvalidUsage(
                f"keep_warm: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        return cls(**table)


def idle_window_of(provider: str, keep_warm: KeepWarm | None, idle_window_s: float | None) -> float:
    """The idle window to assume, seconds: ``idle_window_s``, else the KeepWarm's, else the
    provider's (:data:`IDLE_WINDOW_S`).

    Raises:
        InvalidUsage: none given and no public measurement for ``provider``.
    """
    if idle_window_s is not None:
        return number("idle_window_s", idle_window_s, _WINDOW, error=InvalidUsage)
    if keep_warm is not None and keep_warm.idle_window_s is not None:
        return keep_warm.idle_window_s
    if provider in IDLE_WINDOW_S:
        return IDLE_WINDOW_S[provider]
    raise InvalidUsage(
        f"idle_window_s: no public measurement of {provider}'s idle window is known "
        f"(known: {', '.join(IDLE_WINDOW_S)}); give idle_window_s= (seconds)"
    )


def erlang_b(load: float, servers: int) -> float:
    """Erlang's loss formula: the share of Poisson arrivals that find ``servers`` busy.

    Args:
        load: offered load, the mean number of busy servers without a limit (``λ·d``).
        servers: servers (warm instances), >= 0; 0 gives 1.

    >>> round(erlang_b(1.0, 1), 4), round(erlang_b(2.0, 3), 4)
    (0.5, 0.2105)
    """
    blocked = 1.0
    for k in range(1, servers + 1):  # the stable recursion B(k) = a·B(k-1) / (k + a·B(k-1))
        blocked = load * blocked / (k + load * blocked)
    return blocked


def cold_share(
    calls_per_month: float,
    *,
    duration_ms: float,
    idle_window_s: float,
    warm_instances: int = 0,
    every_s: float | None = None,
    baseline: float | None = None,
) -> float:
    """The share of calls that start cold under the stated model (module docstring).

    Args:
        calls_per_month: calls in a month of :data:`MONTH_S`.
        duration_ms: the mean duration of a call, ms.
        idle_window_s: how long an idle instance stays warm, seconds.
        warm_instances: instances kept warm by pings or provisioned (0: none).
        every_s: seconds between pings (None: provisioned, always warm).
        baseline: the share of cold starts without pings, if measured, in [0, 1] (None:
            the model's ``exp(-λ·W)``); the pings keep the same share of it.

    >>> round(cold_share(8760, duration_ms=100, idle_window_s=600), 4)  # one call in 5 min
    0.1353
    >>> cold_share(8760, duration_ms=100, idle_window_s=600, warm_instances=1, every_s=300) < 1e-4
    True
    >>> round(cold_share(8760, duration_ms=100, idle_window_s=600, warm_instances=1,
    ...                  every_s=1200, baseline=0.3), 4)  # pings half the window: half cold
    0.15
    """
    rate = calls_per_month / MONTH_S
    unwarmed = math.exp(-rate * idle_window_s) if baseline is None else baseline
    if warm_instances == 0:
        return unwarmed
    covered = 1.0 if every_s is None else min(1.0, idle_window_s / every_s)
    busy = erlang_b(rate * duration_ms / 1000.0, warm_instances)
    return covered * busy * unwarmed + (1.0 - covered) * unwarmed


def cold_pings_share(keep_warm: KeepWarm, *, idle_window_s: float, unwarmed: float) -> float:
    """The share of pings that find their instance cold: none while ``every_s`` is within
    the idle window, else ``unwarmed`` (the share of calls cold without pings).

    >>> cold_pings_share(KeepWarm(every_s=300), idle_window_s=600, unwarmed=0.4)
    0.0
    >>> cold_pings_share(KeepWarm(every_s=900), idle_window_s=600, unwarmed=0.4)
    0.4
    """
    return 0.0 if keep_warm.every_s <= idle_window_s else unwarmed
