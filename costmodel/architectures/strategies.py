"""Should I ping, provision, or neither? Cold-start strategies of one function, compared.

:func:`warm_strategies` prices, for one :class:`~costmodel.Function` over traffic levels,

- ``nothing``: live with cold starts (INIT billed where the provider bills it, see
  :data:`~costmodel.architectures.compositions.INIT_BILLED`);
- ``keep-warm``: scheduled warm-up pings (:class:`~costmodel.KeepWarm`);
- ``provisioned``: provisioned concurrency (AWS Lambda); Azure Flex always-ready
  instances and Cloud Run minimum instances where their sheets carry verified prices,
  else a row that says it is not priced,

with the cold-start model of :mod:`costmodel.architectures.keep_warm`: cost per month,
the share of calls that start cold and the p99 latency (the function's run plus its
init when cold; no network), and the traffic where each pair of strategies breaks even.
:func:`keep_warm_bills` is what :func:`costmodel.compare` adds for a function with
``keep_warm``, :func:`keep_warm_cold_starts` the cold starts its calls keep there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..billing.engine import Bill, FreeTier, estimate
from ..catalog.sheets import PriceSheet, price_sheet
from ..errors import InvalidUsage
from .compositions import INIT_BILLED, Function
from .keep_warm import (
    MONTH_S,
    SCHEDULERS,
    KeepWarm,
    cold_pings_share,
    cold_share,
    erlang_b,
    idle_window_of,
)

__all__ = [
    "STRATEGIES",
    "WarmStrategies",
    "keep_warm_bills",
    "keep_warm_cold_starts",
    "warm_strategies",
]

_BREAK_EVEN_COLUMNS = ["cheaper_below", "cheaper_above", "calls_per_month"]

#: The strategies compared, in the order of the table.
STRATEGIES: tuple[str, ...] = ("nothing", "keep-warm", "provisioned")

#: Why the ``provisioned`` row is not priced on providers whose sheets lack its prices.
_NOT_PRICED: dict[str, str] = {
    "azure-functions-flex": (
        "Azure Flex always-ready instances: the sheet's always-ready prices are not verified"
    ),
    "gcp-cloud-run": "Cloud Run minimum instances: no verified idle-instance price in the sheet",
    "gcp-cloud-run-functions": (
        "Cloud Run minimum instances: no verified idle-instance price in the sheet"
    ),
}


def _sheet(provider: str | PriceSheet, region: str | None) -> PriceSheet:
    sheet = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
    return sheet.in_region(region) if region is not None else sheet


def keep_warm_bills(
    function: Function,
    *,
    provider: str | PriceSheet,
    free_tier: FreeTier = False,
    region: str | None = None,
    options: Mapping[str, Any] | None = None,
    cold_pings: float = 0.0,
    init_billed: bool | None = None,
) -> list[Bill]:
    """What a month of ``function.keep_warm`` costs: the pings, the scheduler, the warmer.

    Args:
        function: a function with ``keep_warm`` set.
        provider: the function's platform key or sheet.
        free_tier: as in :func:`costmodel.estimate`.
        region: the provider's region.
        options: provider options of the function's bill (``arch``, ``vcpu``).
        cold_pings: share of pings that find their instance cold (0 when every_s is
            within the idle window); those bill the init too where init is billed.
        init_billed: bill init time (default: :data:`INIT_BILLED` of the provider).

    Returns:
        One bill for the pings, one for the warmer function if any, one for the scheduler
        where it is priced (see :data:`~costmodel.architectures.keep_warm.SCHEDULERS`).

    >>> from costmodel import Function, KeepWarm
    >>> f = Function("api", memory_mb=128, keep_warm=KeepWarm(every_s=300, concurrency=1))
    >>> [round(b.total, 5) for b in keep_warm_bills(f, provider="aws-lambda")]
    [0.00184, 0.00876]
    """
    kw = function.keep_warm
    if kw is None:
        raise InvalidUsage(f"function {function.name!r}: has no keep_warm")
    sheet = _sheet(provider, region)
    billed_init = INIT_BILLED.get(sheet.key, False) if init_billed is None else init_billed
    opts = {k: v for k, v in (options or {}).items() if k in ("arch", "vcpu")}
    if function.vcpu is not None and "vcpu" not in opts and sheet.model == "alibaba-fc3":
        opts["vcpu"] = function.vcpu
    if sheet.model in ("workers", "vercel-fluid"):
        opts["cpu_ms"] = kw.ping_ms
    pings = kw.pings_per_month
    ping_ms = np.array([kw.ping_billed_ms, kw.ping_billed_ms + function.init_duration_ms])
    cold = cold_pings if billed_init else 0.0
    share = np.array([1.0 - cold, cold])
    bills = [_mixed(sheet, pings, ping_ms, share, function.memory_mb, free_tier, opts)]
    warmer = kw.warmer_function
    if warmer is not None:
        bills.append(
            estimate(
                sheet,
                invocations=kw.rounds_per_month,
                duration_ms=warmer.duration.mean_ms,
                memory_mb=warmer.memory_mb,
                free_tier=free_tier,
            )
        )
    scheduler = SCHEDULERS[kw.scheduler]
    if scheduler is not None:
        priced = price_sheet(scheduler)
        if region is not None:  # the scheduler runs where the function does
            priced = priced.in_region(region)
        if priced.currency != sheet.currency:
            raise InvalidUsage(
                f"keep_warm.scheduler={kw.scheduler!r} bills in {priced.currency}, "
                f"{sheet.key} in {sheet.currency}: use scheduler='none' (a timer of the "
                "provider, billed as the function's own invocations) for one currency"
            )
        bills.append(
            estimate(priced, invocations=kw.scheduler_invocations_per_month, free_tier=free_tier)
        )
    return bills


def keep_warm_cold_starts(
    function: Function,
    *,
    calls_per_month: float,
    provider: str | PriceSheet,
    region: str | None = None,
) -> tuple[float, float]:
    """What ``function.keep_warm`` leaves of the function's cold starts, at a traffic level.

    The function's ``cold_start_probability`` is the share of its calls that start cold
    without pings (what you measured, e.g. with :meth:`Function.from_logs`): it stands for
    the model's ``exp(-λ·W)``, and the pings keep the share of it the model keeps (the
    same :func:`~costmodel.architectures.keep_warm.cold_share` :func:`warm_strategies`
    uses), so a function whose baseline is the model's gets exactly the ``keep-warm``
    row's share. A function without cold starts (0) keeps none.

    Args:
        function: a function with ``keep_warm`` set.
        calls_per_month: the function's own calls in a month (pings not counted).
        provider: its platform key or sheet (the idle window is the provider's, unless
            the KeepWarm gives ``idle_window_s``).
        region: the provider's region.

    Returns:
        ``(cold_start_probability, cold_pings)``: the share of calls that still start cold,
        and the share of pings that do (see
        :func:`~costmodel.architectures.keep_warm.cold_pings_share`).

    Raises:
        InvalidUsage: no idle window is known for the provider and the KeepWarm gives none.

    >>> from costmodel import Function, KeepWarm
    >>> f = Function("api", memory_mb=128, cold_start_probability=0.4, keep_warm=KeepWarm())
    >>> [round(p, 6) for p in keep_warm_cold_starts(f, calls_per_month=10_000,
    ...                                              provider="aws-lambda")]
    [0.000152, 0.0]
    """
    kw = function.keep_warm
    if kw is None:
        raise InvalidUsage(f"function {function.name!r}: has no keep_warm")
    baseline = function.cold_start_probability
    if baseline == 0.0:
        return 0.0, 0.0
    sheet = _sheet(provider, region)
    try:
        window = idle_window_of(sheet.key, kw, None)
    except InvalidUsage as exc:
        raise InvalidUsage(
            f"function {function.name!r}: {exc} in its KeepWarm (its cold starts depend on it)"
        ) from exc
    cold = cold_share(
        calls_per_month,
        duration_ms=function.duration.mean_ms,
        idle_window_s=window,
        warm_instances=kw.concurrency,
        every_s=kw.every_s,
        baseline=baseline,
    )
    return cold, cold_pings_share(kw, idle_window_s=window, unwarmed=baseline)


def _mixed(
    sheet: PriceSheet,
    invocations: float,
    durations_ms: np.ndarray,
    share: np.ndarray,
    memory_mb: float,
    free_tier: FreeTier,
    opts: Mapping[str, Any],
) -> Bill:
    """One bill for ``invocations`` split by ``share`` between ``durations_ms``."""
    bills = [
        estimate(
            sheet,
            invocations=invocations * s,
            duration_ms=float(d),
            memory_mb=memory_mb,
            free_tier=free_tier,
            **opts,
        )
        for d, s in zip(durations_ms, share, strict=True)
        if s > 0
    ]
    return sum(bills[1:], bills[0])


# ---------------------------------------------------------------------------- strategies


@dataclass(frozen=True, slots=True)
class WarmStrategies:
    """The comparison :func:`warm_strategies` returns.

    Attributes:
        function: the function compared.
        provider: the provider's key.
        keep_warm: the pings priced as ``keep-warm``.
        provisioned: instances of the ``provisioned`` strategy.
        idle_window_s: the idle window assumed, seconds.
        table: one row per traffic level and strategy: ``calls_per_month``, ``strategy``,
            ``cost_usd`` (NaN where not priced), ``cold_share``, ``p99_ms``, ``priced``,
            ``note``.
        break_even: one row per pair of priced strategies: ``cheaper_below`` (the
            strategy cheaper at low traffic), ``cheaper_above``, ``calls_per_month`` (the
            traffic where they cost the same; NaN when they do not cross in the range).
    """

    function: Function
    provider: str
    keep_warm: KeepWarm
    provisioned: int
    idle_window_s: float
    table: pd.DataFrame = field(repr=False)
    break_even: pd.DataFrame = field(repr=False)
    _cost: Callable[[str, float], float] = field(repr=False, compare=False)

    def winners(self) -> pd.DataFrame:
        """Per traffic level, the cheapest priced strategy and the one with the lowest p99
        (ties: the cheaper)."""
        priced = self.table[self.table["priced"]]
        rows = []
        for calls, group in priced.groupby("calls_per_month", sort=True):
            cheapest = group.sort_values("cost_usd").iloc[0]["strategy"]
            fastest = group.sort_values(["p99_ms", "cost_usd"]).iloc[0]["strategy"]
            rows.append({"calls_per_month": calls, "cheapest": cheapest, "fastest": fastest})
        return pd.DataFrame(rows)

    def cost_usd(self, strategy: str, calls_per_month: float) -> float:
        """The monthly cost of ``strategy`` at any traffic level (the model, not the table)."""
        if strategy not in STRATEGIES:
            raise InvalidUsage(f"strategy={strategy!r}: must be one of {', '.join(STRATEGIES)}")
        return self._cost(strategy, calls_per_month)


@dataclass(frozen=True, slots=True)
class _Model:
    """The pieces every strategy of one comparison shares."""

    function: Function
    sheet: PriceSheet
    keep_warm: KeepWarm
    provisioned: int
    window_s: float
    free_tier: FreeTier
    init_billed: bool
    options: Mapping[str, Any]

    @property
    def mean_ms(self) -> float:
        return self.function.duration.mean_ms

    def cold(self, strategy: str, calls: float) -> float:
        if strategy == "nothing":
            return cold_share(calls, duration_ms=self.mean_ms, idle_window_s=self.window_s)
        if strategy == "keep-warm":
            return cold_share(
                calls,
                duration_ms=self.mean_ms,
                idle_window_s=self.window_s,
                warm_instances=self.keep_warm.concurrency,
                every_s=self.keep_warm.every_s,
            )
        return cold_share(
            calls,
            duration_ms=self.mean_ms,
            idle_window_s=self.window_s,
            warm_instances=self.provisioned,
        )

    def on_demand(self, calls: float, cold: float) -> Bill:
        """``calls`` on-demand invocations, a share ``cold`` of them starting cold."""
        init = self.function.init_duration_ms if self.init_billed else 0.0
        share = np.array([1.0 - cold, cold])
        durations = np.array([self.mean_ms, self.mean_ms + init])
        return _mixed(
            self.sheet,
            calls,
            durations,
            share,
            self.function.memory_mb,
            self.free_tier,
            self.options,
        )

    def cost(self, strategy: str, calls: float) -> float:
        cold = self.cold(strategy, calls)
        if strategy == "nothing":
            return self.on_demand(calls, cold).total
        if strategy == "keep-warm":
            fn = _with_keep_warm(self.function, self.keep_warm)
            window = self.window_s
            unwarmed = cold_share(calls, duration_ms=self.mean_ms, idle_window_s=window)
            cold_pings = cold_pings_share(self.keep_warm, idle_window_s=window, unwarmed=unwarmed)
            bills = keep_warm_bills(
                fn,
                provider=self.sheet,
                free_tier=self.free_tier,
                options=self.options,
                cold_pings=cold_pings,
                init_billed=self.init_billed,
            )
            pooled = sum(bills, self.on_demand(calls, cold))
            return pooled.total
        return self._provisioned(calls).total

    def _provisioned(self, calls: float) -> Bill:
        """Calls served by the provisioned instances bill the provisioned duration rate;
        the spill-over (a share B(a, n)) bills on demand, cold with exp(-λW)."""
        unwarmed = cold_share(calls, duration_ms=self.mean_ms, idle_window_s=self.window_s)
        spill = erlang_b(calls / MONTH_S * self.mean_ms / 1000.0, self.provisioned)
        served = calls * (1.0 - spill)
        bill = estimate(
            self.sheet,
            invocations=0.0,
            memory_mb=self.function.memory_mb,
            free_tier=self.free_tier,
            provisioned_concurrency=self.provisioned,
            provisioned_hours=MONTH_S / 3600.0,
            provisioned_invocations=served,
            provisioned_duration_ms=self.mean_ms,
            **self.options,
        )
        if spill > 0:
            bill = bill + self.on_demand(calls * spill, unwarmed)
        return bill

    def priced(self, strategy: str) -> tuple[bool, str]:
        if strategy != "provisioned":
            return True, ""
        if self.sheet.has_meter("provisioned-x86_64") or self.sheet.has_meter("provisioned"):
            return True, ""
        why = _NOT_PRICED.get(self.sheet.key, f"{self.sheet.key} has no provisioned prices")
        return False, f"not priced: {why}"

    def p99_ms(self, cold: float, rng: np.random.Generator, samples: int) -> float:
        run = self.function.duration.sample(rng, samples)
        starts_cold = rng.random(samples) < cold
        return float(np.quantile(run + starts_cold * self.function.init_duration_ms, 0.99))


def _with_keep_warm(function: Function, keep_warm: KeepWarm) -> Function:
    from dataclasses import replace

    return replace(function, keep_warm=keep_warm)


def _levels(calls_per_month: Iterable[float]) -> list[float]:
    try:
        levels = [float(c) for c in calls_per_month]
    except (TypeError, ValueError):
        raise InvalidUsage(
            f"calls_per_month={calls_per_month!r}: must be a sequence of numbers >= 1"
        ) from None
    if not levels or any(not math.isfinite(c) or c < 1 for c in levels):
        raise InvalidUsage(
            f"calls_per_month={calls_per_month!r}: must be a non-empty sequence of finite "
            "numbers >= 1 (calls per month)"
        )
    return sorted(set(levels))


def _crossing(
    cost: Callable[[str, float], float], a: str, b: str, low: float, high: float
) -> float:
    """The traffic in [low, high] where strategies ``a`` and ``b`` cost the same (bisection
    on log traffic; NaN when the sign of the difference does not change)."""

    def gap(calls: float) -> float:
        return cost(a, calls) - cost(b, calls)

    lo, hi = math.log(low), math.log(high)
    g_lo, g_hi = gap(low), gap(high)
    if g_lo * g_hi >= 0:  # one is never cheaper below and dearer above (ties included)
        return math.nan
    for _ in range(80):
        mid = (lo + hi) / 2
        g_mid = gap(math.exp(mid))
        if (g_mid > 0) == (g_lo > 0):
            lo, g_lo = mid, g_mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def warm_strategies(
    function: Function,
    *,
    calls_per_month: Sequence[float],
    provider: str = "aws-lambda",
    keep_warm: KeepWarm | None = None,
    provisioned: int | None = None,
    idle_window_s: float | None = None,
    free_tier: FreeTier = False,
    init_billed: bool | None = None,
    region: str | None = None,
    samples: int = 20_000,
    seed: int = 0,
    **options: Any,
) -> WarmStrategies:
    """Compare living with cold starts, pinging and provisioning, for one function.

    Args:
        function: the function (its memory, duration and ``init_duration_ms``).
        calls_per_month: the traffic levels to compare, calls per month (>= 1 each).
        provider: the function platform's key (default ``"aws-lambda"``).
        keep_warm: the pings (default: ``function.keep_warm``, else ``KeepWarm()``: one
            ping every 5 minutes).
        provisioned: instances of provisioned concurrency (default: the pings'
            ``concurrency``, so both keep as many instances warm).
        idle_window_s: the idle window, seconds (default: the KeepWarm's, else the
            provider's public measurement, see
            :data:`~costmodel.architectures.keep_warm.IDLE_WINDOW_S`).
        free_tier: as in :func:`costmodel.estimate`, once per strategy's bill.
        init_billed: bill cold-start init time (default: :data:`INIT_BILLED`).
        region: the provider's region.
        samples: samples drawn per row to estimate the p99.
        seed: seed of those samples (the same seed, the same table).
        **options: provider options (``arch``).

    Returns:
        A :class:`WarmStrategies`; break-evens are searched between the lowest and the
        highest traffic level.

    >>> from costmodel import Function, KeepWarm
    >>> f = Function("api", memory_mb=128, duration=100, init_duration_ms=800)
    >>> result = warm_strategies(f, calls_per_month=[10_000, 10_000_000])
    >>> result.winners()[["calls_per_month", "cheapest", "fastest"]].to_dict("records")
    [{'calls_per_month': 10000.0, 'cheapest': 'nothing', 'fastest': 'keep-warm'}, {'calls_per_month': 10000000.0, 'cheapest': 'nothing', 'fastest': 'nothing'}]
    """  # noqa: E501
    levels = _levels(calls_per_month)
    model = _model(
        function,
        provider=provider,
        keep_warm=keep_warm,
        provisioned=provisioned,
        idle_window_s=idle_window_s,
        free_tier=free_tier,
        init_billed=init_billed,
        region=region,
        options=options,
    )
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 100:
        raise InvalidUsage(f"samples={samples!r}: must be an integer >= 100")
    table = _rows(model, levels, np.random.default_rng(seed), samples)
    sheet, kw, n = model.sheet, model.keep_warm, model.provisioned
    return WarmStrategies(
        function=function,
        provider=sheet.key,
        keep_warm=kw,
        provisioned=n,
        idle_window_s=model.window_s,
        table=table,
        break_even=_break_evens(model, levels),
        _cost=model.cost,
    )


def _model(
    function: Function,
    *,
    provider: str,
    keep_warm: KeepWarm | None,
    provisioned: int | None,
    idle_window_s: float | None,
    free_tier: FreeTier,
    init_billed: bool | None,
    region: str | None,
    options: Mapping[str, Any],
) -> _Model:
    """The checked inputs of :func:`warm_strategies`."""
    if not isinstance(function, Function):
        raise InvalidUsage(f"function={function!r}: must be a costmodel.Function")
    kw = keep_warm if keep_warm is not None else function.keep_warm or KeepWarm()
    if not isinstance(kw, KeepWarm):
        raise InvalidUsage(f"keep_warm={kw!r}: must be a costmodel.KeepWarm or None")
    n = kw.concurrency if provisioned is None else provisioned
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidUsage(f"provisioned={provisioned!r}: must be an integer >= 1 (instances)")
    sheet = _sheet(provider, region)
    return _Model(
        function=function,
        sheet=sheet,
        keep_warm=kw,
        provisioned=n,
        window_s=idle_window_of(sheet.key, kw, idle_window_s),
        free_tier=free_tier,
        init_billed=INIT_BILLED.get(sheet.key, False) if init_billed is None else init_billed,
        options=options,
    )


def _rows(
    model: _Model, levels: list[float], rng: np.random.Generator, samples: int
) -> pd.DataFrame:
    """One row per traffic level and strategy."""
    rows = []
    for calls in levels:
        for strategy in STRATEGIES:
            priced, note = model.priced(strategy)
            cold = model.cold(strategy, calls)
            rows.append(
                {
                    "calls_per_month": calls,
                    "strategy": strategy,
                    "cost_usd": model.cost(strategy, calls) if priced else math.nan,
                    "cold_share": cold,
                    "p99_ms": model.p99_ms(cold, rng, samples),
                    "priced": priced,
                    "note": note,
                }
            )
    return pd.DataFrame(rows)


def _break_evens(model: _Model, levels: list[float]) -> pd.DataFrame:
    """One row per pair of priced strategies: where they cost the same."""
    priced = [s for s in STRATEGIES if model.priced(s)[0]]
    pairs = []
    for i, a in enumerate(priced):
        for b in priced[i + 1 :]:
            at = _crossing(model.cost, a, b, levels[0], levels[-1]) if len(levels) > 1 else math.nan
            low_first = model.cost(a, levels[0]) <= model.cost(b, levels[0])
            pairs.append(
                {
                    "cheaper_below": a if low_first else b,
                    "cheaper_above": b if low_first else a,
                    "calls_per_month": at,
                }
            )
    return pd.DataFrame(pairs, columns=_BREAK_EVEN_COLUMNS)
