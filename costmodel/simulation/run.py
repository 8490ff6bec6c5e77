"""Simulate: run a real resilience Policy through an outage in virtual time, then bill it.

The code a user ships is the code we bill. :func:`simulate` builds the user's
:class:`resilience.Policy` on a virtual clock, decorates a simulated downstream
function with it, and turns every arrival of a :class:`~costmodel.Scenario` into a
concurrent task on a :class:`~resilience.virtual_time.VirtualTimeLoop`. Breakers open and
half-open, retries back off, timeouts fire, bulkheads fill and caches single-flight
exactly as in production, because they *are* the production code; only the clock and
the downstream are simulated. An hour of traffic runs in seconds.

Then it bills what happened on a provider from the catalog:

- the **caller** (a function calling the downstream synchronously) is billed for
  its own work plus the whole time it waited: every attempt, every backoff sleep,
  nothing for an answer served by the cache or by a fallback after an open breaker;
- the **callee** is billed for each execution that actually started, for as long as
  it ran on the platform: a call the caller abandoned on its timeout (or a hedge loser
  it cancelled) keeps running (and billing) until it ends or hits the callee's own
  platform timeout (``loser_billing="run_to_completion"``, the default); with
  ``loser_billing="until_cancel"`` (an assumption you opt into, where a closed
  connection ends billing) it stops at the cancellation.

Both bills are made by :func:`costmodel.bill_ledger`, the same code that bills a
production ledger (the callee's rows are the executions the platform ran, which the
caller's ledger cannot fully see).

A policy is given as a factory ``factory(sim) -> Policy`` that builds its parts with
``clock=sim.clock`` (the virtual clock) and gives the Policy ``ledger=sim.ledger``;
``sim.rng`` seeds the retry jitter so runs are reproducible. A ready-made Policy is
accepted too when its parts were built with ``clock=VirtualClock()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import logging
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resilience import Ledger, Policy
from resilience._validate import Number, number
from resilience.virtual_time import VirtualClock, VirtualTimeLoop

from ..billing.engine import Bill
from ..billing.ledger import bill_ledger
from ..errors import InvalidUsage, UnknownProvider
from .engine import Engine
from .scenario import Scenario

if TYPE_CHECKING:
    from resilience.clock import Clock

__all__ = [
    "PolicyFactory",
    "SimulationContext",
    "SimulationFile",
    "SimulationResult",
    "compare_policies",
    "load_simulation",
    "simulate",
    "summarize",
]

OUTCOME_COLUMNS = ("ok", "error", "timeout", "rejected", "fallback", "cache_hit")
BREAKER_STATES = ("closed", "half-open", "open")
#: Outcomes of attempts a limiter refused (our rate limiter, a full bulkhead); an open
#: breaker's are ``rejected``.
LIMITER_OUTCOMES = ("rate_limited", "bulkhead_full")
#: How the ledger's finer call outcomes fold into :data:`OUTCOME_COLUMNS`: a call refused
#: by a limiter (no fallback) is ``rejected``, like one an open breaker refused (the
#: ``breaker_rejections`` and ``limiter_rejections`` counts tell them apart); a cancelled
#: call is an ``error``.
CALL_OUTCOME = {"rate_limited": "rejected", "bulkhead_full": "rejected", "cancelled": "error"}


@dataclass(frozen=True, slots=True)
class SimulationContext:
    """What a policy factory gets to build a Policy for one simulation.

    Attributes:
        clock: the virtual clock: give it as ``clock=`` to every time-aware part.
        ledger: give it as the Policy's ``ledger=``; the simulation reads it.
        rng: a seeded ``random.Random`` for the retry jitter (``retry(rng=...)``).
        seed: the simulation's seed.
    """

    clock: Clock
    ledger: Ledger
    rng: random.Random
    seed: int


PolicyFactory = Callable[[SimulationContext], Policy]
"""Builds a fresh Policy for one simulation run."""


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What happened when one policy met one scenario.

    Attributes:
        name: the policy's name.
        scenario: the scenario run.
        seed: its seed.
        provider: the provider the bills are on.
        ledger: the Policy's ledger as a frame (one row per call and per attempt).
        calls: one row per call: ``start_s``, ``duration_ms`` (what the caller
            waited), ``billed_ms`` (that plus the caller's own work, rounded up by the
            provider's rules as the bill rounds it), ``outcome`` (ledger outcome),
            ``error_type`` (what the caller got raised, or missing), ``cost`` (the
            call's share of the caller's bill: its request plus its billed ms).
        executions: one row per callee execution: ``start_s``, ``duration_ms`` (how
            long it ran: until it ended or hit the callee's platform timeout),
            ``billed_ms`` (rounded as billed), ``failed``, ``cost`` (its share of the
            callee's bill).
        timeline: one row per simulated second (see :meth:`timeline_columns`).
        caller_bill: the caller's bill (:class:`costmodel.Bill`).
        callee_bill: the callee's bill.
        throttled_s: when each invocation refused by the callee's concurrency limit
            was attempted, seconds (not run, not billed).
    """

    name: str
    scenario: Scenario
    seed: int
    provider: str
    ledger: pd.DataFrame = field(repr=False)
    calls: pd.DataFrame = field(repr=False)
    executions: pd.DataFrame = field(repr=False)
    timeline: pd.DataFrame = field(repr=False)
    caller_bill: Bill = field(repr=False)
    callee_bill: Bill = field(repr=False)
    throttled_s: np.ndarray[Any, Any] = field(
        default_factory=lambda: np.zeros(0), repr=False, compare=False
    )

    @staticmethod
    def timeline_columns() -> tuple[str, ...]:
        """Columns of :attr:`timeline`.

        ``second`` (start of the second), ``requests`` (calls that arrived),
        one count per call outcome (``ok``, ``error``, ``timeout``, ``rejected``,
        ``fallback``, ``cache_hit``, by the second the call arrived), ``errors_seen``
        (calls that raised to the caller), ``callee_calls`` (executions started),
        ``breaker_state`` (``closed``/``half-open``/``open`` at the start of the
        second, missing without a breaker), ``in_flight`` (calls in progress at the
        start of the second), ``executions_running`` (callee executions running on
        the platform then, abandoned ones included), ``throttled`` (invocations the
        callee's concurrency limit refused), ``caller_cost`` and ``callee_cost`` (the
        bills, in their currency, spread over the seconds the billed calls started in).
        """
        return (
            "second",
            "requests",
            *OUTCOME_COLUMNS,
            "errors_seen",
            "callee_calls",
            "breaker_state",
            "in_flight",
            "executions_running",
            "throttled",
            "caller_cost",
            "callee_cost",
        )

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary in money, counts and durations."""
        from ..tables import simulation_html

        return simulation_html(self)

    @property
    def total_cost(self) -> float:
        """Caller plus callee, in the bills' currency."""
        return float(self.caller_bill.total + self.callee_bill.total)

    def _window(
        self, start_s: float | None, end_s: float | None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The calls and the executions that started in [start_s, end_s)."""
        if start_s is None and end_s is None:
            return self.calls, self.executions
        low, high = self._span(start_s, end_s)

        def inside(frame: pd.DataFrame) -> pd.DataFrame:
            starts = frame["start_s"]
            return frame[(starts >= low) & (starts < high)]

        return inside(self.calls), inside(self.executions)

    @staticmethod
    def _span(start_s: float | None, end_s: float | None) -> tuple[float, float]:
        """``(start_s, end_s)`` checked, open ends as infinities."""
        for label, value in (("start_s", start_s), ("end_s", end_s)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if value is not None and not (ok and not math.isnan(value)):
                raise InvalidUsage(f"{label}={value!r}: must be a number of seconds or None")
        low = -np.inf if start_s is None else float(start_s)
        high = np.inf if end_s is None else float(end_s)
        if not low < high:
            raise InvalidUsage(f"start_s={start_s!r}, end_s={end_s!r}: start must be before end")
        return low, high

    def latency_ms(
        self, *, start_s: float | None = None, end_s: float | None = None
    ) -> dict[str, float]:
        """Latency seen by the caller, ms: ``mean``, ``p50``, ``p95``, ``p99``, ``max``.

        The latency is what the caller waited for the downstream through the Policy
        (its own work, ``caller_work_ms``, excluded). With ``start_s``/``end_s``: only
        the calls that arrived in that span (seconds).
        """
        calls, _ = self._window(start_s, end_s)
        values = calls["duration_ms"].to_numpy()
        if values.size == 0:
            return dict.fromkeys(("mean", "p50", "p95", "p99", "max"), 0.0)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {
            "mean": float(values.mean()),
            "p50": float(p50),
            "p95": float(p95),
            "p99": float(p99),
            "max": float(values.max()),
        }

    def _rejected_attempts(self, start_s: float | None, end_s: float | None) -> tuple[int, int]:
        """Attempts the breaker rejected, and those a limiter (bulkhead, rate limiter)
        rejected, among the attempts that started in [start_s, end_s)."""
        rows = self.ledger
        if rows.empty:
            return 0, 0
        attempts = rows[rows["kind"] == "attempt"]
        if start_s is not None or end_s is not None:
            low, high = self._span(start_s, end_s)
            attempts = attempts[(attempts["start_s"] >= low) & (attempts["start_s"] < high)]
        outcome = attempts["outcome"].astype("string")
        breaker = outcome == "rejected"
        limiter = outcome.isin(LIMITER_OUTCOMES)
        return int(breaker.sum()), int(limiter.sum())

    def summary(
        self, *, start_s: float | None = None, end_s: float | None = None
    ) -> dict[str, Any]:
        """One row for :func:`compare_policies` (see its columns).

        With ``start_s``/``end_s`` (seconds), the row covers only the calls that
        arrived, and the executions that started, in that span (an outage window, say):
        their share of each bill (requests per invocation, compute per billed ms, each
        invocation rounded as the provider bills it) and of its GB-s: what billing
        those invocations alone costs.
        """
        calls, executions = self._window(start_s, end_s)
        whole = start_s is None and end_s is None
        outcomes = calls["outcome"].replace(CALL_OUTCOME).value_counts()
        latency = self.latency_ms(start_s=start_s, end_s=end_s)
        count = len(calls)

        def part(frame: pd.DataFrame, full: pd.DataFrame, bill: Bill) -> tuple[float, float]:
            gb_s = float(bill.usage.get("gb_seconds", 0.0))
            if whole:
                return float(bill.total), gb_s
            total_ms = float(full["billed_ms"].sum())
            share = float(frame["billed_ms"].sum()) / total_ms if total_ms > 0 else 0.0
            return float(frame["cost"].sum()), gb_s * share

        throttles = self.throttled_s
        if not whole:
            low, high = self._span(start_s, end_s)
            throttles = throttles[(throttles >= low) & (throttles < high)]
        throttled = int(throttles.size)
        breaker_rejections, limiter_rejections = self._rejected_attempts(start_s, end_s)
        caller_cost, caller_gb_s = part(calls, self.calls, self.caller_bill)
        callee_cost, callee_gb_s = part(executions, self.executions, self.callee_bill)
        total = caller_cost + callee_cost
        return {
            "policy": self.name,
            "calls": count,
            "caller_cost": caller_cost,
            "callee_cost": callee_cost,
            "total_cost": total,
            "cost_per_million": total / count * 1e6 if count else 0.0,
            "currency": self.caller_bill.currency,
            "caller_gb_s": caller_gb_s,
            "callee_gb_s": callee_gb_s,
            "callee_calls": len(executions),
            "ok": int(outcomes.get("ok", 0)),
            "errors": int(outcomes.get("error", 0)),
            "timeouts": int(outcomes.get("timeout", 0)),
            "rejected": int(outcomes.get("rejected", 0)),
            "fallbacks": int(outcomes.get("fallback", 0)),
            "cache_hits": int(outcomes.get("cache_hit", 0)),
            "breaker_rejections": breaker_rejections,
            "limiter_rejections": limiter_rejections,
            "throttled": throttled,
            "caller_timeouts": int((calls["error_type"] == "CallerTimeout").sum()),
            "errors_seen": int(calls["error_type"].notna().sum()),
            "latency_mean_ms": latency["mean"],
            "latency_p50_ms": latency["p50"],
            "latency_p99_ms": latency["p99"],
            **self._injected(start_s, end_s),
        }

    def _injected(self, start_s: float | None, end_s: float | None) -> dict[str, int]:
        """Attempts a chaos layer (a scenario fault, the Policy's chaos) injected into, by
        kind, among the attempts that started in [start_s, end_s)."""
        rows = self.ledger
        counts = dict.fromkeys(("injected_latency", "injected_faults", "injected_outcomes"), 0)
        if rows.empty or "injected" not in rows.columns:
            return counts
        attempts = rows[rows["kind"] == "attempt"]
        if start_s is not None or end_s is not None:
            low, high = self._span(start_s, end_s)
            attempts = attempts[(attempts["start_s"] >= low) & (attempts["start_s"] < high)]
        marks = attempts["injected"].astype("string").value_counts()
        for kind, column in (
            ("latency", "injected_latency"),
            ("fault", "injected_faults"),
            ("outcome", "injected_outcomes"),
        ):
            counts[column] = int(marks.get(kind, 0))
        return counts


def simulate(
    policy: Policy | PolicyFactory,
    scenario: Scenario,
    *,
    provider: str = "aws-lambda",
    caller_memory_mb: float = 512.0,
    callee_memory_mb: float = 1024.0,
    seed: int = 0,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    quiet: bool = True,
    options: Mapping[str, Any] | None = None,
    caller_options: Mapping[str, Any] | None = None,
    region: str | None = None,
    loser_billing: str = "run_to_completion",
) -> SimulationResult:
    """Run a Policy through a scenario in virtual time and bill caller and callee.

    Args:
        policy: a factory ``factory(sim: SimulationContext) -> resilience.Policy``
            (preferred: each run starts from a fresh breaker and an empty cache), or a
            Policy whose time-aware parts use ``clock=VirtualClock()``.
        scenario: traffic and downstream behaviour.
        provider: function platform key for both bills (``"aws-lambda"``,
            ``"alibaba-fc3"``, ``"gcp-functions-gen1"`` ...; ``costmodel.providers()``).
        caller_memory_mb: memory of the calling function, MB.
        callee_memory_mb: memory of the called function, MB.
        seed: seeds the arrivals, the keys, the downstream draws and ``sim.rng``
            (an integer >= 0).
        name: a label for the result (default: the Policy's name).
        progress: called each simulated second as ``progress(calls_started, calls)``.
        quiet: silence the ``resilience`` loggers below ERROR during the run (a
            breaker logs a warning on every trip, and an outage trips it often).
        options: provider options for both bills (``{"vcpu": 0.5}`` on alibaba-fc3,
            ``{"arch": "arm64"}`` on aws-lambda; ``costmodel.accepted_options``).
        caller_options: provider options for the caller's bill only, over ``options``.
        region: the provider's region (default: its sheet's own).
        loser_billing: how the callee bills an execution the caller cancelled (a hedge
            loser, an attempt abandoned on a timeout): ``"run_to_completion"`` (default,
            every provider: AWS Lambda and Alibaba FC run it to its end) or
            ``"until_cancel"`` (an assumption: a closed connection ends billing).

    Returns:
        A :class:`SimulationResult`.

    Raises:
        InvalidUsage: ``policy`` is neither a Policy nor a factory returning one,
            the scenario, the seed, a memory size or a provider option is invalid, or
            the provider is not a function platform; all checked before running.
        UnknownProvider: unknown provider key (before running).

    Example:
        >>> from resilience import Policy
        >>> from costmodel import ConstantRate, Downstream, Scenario
        >>> s = Scenario(arrivals=ConstantRate(rate_per_s=10, duration_s=60),
        ...              downstream=Downstream(latency=100.0))
        >>> bare = lambda sim: Policy(name="bare", ledger=sim.ledger, clock=sim.clock)
        >>> result = simulate(bare, s)
        >>> result.summary()["callee_calls"], round(result.latency_ms()["p99"])
        (600, 100)
    """
    if not isinstance(scenario, Scenario):
        raise InvalidUsage(f"scenario={scenario!r}: must be a costmodel.Scenario")
    billing = _billing(
        provider=provider,
        caller_memory_mb=caller_memory_mb,
        callee_memory_mb=callee_memory_mb,
        seed=seed,
        options=options,
        caller_options=caller_options,
        region=region,
        loser_billing=loser_billing,
    )
    _check_policy_argument(policy)

    def run() -> SimulationResult:
        loop = VirtualTimeLoop()
        try:
            return loop.run_until_complete(
                _run(
                    policy,
                    scenario,
                    loop=loop,
                    billing=billing,
                    seed=seed,
                    name=name,
                    progress=progress,
                )
            )
        finally:
            _close(loop)

    resilience_logger = logging.getLogger("resilience")
    level = resilience_logger.level
    if quiet:
        resilience_logger.setLevel(logging.ERROR)
    try:
        return _outside_any_running_loop(run)
    finally:
        resilience_logger.setLevel(level)


@dataclass(frozen=True, slots=True)
class _Billing:
    """Checked billing settings of one simulation."""

    provider: str
    caller_memory_mb: float
    callee_memory_mb: float
    options: Mapping[str, Any]
    caller_options: Mapping[str, Any]
    region: str | None = None
    loser_billing: str = "run_to_completion"


def _settings(
    *,
    provider: object,
    caller_memory_mb: object,
    callee_memory_mb: object,
    seed: object,
    options: Mapping[str, Any] | None,
    caller_options: Mapping[str, Any] | None,
    region: str | None = None,
    loser_billing: object = "run_to_completion",
) -> _Billing:
    """Check the seed and the billing settings before anything runs.

    The provider must be a function platform of the catalog, and both bills are
    priced once with no invocation: a missing or refused option (``vcpu`` on
    alibaba-fc3) or memory size fails now, not after the whole run.
    """
    _check_seed(seed)
    platform = _platform(provider)
    _check_region(platform, region)
    caller_mb = _memory_mb("caller_memory_mb", caller_memory_mb)
    callee_mb = _memory_mb("callee_memory_mb", callee_memory_mb)
    for label, given in (("options", options), ("caller_options", caller_options)):
        if given is not None and not isinstance(given, Mapping):
            raise _SettingError(label, f"{label}={given!r}: must be a mapping of provider options")
    if loser_billing not in _LOSER_BILLING:
        raise _SettingError(
            "loser_billing",
            f"loser_billing={loser_billing!r}: must be one of "
            f"{', '.join(map(repr, _LOSER_BILLING))}",
        )
    billing = _Billing(
        provider=platform,
        caller_memory_mb=caller_mb,
        callee_memory_mb=callee_mb,
        options=MappingProxyType(dict(options or {})),
        caller_options=MappingProxyType(dict(caller_options or {})),
        region=region,
        loser_billing=str(loser_billing),
    )
    _price_nothing(billing, caller_options_given=bool(caller_options))
    return billing


_SEED = Number(low=0, integral=True, types=(int, np.integer))
_LOSER_BILLING = ("run_to_completion", "until_cancel")
_MEMORY_MB = Number(low=0, low_open=True, finite=False, allowed="a number of MB > 0")


def _check_seed(seed: object) -> None:
    """``seed`` must be an integer >= 0 (numpy's too)."""
    number("seed", seed, _SEED, error=functools.partial(_SettingError, "seed"))


def _platform(provider: object) -> str:
    """``provider``, if it is the key of a function platform of the catalog (UnknownProvider,
    raised as it is, when the catalog has no such key)."""
    from ..architectures.comparison import _check_provider

    if not isinstance(provider, str):
        raise _SettingError("provider", f"provider={provider!r}: must be a function platform key")
    try:
        _check_provider(provider)
    except InvalidUsage as exc:
        raise _SettingError("provider", str(exc)) from None
    return provider


def _check_region(platform: str, region: object) -> None:
    """``region`` None or one the platform's sheet has prices for (the error lists them)."""
    if region is None:
        return
    from ..catalog.sheets import price_sheet

    if not isinstance(region, str):
        raise _SettingError("region", f"region={region!r}: must be a region code or None")
    try:
        price_sheet(platform, region=region)
    except InvalidUsage as exc:
        raise _SettingError("region", str(exc)) from None


def _memory_mb(label: str, value: object) -> float:
    """``value`` as MB, if it is a number > 0."""
    return number(label, value, _MEMORY_MB, error=functools.partial(_SettingError, label))


def _price_nothing(billing: _Billing, *, caller_options_given: bool) -> None:
    """Price both bills once with no invocation, so that a missing or refused option
    (``vcpu`` on alibaba-fc3) or memory size fails before the run, naming its setting."""
    empty = pd.DataFrame({"start_s": [], "duration_ms": [], "billed_ms": [], "outcome": []})
    try:
        _bills(empty, empty.assign(failed=[]), billing=billing, caller_work_ms=0.0)
    except InvalidUsage as exc:
        message = str(exc)
        where = next(
            (m for m in ("caller_memory_mb", "callee_memory_mb") if message.startswith(m)),
            "caller_options"
            if message.startswith("caller bill") and caller_options_given
            else "options",
        )
        hint = ""
        if "is required" in message:
            hint = "; give it in options (e.g. options={'vcpu': 0.5}, or -o vcpu=0.5)"
        raise _SettingError(
            where, f"provider={billing.provider!r}, {where}: {message}{hint}"
        ) from None


def _billing(**settings: Any) -> _Billing:
    """:func:`_settings`, raising a plain InvalidUsage (the field is for files only)."""
    try:
        return _settings(**settings)
    except _SettingError as exc:
        raise InvalidUsage(str(exc)) from None


class _SettingError(InvalidUsage):
    """A bad simulation setting, knowing its field (for file errors)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check_policy_argument(policy: object) -> None:
    """A Policy, or a factory taking one argument (not the Policy class itself)."""
    if isinstance(policy, Policy):
        return
    if isinstance(policy, type) or not callable(policy):
        extra = " (a class was given: give an instance or a factory)"
        raise InvalidUsage(
            f"policy={policy!r}: must be a resilience.Policy or a factory "
            "(sim -> Policy) that builds one" + (extra if isinstance(policy, type) else "")
        )
    try:
        inspect.signature(policy).bind(None)
    except TypeError as exc:
        raise InvalidUsage(
            f"policy={policy!r}: a factory is called with one argument (sim: the "
            f"SimulationContext) and must return a resilience.Policy; its signature "
            f"does not accept that ({exc})"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): let the call tell
        pass


def _outside_any_running_loop(body: Callable[[], SimulationResult]) -> SimulationResult:
    """Run ``body`` here, or in a worker thread when this thread already runs an event
    loop (Jupyter, an async application): a thread runs one loop at a time."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:
        return body()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="callwise-sim") as pool:
        return pool.submit(contextvars.copy_context().run, body).result()


def _close(loop: VirtualTimeLoop) -> None:
    """Cancel what the policy left running (e.g. a background refresh), then close."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


async def _run(
    policy_or_factory: Policy | PolicyFactory,
    scenario: Scenario,
    *,
    loop: VirtualTimeLoop,
    billing: _Billing,
    seed: int,
    name: str | None,
    progress: Callable[[int, int], None] | None,
) -> SimulationResult:
    if isinstance(policy_or_factory, Policy):
        policy = policy_or_factory
    else:
        sim = SimulationContext(
            clock=loop.clock, ledger=Ledger(), rng=random.Random(seed), seed=seed
        )
        built = policy_or_factory(sim)
        if not isinstance(built, Policy):
            raise InvalidUsage(
                f"policy: the factory returned {built!r}; it must return a resilience.Policy"
            )
        policy = built
    _check_clocks(policy, loop)
    ledger = _ledger_of(policy)
    if ledger is None:
        raise InvalidUsage(
            "policy: the Policy has no ledger; build it with ledger=sim.ledger so the "
            "simulation can see each call's outcome"
        )
    count_hint: list[int] = []
    engine = Engine(
        scenario,
        seed=seed,
        state_of=_breaker_probe(policy),
        loser_billing=billing.loser_billing,
        progress=(
            None
            if progress is None
            else lambda started: progress(started, count_hint[0] if count_hint else started)
        ),
    )
    count_hint.append(len(engine.arrivals_s))
    guarded = policy(_with_faults(engine.downstream, scenario, loop.clock, seed))
    with _tap(ledger, engine):
        await engine.run(guarded)
    return _result(
        engine,
        ledger,
        name=name or _policy_name(policy),
        scenario=scenario,
        seed=seed,
        billing=billing,
    )


def _with_faults(
    downstream: Callable[[int], Any], scenario: Scenario, clock: Clock, seed: int
) -> Callable[[int], Any]:
    """The downstream behind the scenario's faults (the first outermost), each a chaos
    layer on the virtual clock, on during its window, seeded by ``seed``: innermost,
    below every part of the user's Policy."""
    for index in reversed(range(len(scenario.faults))):
        fault = scenario.faults[index]
        spec = fault.bind(clock=clock, seed=seed, index=index)
        downstream = spec.decorate(downstream, is_async=True, label=f"faults[{index}]")
    return downstream


@contextlib.contextmanager
def _tap(ledger: Ledger, engine: Engine) -> Iterator[None]:
    """While the run lasts, give each ledger call row to the call that wrote it.

    The Policy writes a call's row from inside that call's task, where the engine has
    set the call's index in a context variable: rows are matched to calls by identity
    (arrival times may tie, e.g. a trace with 1 s timestamps).
    """
    record = ledger.record
    note = engine.note_call_row

    def tapped(
        *,
        function: str,
        kind: Any,
        start_s: float,
        duration_s: float,
        outcome: str,
        attempt: int = 0,
        error_type: str | None = None,
        request_bytes: int | None = None,
        response_bytes: int | None = None,
        hedge: int | None = None,
        hedge_result: str | None = None,
        injected: str | None = None,
    ) -> None:
        record(
            function=function,
            kind=kind,
            start_s=start_s,
            duration_s=duration_s,
            outcome=outcome,
            attempt=attempt,
            error_type=error_type,
            request_bytes=request_bytes,
            response_bytes=response_bytes,
            hedge=hedge,
            hedge_result=hedge_result,
            injected=injected,
        )
        if kind == "call":
            note(str(outcome))

    setattr(ledger, "record", tapped)  # noqa: B010 - an instance attribute, removed below
    try:
        yield
    finally:
        del ledger.record


def _check_clocks(policy: Policy, loop: VirtualTimeLoop) -> None:
    """Every time-aware part must read the virtual clock of this very loop."""
    for part in ("policy", "breaker", "retry", "hedge", "cache", "rate_limit", "bulkhead", "chaos"):
        owner = policy if part == "policy" else getattr(policy, part, None)
        clock = getattr(owner, "clock", None)
        if owner is None or clock is None:
            continue
        where = "policy" if part == "policy" else f"policy.{part}"
        if not isinstance(clock, VirtualClock):
            raise InvalidUsage(
                f"{where}: runs on {clock!r}; in a simulation build it with "
                "clock=sim.clock (or clock=costmodel.VirtualClock())"
            )
        if clock.bound_loop not in (None, loop):
            raise InvalidUsage(
                f"{where}: its clock belongs to another simulation; build the policy "
                "afresh for each run (give simulate a factory)"
            )


def _ledger_of(policy: Policy) -> Ledger | None:
    ledger = getattr(policy, "ledger", None)
    return ledger if isinstance(ledger, Ledger) else None


def _policy_name(policy: Policy) -> str:
    return str(getattr(policy, "name", None) or "policy")


def _breaker_probe(policy: Policy) -> Callable[[], str | None]:
    breaker = getattr(policy, "breaker", None)
    if breaker is None:
        return lambda: None

    def state() -> str | None:
        value = breaker.current_state
        return str(value).replace("_", "-").lower()

    return state


def _result(
    engine: Engine,
    ledger: Ledger,
    *,
    name: str,
    scenario: Scenario,
    seed: int,
    billing: _Billing,
) -> SimulationResult:
    frame = ledger.to_frame()
    count = len(engine.call_start_s)
    rows = np.asarray(engine.call_rows, dtype=np.int64)
    if count and not (rows == 1).all():
        wrong = int(np.flatnonzero(rows != 1)[0])
        raise InvalidUsage(
            f"policy: call {wrong} wrote {rows[wrong]} call rows to the Policy's ledger, "
            "not 1; give the simulated function one Policy, with a ledger of its own "
            "(sim.ledger)"
        )
    outcome = np.asarray(engine.call_outcome, dtype=object)
    starts = np.asarray(engine.call_start_s, dtype=np.float64)
    duration_ms = np.asarray(engine.call_duration_s) * 1000.0
    calls = pd.DataFrame(
        {
            "start_s": starts,
            "duration_ms": duration_ms,
            "billed_ms": _billed_ms(billing, duration_ms + scenario.caller_work_ms),
            "outcome": pd.Series(outcome, dtype="string"),
            "error_type": pd.Series(engine.call_raised, dtype="string"),
        }
    )
    ran_ms = np.asarray(engine.exec_billed_ms, dtype=np.float64)
    executions = pd.DataFrame(
        {
            "start_s": np.asarray(engine.exec_start_s, dtype=np.float64),
            "duration_ms": ran_ms,
            "billed_ms": _billed_ms(billing, ran_ms),
            "failed": np.asarray(engine.exec_failed, dtype=bool),
        }
    )
    caller_bill, callee_bill = _bills(
        calls, executions, billing=billing, caller_work_ms=scenario.caller_work_ms
    )
    calls["cost"] = _spread(caller_bill, calls["billed_ms"].to_numpy())
    executions["cost"] = _spread(callee_bill, executions["billed_ms"].to_numpy())
    timeline = _timeline(engine, calls, executions)
    return SimulationResult(
        name=name,
        scenario=scenario,
        seed=seed,
        provider=billing.provider,
        ledger=frame,
        calls=calls,
        executions=executions,
        timeline=timeline,
        caller_bill=caller_bill,
        callee_bill=callee_bill,
        throttled_s=np.asarray(engine.throttled_s, dtype=np.float64),
    )


def _bills(
    calls: pd.DataFrame,
    executions: pd.DataFrame,
    *,
    billing: _Billing,
    caller_work_ms: float,
) -> tuple[Bill, Bill]:
    """The caller's and the callee's bills, by :func:`costmodel.bill_ledger`.

    The callee rows are the platform executions the simulation observed, not the
    ledger's attempt rows: an attempt the caller abandoned at its timeout keeps running
    (and billing) on the platform, which the caller's ledger cannot see. So the frame
    billed is the calls as the ledger has them plus one ``attempt`` row per execution,
    on how long it ran (bill_ledger rounds each invocation by the provider's rules).
    """
    frame = pd.DataFrame(
        {
            "kind": ["call"] * len(calls) + ["attempt"] * len(executions),
            "start_s": np.concatenate(
                [calls["start_s"].to_numpy(), executions["start_s"].to_numpy()]
            ),
            "duration_ms": np.concatenate(
                [calls["duration_ms"].to_numpy(), executions["duration_ms"].to_numpy()]
            ),
            "outcome": np.concatenate(
                [
                    calls["outcome"].to_numpy(dtype=object),
                    np.where(executions["failed"].to_numpy(dtype=bool), "error", "ok"),
                ]
            ),
            "attempt": np.concatenate(
                [np.zeros(len(calls), dtype=np.int64), np.ones(len(executions), dtype=np.int64)]
            ),
        }
    )
    bill = bill_ledger(
        frame,
        provider=billing.provider,
        region=billing.region,
        caller_memory_mb=billing.caller_memory_mb,
        callee_memory_mb=billing.callee_memory_mb,
        caller_work_ms=caller_work_ms,
        caller_options=billing.caller_options,
        **billing.options,
    )
    assert bill.caller_bill is not None
    return bill.caller_bill, bill.callee_bill


def _billed_ms(billing: _Billing, durations_ms: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Each invocation's billed duration, rounded by the provider's rules (as billed)."""
    from ..billing.quantities import _billed_durations_ms

    if durations_ms.size == 0:
        return durations_ms.astype(np.float64)
    rounded: np.ndarray[Any, Any] = _billed_durations_ms(billing.provider, durations_ms)
    return rounded


def _spread(bill: Bill, billed_ms: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Each invocation's share of a bill: requests per invocation, the rest per billed
    (rounded) ms: every other meter of a function platform is linear in billed time."""
    if billed_ms.size == 0:
        return billed_ms.astype(np.float64)
    lines = bill.lines
    request_cost = float(lines.loc[lines["component"] == "requests", "cost"].sum())
    other = float(bill.total) - request_cost
    total_ms = float(billed_ms.sum())
    share = billed_ms / total_ms * other if total_ms > 0 else np.zeros_like(billed_ms)
    return share + request_cost / billed_ms.size


def _timeline(engine: Engine, calls: pd.DataFrame, executions: pd.DataFrame) -> pd.DataFrame:
    seconds = max(int(np.ceil(engine.scenario.duration_s)), len(engine.tick_s) - 1, 1)
    index = pd.RangeIndex(seconds, name="second")

    def per_second(start_s: pd.Series | np.ndarray[Any, Any], weights: Any = None) -> Any:
        bins = np.minimum(np.asarray(start_s, dtype=np.float64).astype(np.int64), seconds - 1)
        return np.bincount(bins, weights=weights, minlength=seconds)[:seconds]

    frame = pd.DataFrame(index=index)
    frame["requests"] = per_second(calls["start_s"]).astype(np.int64)
    folded = calls["outcome"].replace(CALL_OUTCOME)
    for outcome in OUTCOME_COLUMNS:
        mask = (folded == outcome).to_numpy(dtype=bool)
        frame[outcome] = per_second(calls["start_s"][mask]).astype(np.int64)
    raised = calls["error_type"].notna().to_numpy(dtype=bool)
    frame["errors_seen"] = per_second(calls["start_s"][raised]).astype(np.int64)
    frame["callee_calls"] = per_second(executions["start_s"]).astype(np.int64)
    ticks = pd.DataFrame(
        {
            "state": engine.tick_state,
            "in_flight": engine.tick_in_flight,
            "running": engine.tick_running,
        },
        index=np.asarray(engine.tick_s, dtype=np.float64).astype(np.int64),
    )
    ticks = ticks[~ticks.index.duplicated(keep="first")].reindex(index)
    frame["breaker_state"] = pd.Series(ticks["state"].to_numpy(), index=index, dtype="string")
    frame["in_flight"] = ticks["in_flight"].fillna(0).astype(np.int64).to_numpy()
    frame["executions_running"] = ticks["running"].fillna(0).astype(np.int64).to_numpy()
    frame["throttled"] = per_second(np.asarray(engine.throttled_s)).astype(np.int64)
    frame["caller_cost"] = per_second(calls["start_s"], calls["cost"].to_numpy())
    frame["callee_cost"] = per_second(executions["start_s"], executions["cost"].to_numpy())
    return frame.reset_index()


def compare_policies(
    policies: Mapping[str, Policy | PolicyFactory],
    scenario: Scenario,
    *,
    provider: str = "aws-lambda",
    caller_memory_mb: float = 512.0,
    callee_memory_mb: float = 1024.0,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
    results: dict[str, SimulationResult] | None = None,
    window: tuple[float, float] | None = None,
    options: Mapping[str, Any] | None = None,
    caller_options: Mapping[str, Any] | None = None,
    region: str | None = None,
    loser_billing: str = "run_to_completion",
) -> pd.DataFrame:
    """Run several policies against the same seeded scenario; one row each.

    Args:
        policies: ``{name: factory}`` (factories as for :func:`simulate`).
        scenario: the scenario, identical for every policy (same arrivals, same keys).
        provider: price sheet key for the bills.
        caller_memory_mb: memory of the calling function, MB.
        callee_memory_mb: memory of the called function, MB.
        seed: the seed shared by every run.
        progress: called as ``progress(name, calls_started, calls)`` while running.
        results: a dict to fill with each :class:`SimulationResult` (for plots).
        window: ``(start_s, end_s)``: the rows cover only what started in that span
            (e.g. the outage), see :meth:`SimulationResult.summary`.
        options: provider options for both bills (see :func:`simulate`).
        caller_options: provider options for the caller's bill only.
        region: the provider's region (see :func:`simulate`).
        loser_billing: how cancelled executions bill (see :func:`simulate`).

    Returns:
        A DataFrame indexed by policy name with columns ``calls``, ``caller_cost``,
        ``callee_cost``, ``total_cost``, ``cost_per_million``, ``currency``,
        ``caller_gb_s``, ``callee_gb_s``, ``callee_calls``; the calls by final
        outcome, which sum to ``calls``: ``ok``, ``errors``, ``timeouts``, ``rejected``
        (a breaker or bulkhead refusal with no fallback), ``fallbacks``, ``cache_hits``;
        the attempts refused before reaching the callee: ``breaker_rejections`` (an
        open breaker; a fallback may have answered the call), ``limiter_rejections``
        (a full bulkhead, a rate limiter); ``throttled`` (invocations the callee's
        concurrency limit refused), ``caller_timeouts`` (calls killed by the caller's
        platform timeout), ``errors_seen`` (calls that raised to the user),
        ``latency_mean_ms``, ``latency_p50_ms``, ``latency_p99_ms``; the attempts a
        chaos layer (the scenario's faults, the Policy's chaos part) injected into:
        ``injected_latency``, ``injected_faults``, ``injected_outcomes`` (from the ledger's
        ``injected`` marks: a latency followed by a fault counts as a fault).

    Example:
        >>> from resilience import Policy
        >>> from costmodel import ConstantRate, Downstream, Scenario
        >>> s = Scenario(arrivals=ConstantRate(rate_per_s=5, duration_s=10),
        ...              downstream=Downstream(latency=50.0))
        >>> bare = lambda sim: Policy(ledger=sim.ledger, clock=sim.clock)
        >>> table = compare_policies({"bare": bare}, s)
        >>> int(table.loc["bare", "callee_calls"])
        50
    """
    if not isinstance(policies, Mapping) or not policies:
        raise InvalidUsage(f"policies={policies!r}: must be a non-empty {{name: factory}} dict")
    if not isinstance(scenario, Scenario):
        raise InvalidUsage(f"scenario={scenario!r}: must be a costmodel.Scenario")
    # everything that can be checked is checked before the first (long) run
    _billing(
        provider=provider,
        caller_memory_mb=caller_memory_mb,
        callee_memory_mb=callee_memory_mb,
        seed=seed,
        options=options,
        caller_options=caller_options,
        region=region,
        loser_billing=loser_billing,
    )
    for label, factory in policies.items():
        try:
            _check_policy_argument(factory)
        except InvalidUsage as exc:
            raise InvalidUsage(f"policies[{label!r}]: {exc}") from None
    if window is not None:
        SimulationResult._span(*window)
    runs: dict[str, SimulationResult] = {}
    for label, factory in policies.items():
        report = None if progress is None else _named(progress, label)
        result = simulate(
            factory,
            scenario,
            provider=provider,
            caller_memory_mb=caller_memory_mb,
            callee_memory_mb=callee_memory_mb,
            seed=seed,
            name=label,
            progress=report,
            options=options,
            caller_options=caller_options,
            region=region,
            loser_billing=loser_billing,
        )
        if results is not None:
            results[label] = result
        runs[label] = result
    return summarize(runs, window=window)


def summarize(
    results: Mapping[str, SimulationResult], *, window: tuple[float, float] | None = None
) -> pd.DataFrame:
    """One row per simulation result, as :func:`compare_policies` returns them.

    Args:
        results: ``{name: SimulationResult}`` (e.g. the ``results=`` dict that
            :func:`compare_policies` filled).
        window: ``(start_s, end_s)``: only what started in that span (e.g. the
            outage), see :meth:`SimulationResult.summary`; no re-run needed.

    Returns:
        A DataFrame indexed by policy name (columns: see :func:`compare_policies`).
    """
    if not isinstance(results, Mapping) or not results:
        raise InvalidUsage(f"results={results!r}: must be a non-empty {{name: result}} dict")
    start_s, end_s = window if window is not None else (None, None)
    rows = []
    for label, result in results.items():
        if not isinstance(result, SimulationResult):
            raise InvalidUsage(f"results[{label!r}]={result!r}: must be a SimulationResult")
        rows.append({**result.summary(start_s=start_s, end_s=end_s), "policy": label})
    return pd.DataFrame(rows).set_index("policy")


def _named(progress: Callable[[str, int, int], None], label: str) -> Callable[[int, int], None]:
    return lambda started, total: progress(label, started, total)


# -- simulation files ------------------------------------------------------------------

_SIMULATION_FIELDS = (
    "provider",
    "region",
    "caller_memory_mb",
    "callee_memory_mb",
    "seed",
    "options",
    "caller_options",
    "loser_billing",
)
_POLICY_PARTS = (
    "fallback", "cache", "retry", "hedge", "breaker", "rate_limit", "bulkhead", "adaptive_limit",
    "timeout",
)  # fmt: skip
_PART_FIELDS: dict[str, tuple[str, ...]] = {
    "fallback": ("value", "on"),
    "cache": ("ttl", "maxsize", "stale_if_error", "error_ttl"),
    "retry": ("attempts", "on", "backoff_s", "max_backoff_s", "jitter", "budget"),
    "hedge": ("attempts", "delay_s", "delay", "on", "budget", "loser", "window", "min_samples"),
    "breaker": (
        "fail_max",
        "reset_timeout_s",
        "failure_rate_threshold",
        "window_size",
        "min_calls",
        "slow_call_s",
        "slow_call_rate_threshold",
        "half_open_max_calls",
        "success_threshold",
        "exclude",
    ),
    "rate_limit": ("rate", "per_s", "burst", "wait_s"),
    "bulkhead": ("max_concurrent", "max_wait_s"),
    "adaptive_limit": (
        "algorithm", "initial_limit", "min_limit", "max_limit", "backoff", "timeout_s",
        "smoothing", "rtt_tolerance", "long_window", "queue_size", "max_wait_s",
    ),
    "timeout": ("timeout_s",),
}  # fmt: skip
_SHORTHAND = {"retry": "attempts", "bulkhead": "max_concurrent", "timeout": "timeout_s"}


def _exception_names() -> dict[str, type[BaseException]]:
    import resilience

    from .scenario import CallerTimeout, DownstreamError, DownstreamThrottled, DownstreamTimeout

    return {
        "Exception": Exception,
        "DownstreamError": DownstreamError,
        "DownstreamTimeout": DownstreamTimeout,
        "DownstreamThrottled": DownstreamThrottled,
        "CallerTimeout": CallerTimeout,
        "TimeoutError": TimeoutError,
        "ConnectionError": ConnectionError,
        "CircuitOpenError": resilience.CircuitOpenError,
        "BulkheadFull": resilience.BulkheadFull,
        "TimeoutExceeded": resilience.TimeoutExceeded,
    }


@dataclass(frozen=True, slots=True)
class SimulationFile:
    """A scenario, the policies to run through it and the billing settings, from TOML.

    Attributes:
        path: the file read.
        scenario: the :class:`~costmodel.Scenario` (``[scenario]``, ``[arrivals]``,
            ``[downstream]``, ``[[windows]]``).
        policies: ``{name: factory}`` from the ``[policies.NAME]`` tables.
        provider: ``[simulation] provider`` (default ``"aws-lambda"``).
        caller_memory_mb: ``[simulation] caller_memory_mb`` (default 512).
        callee_memory_mb: ``[simulation] callee_memory_mb`` (default 1024).
        seed: ``[simulation] seed`` (default 0).
        options: ``[simulation] options``: provider options for both bills
            (``{ vcpu = 0.5 }`` on alibaba-fc3).
        caller_options: ``[simulation] caller_options``: for the caller's bill only.
        region: ``[simulation] region``: the provider's region (default: its sheet's own).
        loser_billing: ``[simulation] loser_billing``: ``"run_to_completion"`` (default)
            or ``"until_cancel"`` (see :func:`simulate`).
    """

    path: str
    scenario: Scenario
    policies: Mapping[str, PolicyFactory] = field(repr=False)
    provider: str = "aws-lambda"
    caller_memory_mb: float = 512.0
    callee_memory_mb: float = 1024.0
    seed: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    caller_options: Mapping[str, Any] = field(default_factory=dict)
    region: str | None = None
    loser_billing: str = "run_to_completion"

    def check(self) -> None:
        """Check the billing settings (after ``dataclasses.replace``, say) without running.

        Raises:
            InvalidUsage: a bad seed, memory size or provider option, or a provider
                that is not a function platform.
            UnknownProvider: unknown provider key.
        """
        _billing(
            provider=self.provider,
            caller_memory_mb=self.caller_memory_mb,
            callee_memory_mb=self.callee_memory_mb,
            seed=self.seed,
            options=self.options,
            caller_options=self.caller_options,
            region=self.region,
            loser_billing=self.loser_billing,
        )

    def compare(
        self,
        *,
        progress: Callable[[str, int, int], None] | None = None,
        results: dict[str, SimulationResult] | None = None,
        window: tuple[float, float] | None = None,
    ) -> pd.DataFrame:
        """:func:`compare_policies` with the file's policies and settings."""
        self.check()
        return compare_policies(
            self.policies,
            self.scenario,
            provider=self.provider,
            caller_memory_mb=self.caller_memory_mb,
            callee_memory_mb=self.callee_memory_mb,
            seed=self.seed,
            progress=progress,
            results=results,
            window=window,
            options=self.options,
            caller_options=self.caller_options,
            region=self.region,
            loser_billing=self.loser_billing,
        )


def load_simulation(path: str | Path) -> SimulationFile:
    """Read a scenario and the policies to compare on it from a TOML file.

    Besides the scenario tables (see :func:`costmodel.load_scenario`):
    ``[simulation]`` (``provider``, ``caller_memory_mb``, ``callee_memory_mb``,
    ``seed``, ``loser_billing``) and one ``[policies.NAME]`` table per policy, whose keys
    are the parts of a :class:`resilience.Policy`, each a table of that part's options:
    ``fallback = {value = ..., on = [...]}``, ``cache = {ttl = 60, maxsize = ...}``,
    ``retry = {attempts = 3, backoff_s = 0.2, ...}`` (or ``retry = 3``),
    ``hedge = {attempts = 2, delay_s = 0.05}`` (or ``delay = "p95"``, ``budget = 0.1``,
    ``loser = "detach"``: a cancelled loser still runs, and bills, on the callee),
    ``breaker = {fail_max = 5, reset_timeout_s = 30, ...}``,
    ``rate_limit = {rate = 150, per_s = 1, burst = 20, wait_s = 0.5}``,
    ``bulkhead = {max_concurrent = 50, max_wait_s = 0}`` (or ``bulkhead = 50``), or
    instead ``adaptive_limit = {algorithm = "aimd", initial_limit = 20, ...}`` (a bulkhead
    whose limit moves: the callee's throttles are its drops),
    ``timeout = {timeout_s = 2}`` (or ``timeout = 2``). An empty table is a Policy with
    no parts: no protection. Exception types are given by name (``"DownstreamError"``,
    ``"TimeoutError"``, ``"CircuitOpenError"``, ...). Every policy is built once while
    loading, so a bad option fails here.

    Raises:
        InvalidFile: naming the file, the field (``policies.retry only.retry.attempts``)
            and the reason.

    Example (``examples/outage.toml`` in a checkout; here the copy that ships):
        >>> from importlib import resources
        >>> spec = load_simulation(resources.files("costmodel") / "examples/outage.toml")
        >>> sorted(spec.policies)
        ['breaker + fallback', 'breaker + fallback + cache', 'no protection', 'retry only']
    """
    from ..toml_files import read_toml
    from .scenario import FileContext, scenario_from_mapping

    data = read_toml(path)
    ctx = FileContext(path)
    scenario = scenario_from_mapping(data, ctx)
    settings = dict(ctx.table("simulation", data.get("simulation", {}), _SIMULATION_FIELDS))
    raw_policies = data.get("policies")
    if not isinstance(raw_policies, Mapping) or not raw_policies:
        raise ctx.fail("policies", "missing: add at least one [policies.NAME] table")
    policies: dict[str, PolicyFactory] = {}
    probe_loop = VirtualTimeLoop()
    try:
        for name, raw in raw_policies.items():
            where = f"policies.{name}"
            table = ctx.table(where, raw, _POLICY_PARTS)
            factory = _policy_factory(name, table, ctx, where)
            probe = SimulationContext(
                clock=probe_loop.clock, ledger=Ledger(max_records=0), rng=random.Random(0), seed=0
            )
            factory(probe)  # validate every option now, with the file's field names
            policies[name] = factory
    finally:
        probe_loop.close()
    provider = settings.get("provider", "aws-lambda")
    numbers: dict[str, Any] = {}
    for key in ("caller_memory_mb", "callee_memory_mb"):
        numbers[key] = settings.get(key, 512.0 if key == "caller_memory_mb" else 1024.0)
    seed = settings.get("seed", 0)
    tables: dict[str, dict[str, Any]] = {}
    for key in ("options", "caller_options"):
        value = settings.get(key, {})
        if not isinstance(value, Mapping):
            raise ctx.fail(f"simulation.{key}", f"{value!r}: must be a table (vcpu = 0.5)")
        tables[key] = dict(value)
    region = settings.get("region")
    loser_billing = settings.get("loser_billing", "run_to_completion")
    try:  # the settings simulate() checks, named by their field in the file
        _settings(
            provider=provider,
            seed=seed,
            region=region,
            loser_billing=loser_billing,
            **numbers,
            **tables,
        )
    except _SettingError as exc:
        raise ctx.fail(f"simulation.{exc.field}", str(exc)) from exc
    except UnknownProvider as exc:
        raise ctx.fail("simulation.provider", str(exc.args[0])) from exc
    return SimulationFile(
        path=str(path),
        scenario=scenario,
        policies=policies,
        provider=provider,
        seed=seed,
        caller_memory_mb=float(numbers["caller_memory_mb"]),
        callee_memory_mb=float(numbers["callee_memory_mb"]),
        region=region,
        loser_billing=loser_billing,
        **tables,
    )


def _policy_factory(name: str, table: Mapping[str, Any], ctx: Any, where: str) -> PolicyFactory:
    """A factory building the Policy a ``[policies.NAME]`` table describes."""
    parts: dict[str, dict[str, Any]] = {}
    names = _exception_names()
    if "bulkhead" in table and "adaptive_limit" in table:
        raise ctx.fail(f"{where}.adaptive_limit", "a policy has one bulkhead: drop one of the two")
    for part, raw in table.items():
        field_ = f"{where}.{part}"
        if part in _SHORTHAND and not isinstance(raw, Mapping):
            raw = {_SHORTHAND[part]: raw}
        options = dict(ctx.table(field_, raw, _PART_FIELDS[part]))
        for key in ("on", "exclude"):
            if key in options:
                options[key] = _exception_types(options[key], names, ctx, f"{field_}.{key}")
        parts[part] = options

    def build(sim: SimulationContext) -> Policy:
        builders = _part_builders()
        built = {
            part: ctx.build(f"{where}.{part}", builders[part], **_part_context(part, name, sim),
                            **options)
            for part, options in parts.items()
        }  # fmt: skip
        if "adaptive_limit" in built:  # a bulkhead whose limit moves
            built["bulkhead"] = built.pop("adaptive_limit")
        policy: Policy = ctx.build(
            where, Policy, name=name, ledger=sim.ledger, clock=sim.clock, **built
        )
        return policy

    return build


def _part_builders() -> dict[str, Callable[..., Any]]:
    """The constructor of each Policy part (resilience is imported here, when a file's
    policies are built, not when costmodel is)."""
    import resilience

    return {
        "fallback": resilience.fallback,
        "cache": resilience.cached,
        "retry": resilience.retry,
        "hedge": resilience.hedge,
        "breaker": resilience.CircuitBreaker,
        "rate_limit": resilience.rate_limit,
        "bulkhead": resilience.bulkhead,
        "adaptive_limit": resilience.adaptive_limit,
        "timeout": resilience.timeout,
    }


def _part_context(part: str, name: str, sim: SimulationContext) -> dict[str, Any]:
    """What a part gets from the simulation: the virtual clock (all but the fallback), the
    seeded random source (retry's jitter), the policy's name (the breaker)."""
    if part == "fallback":
        return {}
    extra: dict[str, Any] = {"clock": sim.clock}
    if part == "retry":
        extra["rng"] = sim.rng
    if part == "breaker":
        extra["name"] = name
    return extra


def _exception_types(
    value: Any, names: Mapping[str, type[BaseException]], ctx: Any, field_: str
) -> tuple[type[BaseException], ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ctx.fail(field_, f"{value!r}: must be an exception name or a list of names")
    found = []
    for item in items:
        if item not in names:
            raise ctx.fail(field_, f"{item!r}: unknown exception; known: {', '.join(names)}")
        found.append(names[item])
    return tuple(found)
