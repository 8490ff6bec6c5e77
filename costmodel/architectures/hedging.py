"""What a hedged call costs and what it buys: the latency-vs-cost frontier of a hedge.

:func:`hedge_frontier` answers the question users of hedged requests ask ("The Tail at
Scale", Dean & Barroso 2013): for each hedge delay, how far do the p99 and p99.9 of one
call fall, how many extra invocations does that take, and what does it add to the bill
per million calls? It simulates a caller calling the callee through a hedged synchronous
call (:class:`~costmodel.architectures.compositions.Hedge`, the same Monte Carlo as
:func:`costmodel.compare`, one seed for every delay, so the rows differ by the delay
alone) and prices the caller's wait and every launched attempt on one provider.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..billing.engine import FreeTier, free_tier_choice
from ..errors import InvalidUsage
from .comparison import _check_provider, _check_volume, price_usage
from .compositions import (
    Function,
    Hedge,
    LoserBilling,
    SyncChain,
    simulate_usage,
    sync_chain,
)
from .distributions import Distribution, fixed

__all__ = ["FRONTIER_COLUMNS", "hedge_frontier"]

#: The columns of :func:`hedge_frontier` (``{cur}`` is the currency, e.g. ``usd``).
FRONTIER_COLUMNS = (
    "delay_ms",
    "attempts",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "extra_invocations_pct",
    "{cur}_per_million",
    "cost_increase_pct",
)


def _callee(callee: object, memory_mb: float) -> Function:
    if isinstance(callee, Function):
        return callee
    if isinstance(callee, Distribution):
        return Function("callee", memory_mb=memory_mb, duration=callee)
    raise InvalidUsage(
        f"callee={callee!r}: must be a Function or a duration distribution "
        "(lognormal, mixture, empirical, fixed)"
    )


def _delays(delays_ms: Iterable[float]) -> list[float]:
    if isinstance(delays_ms, (str, bytes)) or not isinstance(delays_ms, Iterable):
        raise InvalidUsage(f"delays_ms={delays_ms!r}: must be a list of delays in ms")
    values = list(delays_ms)
    if not values:
        raise InvalidUsage("delays_ms=[]: give at least one hedge delay, ms")
    # Each delay is checked by Hedge itself (a finite number of ms >= 0).
    return sorted({Hedge(delay_ms=d).delay_ms for d in values})


def hedge_frontier(
    callee: Function | Distribution,
    *,
    delays_ms: Iterable[float],
    attempts: int = 2,
    loser_billing: LoserBilling = "run_to_completion",
    memory_mb: float = 1024.0,
    caller: Function | None = None,
    overhead_ms: float | None = None,
    provider: str = "aws-lambda",
    invocations: float = 1_000_000,
    samples: int = 100_000,
    seed: int = 0,
    free_tier: FreeTier = "none",
    options: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Latency percentiles and cost per million calls of a hedged call, per hedge delay.

    A ``caller`` calls ``callee`` synchronously (``via="direct"``), unhedged (the first
    row) and hedged with each delay of ``delays_ms``. Latency is what the caller waits
    for the call (the invoke overhead included); the cost is the bill of the caller's
    wait and of every callee invocation, losers included, per ``loser_billing``.

    Args:
        callee: the called function, or its duration distribution (ms; then a
            function of ``memory_mb`` MB named ``"callee"``).
        delays_ms: the hedge delays tried, ms (each >= 0; 0 launches every attempt at once).
        attempts: attempts per call when hedged, primary included, in [2, 5].
        loser_billing: ``"run_to_completion"`` (default) or ``"until_cancel"`` (see
            :class:`~costmodel.Hedge`).
        memory_mb: the callee's memory when ``callee`` is a distribution, MB.
        caller: the calling function (default: 128 MB doing 1 ms of its own work).
        overhead_ms: invoke overhead per attempt, ms (default: the direct invoke's
            assumption, 15 ms).
        provider: function platform key both functions run on.
        invocations: calls per month (the bill, and its tiers, are for this volume).
        samples: Monte Carlo calls per row.
        seed: random seed (the same for every row: common random numbers).
        free_tier: as in :func:`costmodel.compare` (default ``"none"``).
        options: provider options for both functions' bills, as in :func:`compare`.
        region: the provider's region.

    Returns:
        One row per configuration (index ``"unhedged"``, ``"hedge 10 ms"`` ...) with the
        columns of :data:`FRONTIER_COLUMNS`: ``delay_ms`` (NaN unhedged), ``attempts``,
        ``latency_p50_ms``, ``latency_p99_ms``, ``latency_p999_ms``,
        ``extra_invocations_pct`` (callee invocations over the unhedged ones, %),
        ``usd_per_million`` (caller and callee) and ``cost_increase_pct`` (over the
        unhedged row). ``frame.attrs`` holds ``currency``, ``provider``,
        ``loser_billing``, ``samples`` and ``seed``.

    >>> from costmodel.architectures.distributions import fixed, lognormal, mixture
    >>> slow_tail = mixture((0.98, lognormal(p50_ms=12, p99_ms=30)), (0.02, fixed(1000)))
    >>> table = hedge_frontier(slow_tail, delays_ms=[50], samples=20_000, overhead_ms=0)
    >>> table[["latency_p99_ms", "extra_invocations_pct"]].round(0)
                 latency_p99_ms  extra_invocations_pct
    unhedged             1000.0                    0.0
    hedge 50 ms            63.0                    2.0
    """
    called = _callee(callee, memory_mb)
    calling = caller if caller is not None else Function("caller", memory_mb=128, duration=fixed(1))
    if not isinstance(calling, Function):
        raise InvalidUsage(f"caller={caller!r}: must be a Function or None")
    grid = _delays(delays_ms)
    Hedge(attempts=attempts, delay_ms=0, loser_billing=loser_billing)  # checked once, here
    _check_provider(provider)
    _check_volume(invocations)
    free_tier_choice(free_tier)
    chains: dict[str, tuple[float, int, SyncChain]] = {
        "unhedged": (math.nan, 1, sync_chain(calling, called, overhead_ms=overhead_ms))
    }
    for delay in grid:
        hedge = Hedge(attempts=attempts, delay_ms=delay, loser_billing=loser_billing)
        chain = sync_chain(calling, called, overhead_ms=overhead_ms, hedge=hedge)
        chains[f"hedge {delay:g} ms"] = (delay, attempts, chain)
    rows: dict[str, dict[str, float]] = {}
    currency = "USD"
    for label, (delay, count, chain) in chains.items():
        usage = simulate_usage(chain, samples=samples, seed=seed)
        bill, _ = price_usage(
            usage,
            provider=provider,
            invocations=invocations,
            free_tier=free_tier,
            options=options,
            region=region,
        )
        currency = bill.currency
        waiting = usage.functions[calling.name]
        waited_ms = waiting.billed_ms - waiting.run_ms
        p50, p99, p999 = np.percentile(waited_ms, [50, 99, 99.9])
        rows[label] = {
            "delay_ms": delay,
            "attempts": float(count),
            "latency_p50_ms": float(p50),
            "latency_p99_ms": float(p99),
            "latency_p999_ms": float(p999),
            "invocations": float(usage.functions[called.name].invocations),
            "per_million": bill.total / invocations * 1e6,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    base = frame.loc["unhedged"]
    frame["extra_invocations_pct"] = (frame["invocations"] / base["invocations"] - 1.0) * 100.0
    cur = currency.lower()
    frame[f"{cur}_per_million"] = frame.pop("per_million")
    frame["cost_increase_pct"] = (frame[f"{cur}_per_million"] / base["per_million"] - 1) * 100
    frame = frame.drop(columns="invocations")
    frame["attempts"] = frame["attempts"].astype(int)
    frame.attrs.update(
        currency=currency,
        provider=provider,
        loser_billing=loser_billing,
        samples=samples,
        seed=seed,
    )
    return frame[[c.format(cur=cur) for c in FRONTIER_COLUMNS]]
