"""Charts of comparisons and sweeps (the only module of callwise that imports matplotlib).

Each function draws on ``ax`` (a new figure when None) and returns the Axes, with
labelled axes that carry units and the currency.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .architectures.comparison import COMPONENT_ORDER, Sweep, latency_samples, sweep
from .architectures.compositions import Architecture
from .billing.engine import FreeTier
from .errors import InvalidUsage

__all__ = [
    "cost_and_latency_vs_memory",
    "cost_and_p99_by_strategy",
    "cost_breakdown",
    "cost_vs_volume",
    "hedge_frontier",
    "latency_distribution",
    "save_charts",
]

_COLORS = {
    "requests": "#4c72b0",
    "compute": "#dd8452",
    "gateway": "#55a868",
    "queue": "#c44e52",
    "storage": "#8172b3",
    "orchestration": "#937860",
    "egress": "#da8bc3",
}


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _currency(frame: pd.DataFrame) -> str:
    return str(frame.attrs.get("currency") or "USD")


def _money(currency: str) -> FuncFormatter:
    symbol = "$" if currency == "USD" else f"{currency} "

    def label(value: float, _pos: object = None) -> str:
        if abs(value) >= 100:
            return f"{symbol}{value:,.0f}"
        if abs(value) >= 1:
            return f"{symbol}{value:,.2f}".rstrip("0").rstrip(".")
        return f"{symbol}{value:.2g}"

    return FuncFormatter(label)


def _count_label(value: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def cost_breakdown(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Stacked bars: each architecture's monthly cost split by component.

    Args:
        table: a :func:`costmodel.compare` frame.
        ax: where to draw (default: a new figure).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from costmodel.architectures.compositions import Function, sync_chain, async_chain
    >>> from costmodel.architectures.comparison import compare
    >>> a, b = Function("a", memory_mb=512), Function("b", memory_mb=512)
    >>> t = compare({"sync": sync_chain(a, b), "async": async_chain(a, b)},
    ...             invocations=1e6, samples=100)
    >>> cost_breakdown(t).get_ylabel()
    'cost per month (USD)'
    """
    currency = _currency(table)
    suffix = currency.lower()
    columns = [f"{c}_{suffix}" for c in COMPONENT_ORDER]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InvalidUsage(f"table: not a compare() frame, missing columns {missing}")
    ax = _axes(ax)
    names = [str(n) for n in table.index]
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for component, column in zip(COMPONENT_ORDER, columns, strict=True):
        values = table[column].to_numpy(dtype=float)
        if not np.any(values > 0):
            continue
        ax.bar(x, values, 0.6, bottom=bottom, label=component, color=_COLORS[component])
        bottom += values
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(
            _money(currency)(total, None),
            (xi, total),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(x, names, rotation=15 if len(names) > 3 else 0)
    ax.set_xlabel("architecture")
    ax.set_ylabel(f"cost per month ({currency})")
    ax.yaxis.set_major_formatter(_money(currency))
    invocations = table.attrs.get("invocations")
    title = "Monthly cost by component"
    if invocations:
        title += f" at {invocations:,.0f} requests/month"
    if _free_applied(table.attrs):
        title += ", free tiers applied"
    ax.set_title(title)
    ax.set_ylim(0, max(float(bottom.max()), 1e-12) * 1.15)
    ax.legend(
        title="component", fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0)
    )
    return ax


def _free_applied(attrs: Mapping[Any, Any]) -> bool:
    """Whether a table was priced with free offers (``free_tier`` other than "none")."""
    return attrs.get("free_tier", "none") not in ("none", False)


def _total_column(result: Sweep) -> str:
    return f"total_{result.currency.lower()}"


_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _style(i: int) -> dict[str, Any]:
    """Colour, dash pattern and marker of series ``i``: distinct even in grey."""
    return {
        "color": f"C{i}",
        "ls": _STYLES[i % len(_STYLES)],
        "marker": _MARKERS[i % len(_MARKERS)],
    }


def _identical_groups(wide: pd.DataFrame) -> dict[str, list[str]]:
    """``{first name: [names with the same values]}``, in column order: series that
    would be drawn on top of each other."""
    groups: dict[str, list[str]] = {}
    for name in wide.columns:
        values = wide[name].to_numpy(dtype=float)
        same = next(
            (
                first
                for first in groups
                if np.allclose(values, wide[first].to_numpy(dtype=float), rtol=1e-9, atol=0)
            ),
            None,
        )
        if same is None:
            groups[str(name)] = []
        else:
            groups[same].append(str(name))
    return groups


def _series_label(name: str, twins: list[str]) -> str:
    return f"{name} (identical: {', '.join(twins)})" if twins else name


def _winners_title(wide: pd.DataFrame, result: Sweep) -> str:
    """Which design is cheapest where: ``"A is cheapest at every volume ... no
    break-even"`` or ``"cheapest: A below 2.1k/month, B above"``."""
    winners = wide.idxmin(axis=1).astype(str).tolist()
    volumes = wide.index.to_numpy(dtype=float)
    runs: list[tuple[str, float]] = []  # (winner, volume where its run starts)
    for volume, winner in zip(volumes, winners, strict=True):
        if not runs or runs[-1][0] != winner:
            runs.append((winner, float(volume)))
    span = f"{_count_label(volumes[0])} to {_count_label(volumes[-1])} requests/month"
    if len(runs) == 1 or result.break_even.empty:
        return f"{winners[0]} is cheapest at every volume ({span}): no break-even"
    parts = []
    for k, (winner, _) in enumerate(runs):
        if k == 0:
            parts.append(f"{winner} below {_count_label(_switch(result, runs, 1))} requests/month")
        elif k == len(runs) - 1:
            parts.append(f"{winner} above")
        else:
            parts.append(f"{winner} up to {_count_label(_switch(result, runs, k + 1))}")
    return "Cheapest: " + ", ".join(parts)


def _switch(result: Sweep, runs: list[tuple[str, float]], k: int) -> float:
    """The volume where the cheapest design changes from run ``k - 1`` to run ``k``: the
    break-even of that pair, else the first grid volume of run ``k``."""
    before, after = runs[k - 1][0], runs[k][0]
    rows = result.break_even
    pair = rows[(rows["cheaper_below"] == before) & (rows["cheaper_above"] == after)]
    inside = pair[(pair["value"] >= runs[k - 1][1]) & (pair["value"] <= runs[k][1])]
    return float(inside["value"].iloc[0]) if len(inside) else runs[k][1]


def cost_vs_volume(result: Sweep, *, ax: Axes | None = None) -> Axes:
    """Each architecture's monthly cost relative to the cheapest one at each volume, with
    its break-even volumes: the chart answers "which design is cheapest, and from where".

    The y axis is how much more than the cheapest design each one costs at that volume
    (the cheapest sits on 0 %); a break-even volume, where two designs cost the same, is a
    dotted vertical line with a numbered marker, listed in the corner. The title names the
    cheapest design per range of volumes, or says there is no break-even. Designs with
    identical costs are drawn once, labelled "identical"; every line has its own dash
    pattern and marker. Volumes where the cheapest design costs nothing (inside a free
    tier) have no ratio: they are shaded, with the note "inside the free tier".

    Args:
        result: a :func:`costmodel.sweep` over ``"invocations"``.
        ax: where to draw (default: a new figure).

    Returns:
        The Axes.
    """
    if result.over != "invocations":
        raise InvalidUsage(f"result: a sweep over 'invocations' is needed, got {result.over!r}")
    ax = _axes(ax)
    total = _total_column(result)
    wide = result.frame.pivot(index="value", columns="architecture", values=total)
    wide = wide[list(dict.fromkeys(result.frame["architecture"]))]
    volumes = wide.index.to_numpy(dtype=float)
    cheapest = wide.min(axis=1).to_numpy(dtype=float)
    free = cheapest <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = wide.to_numpy(dtype=float) / cheapest[:, None]
    ratio[free] = np.nan
    times = bool(np.nanmax(ratio, initial=1.0) > 3.0)  # far apart: a log scale of ratios
    shown = ratio if times else (ratio - 1.0) * 100.0
    groups = _identical_groups(wide)
    for i, (name, twins) in enumerate(groups.items()):
        column = list(wide.columns).index(name)
        ax.plot(volumes, shown[:, column], label=_series_label(name, twins), ms=4, **_style(i))
    if free.any():
        edge = volumes[np.flatnonzero(free).max()]
        ax.axvspan(volumes[0], edge, color="grey", alpha=0.12, lw=0,
                   label="cheapest costs $0 (inside the free tier)")  # fmt: skip
    _mark_break_evens(ax, result, wide, volumes, cheapest, times=times)
    ax.set_xscale("log")
    ax.set_xlabel("requests per month")
    if times:
        ax.set_yscale("log")
        ax.set_ylabel("cost / the cheapest design's (log)")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}×"))
        ax.axhline(1, color="black", lw=0.6)
    else:
        ax.set_ylabel("cost above the cheapest design (%)")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:+.0f}%" if v else "0%"))
        ax.axhline(0, color="black", lw=0.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _count_label(v)))
    tiers = "free tiers applied" if _free_applied(result.frame.attrs) else "no free tier"
    answer = textwrap.fill(_winners_title(wide, result), 72, break_on_hyphens=False)
    ax.set_title(f"{answer}\n(cost relative to the cheapest design, {tiers})", fontsize=9)
    ax.legend(title="architecture", fontsize=8, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _mark_break_evens(
    ax: Axes,
    result: Sweep,
    wide: pd.DataFrame,
    volumes: np.ndarray[Any, Any],
    cheapest: np.ndarray[Any, Any],
    *,
    times: bool,
) -> None:
    """A dotted line and a numbered marker at each break-even volume, listed in a note;
    the marker's height is a ratio (``times``) or a percentage above the cheapest."""
    notes = []
    grid = np.log(volumes)
    for i, row in enumerate(result.break_even.to_dict("records"), start=1):
        x = float(row["value"])
        cost = float(np.interp(np.log(x), grid, wide[row["architecture_a"]]))
        low = float(np.interp(np.log(x), grid, cheapest))
        ax.axvline(x, color="grey", lw=0.8, ls=":")
        notes.append(
            f"{i}: {row['cheaper_below']} = {row['cheaper_above']} at {_count_label(x)}/month"
        )
        if low > 0:
            y = cost / low if times else (cost / low - 1.0) * 100.0
            ax.plot([x], [y], marker="o", mfc="white", mec="black", zorder=5, ls="none")
            ax.annotate(str(i), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    if notes:  # listed apart: break-evens close together would write over each other
        ax.text(0.99, 0.97, "\n".join(notes), transform=ax.transAxes, ha="right",
                va="top", fontsize=7)  # fmt: skip


def _latency_unit(values_ms: np.ndarray[Any, Any]) -> tuple[float, str]:
    """(divisor, unit) for latencies: seconds where they exceed 10 s, else ms."""
    top = float(np.nanmax(values_ms)) if values_ms.size else 0.0
    return (1000.0, "s") if top > 10_000 else (1.0, "ms")


def cost_and_latency_vs_memory(result: Sweep, *, ax: Axes | None = None) -> Axes:
    """Monthly cost (left axis) and p50 latency (right axis, dashed) against memory size.

    The cheapest memory size of each architecture is starred. When it is the smallest
    or the largest size tried, the optimum may lie outside the range: the chart says so
    in its title and beside the star (the same warning as :attr:`Sweep.edge_notes`).
    Latency is in seconds where it exceeds 10 s.

    Args:
        result: a :func:`costmodel.sweep` over ``"memory_mb"``.
        ax: where to draw the cost (the latency goes on a twin axis).

    Returns:
        The Axes of the cost.
    """
    if result.over != "memory_mb":
        raise InvalidUsage(f"result: a sweep over 'memory_mb' is needed, got {result.over!r}")
    ax = _axes(ax)
    twin = ax.twinx()
    total = _total_column(result)
    scale, unit = _latency_unit(result.frame["latency_p50_ms"].to_numpy(dtype=float))
    edges = {"smallest": "smallest tried", "largest": "largest tried"}
    for i, (name, rows) in enumerate(result.frame.groupby("architecture", sort=False)):
        style = _style(i)
        ax.plot(rows["value"], rows[total], color=style["color"], marker=style["marker"],
                ms=4, label=f"{name}: cost")  # fmt: skip
        twin.plot(rows["value"], rows["latency_p50_ms"] / scale, color=style["color"],
                  ls="--", alpha=0.7, label=f"{name}: p50 latency")  # fmt: skip
        best = result.cheapest.loc[name]
        edge = str(best.get("edge", "") or "")
        note = f" ({edges[edge]}: the optimum may lie beyond)" if edge else ""
        ax.plot([best["value"]], [best[total]], marker="*", ms=12, color=style["color"],
                mec="black", ls="none")  # fmt: skip
        ax.annotate(f"cheapest: {best['value']:,.0f} MB{note}", (best["value"], best[total]),
                    xytext=(6, 10), textcoords="offset points", fontsize=7,
                    color="#b03a2e" if edge else "black")  # fmt: skip
    ax.set_xlabel("memory size (MB)")
    ax.set_ylabel(f"cost per month ({result.currency})")
    ax.yaxis.set_major_formatter(_money(result.currency))
    twin.set_ylabel(f"p50 end-to-end latency ({unit})")
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=7, frameon=False,
              loc="upper left", bbox_to_anchor=(1.12, 1.0))  # fmt: skip
    title = "Cost and latency against memory (* = cheapest)"
    if result.edge_notes:
        title += "\nthe cheapest size is at the edge of the range tried: try beyond it"
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    return ax


def hedge_frontier(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """A hedge's frontier: p99 and p99.9 latency (left, log) and cost per million calls
    (right) against the hedge delay, the unhedged values as dotted lines.

    Args:
        table: a :func:`costmodel.hedge_frontier` frame.
        ax: where to draw the latency (the cost goes on a twin axis).

    Returns:
        The Axes of the latency.
    """
    currency = _currency(table)
    money = f"{currency.lower()}_per_million"
    needed = {"delay_ms", "latency_p99_ms", "latency_p999_ms", "extra_invocations_pct", money}
    if not needed <= set(table.columns) or "unhedged" not in table.index:
        raise InvalidUsage("table: a costmodel.hedge_frontier() frame is needed")
    ax = _axes(ax, (7.5, 4.2))
    twin = ax.twinx()
    hedged = table.drop(index="unhedged").sort_values("delay_ms")
    unhedged = table.loc["unhedged"].to_dict()
    base = {c: float(unhedged[c]) for c in needed - {"delay_ms"}}
    delays = hedged["delay_ms"].to_numpy(dtype=float)
    for column, label, color in (
        ("latency_p99_ms", "p99", "#4c72b0"),
        ("latency_p999_ms", "p99.9", "#8172b3"),
    ):
        ax.plot(delays, hedged[column], marker="o", ms=4, color=color, label=f"{label} hedged")
        ax.axhline(base[column], color=color, ls=":", lw=1, label=f"{label} unhedged")
    twin.plot(delays, hedged[money], marker="s", ms=4, color="#dd8452", ls="--",
              label="cost hedged")  # fmt: skip
    twin.axhline(base[money], color="#dd8452", ls=":", lw=1, label="cost unhedged")
    for delay, extra, cost in zip(delays, hedged["extra_invocations_pct"], hedged[money],
                                  strict=True):  # fmt: skip
        twin.annotate(f"+{extra:.1f}%", (delay, cost), xytext=(3, 5),
                      textcoords="offset points", fontsize=7, color="#a0522d")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("hedge delay (ms)")
    ax.set_ylabel("latency of the call (ms, log)")
    twin.set_ylabel(f"cost per million calls ({currency})")
    twin.yaxis.set_major_formatter(_money(currency))
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=7, frameon=False,
              loc="upper left", bbox_to_anchor=(1.14, 1.0))  # fmt: skip
    billing = str(table.attrs.get("loser_billing", ""))
    ax.set_title(
        "Hedging: tail latency against cost (labels: extra invocations)"
        + (f"\nlosers billed {billing.replace('_', ' ')}" if billing else ""),
        fontsize=9,
    )
    ax.grid(True, which="both", alpha=0.3)
    return ax


def latency_distribution(
    latencies: Mapping[str, Any], *, ax: Axes | None = None, log: bool = True
) -> Axes:
    """Empirical CDF of end-to-end latency per architecture, p50 and p99 marked.

    Latency is in seconds where it exceeds 10 s, else in ms. Each curve has its own dash
    pattern; architectures with the same samples are drawn once, labelled "identical".
    The title names the lowest and the highest p99.

    Args:
        latencies: ``{architecture: latency samples in ms}``, e.g. from
            :func:`costmodel.architectures.comparison.latency_samples`.
        ax: where to draw (default: a new figure).
        log: a logarithmic latency axis.

    Returns:
        The Axes.
    """
    if not latencies:
        raise InvalidUsage("latencies: give at least one architecture's samples")
    series: dict[str, np.ndarray[Any, Any]] = {}
    for name, samples in latencies.items():
        values = np.sort(np.asarray(samples, dtype=float))
        if values.size == 0:
            raise InvalidUsage(f"latencies[{name!r}]: no samples")
        series[str(name)] = values
    ax = _axes(ax)
    scale, unit = _latency_unit(np.concatenate(list(series.values())))
    groups = _identical_samples(series)
    low, high = np.inf, 0.0
    for i, (name, twins) in enumerate(groups.items()):
        values = series[name] / scale
        share = np.arange(1, values.size + 1) / values.size
        low = min(low, float(np.quantile(values, 0.01)))
        high = max(high, float(values[-1]))
        style = _style(i)
        ax.step(values, share, where="post", color=style["color"], ls=style["ls"],
                label=_series_label(name, twins))  # fmt: skip
        for q, marker in ((0.5, "o"), (0.99, "^")):
            x = float(np.quantile(values, q))
            ax.plot([x], [q], marker=marker, color=style["color"], mec="black", ms=5)
    ax.set_xscale("log" if log else "linear")
    if log and low > 0:
        ax.set_xlim(low / 1.5, high * 1.5)  # the fastest 1% (early failures) off-scale
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: _minor_label(v)))
    ax.set_xlabel(f"end-to-end latency ({unit})")
    ax.set_ylabel("share of requests at or below")
    ax.set_ylim(0, 1.05)
    p99 = {name: float(np.quantile(series[name], 0.99)) for name in groups}
    fast, slow = min(p99, key=p99.__getitem__), max(p99, key=p99.__getitem__)
    answer = (
        f"lowest p99 {fast} ({_latency_text(p99[fast])}), "
        f"highest {slow} ({_latency_text(p99[slow])})"
        if fast != slow
        else f"p99 {_latency_text(p99[fast])}"
    )
    ax.set_title(f"Latency distribution, {answer} (o = p50, ^ = p99)", fontsize=9)
    ax.legend(title="architecture", fontsize=8, frameon=False, loc="lower right")
    ax.grid(True, alpha=0.3)
    return ax


def _minor_label(value: float) -> str:
    """Minor ticks 2 and 5 of each decade labelled, the others not."""
    lead = value / 10 ** np.floor(np.log10(value))
    return f"{value:g}" if round(lead) in (2, 5) else ""


def _latency_text(ms: float) -> str:
    return f"{ms / 1000:,.1f} s" if ms >= 10_000 else f"{ms:,.0f} ms"


def _identical_samples(series: Mapping[str, np.ndarray[Any, Any]]) -> dict[str, list[str]]:
    """``{first name: [names with the same sorted samples]}``: curves that would overlap."""
    groups: dict[str, list[str]] = {}
    for name, values in series.items():
        same = next(
            (
                first
                for first in groups
                if series[first].shape == values.shape
                and np.allclose(series[first], values, rtol=1e-9, atol=0)
            ),
            None,
        )
        if same is None:
            groups[name] = []
        else:
            groups[same].append(name)
    return groups


def save_charts(
    architectures: Mapping[str, Architecture],
    table: pd.DataFrame,
    out_dir: str | Path,
    *,
    provider: str,
    invocations: float,
    samples: int = 20_000,
    seed: int = 0,
    dpi: int = 110,
    free_tier: FreeTier = False,
    services: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the comparison's charts as PNG files; return their paths.

    ``breakdown.png`` (:func:`cost_breakdown` of ``table``), ``cost_vs_volume.png`` (a
    sweep from 1/1000 to 1000 x ``invocations`` priced like ``table``: the same
    ``free_tier``, ``services`` and ``options``) and ``latency.png``
    (:func:`latency_distribution`). Drawn on plain ``Figure`` objects, so no GUI backend
    is needed.

    Args:
        architectures: ``{name: architecture}`` compared.
        table: their :func:`costmodel.compare` frame.
        out_dir: the folder (created if missing).
        provider: function platform key.
        invocations: requests per month.
        samples: Monte Carlo requests for the sweep and the latency chart.
        seed: random seed.
        dpi: resolution.
        free_tier: apply the free tiers in the volume sweep (as ``table`` was priced).
        services: sheets for the other services, as given to :func:`costmodel.compare`.
        options: provider options for the function bills, as given to ``compare``.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []

    def save(name: str, draw: Any) -> None:
        figure = Figure(figsize=(7.5, 4.2), layout="constrained")
        draw(figure.add_subplot())
        path = folder / name
        figure.savefig(path, dpi=dpi)
        paths.append(path)

    save("breakdown.png", lambda ax: cost_breakdown(table, ax=ax))
    low = max(invocations / 1000, 1.0)
    volumes = sweep(
        architectures,
        over="invocations",
        values=np.geomspace(low, max(invocations * 1000, low * 10), 13),
        provider=provider,
        samples=min(samples, 5_000),
        seed=seed,
        free_tier=free_tier,
        services=services,
        options=options,
    )
    save("cost_vs_volume.png", lambda ax: cost_vs_volume(volumes, ax=ax))
    latencies = latency_samples(architectures, samples=samples, seed=seed)
    save("latency.png", lambda ax: latency_distribution(latencies, ax=ax))
    return paths


# ---------------------------------------------------------------- simulation
# Charts of costmodel.simulate results (kept in one block: written with the simulator).

__all__ += ["save_simulation_charts", "simulation_costs", "simulation_timeline"]

_OUTCOME_COLORS = {
    "ok": "#55a868",
    "cache_hit": "#a6d96a",
    "fallback": "#f2b134",
    "rejected": "#8c8c8c",
    "timeout": "#d1495b",
    "error": "#7b1e2b",
}
_BREAKER_SHADES = {"open": "#d1495b", "half-open": "#f2b134"}
# Policies' cost lines: hues far apart (and distinct from the outcome fills, which sit
# in another panel), each with its own dash pattern so they stay apart in grey too.
_COST_LINES = ("#1f4e9c", "#c0392b", "#111111", "#0f9b8e", "#8e44ad", "#b7950b")
_COST_DASHES = ("-", "--", "-.", ":")


def _simulation_results(results: Any) -> dict[str, Any]:
    from .simulation.run import SimulationResult

    if isinstance(results, SimulationResult):
        return {results.name: results}
    if not isinstance(results, Mapping) or not results:
        raise InvalidUsage(
            f"results={results!r}: give a SimulationResult or a non-empty {{name: result}} dict"
        )
    return dict(results)


def _two_panels(ax: Axes | None) -> tuple[Axes, Axes]:
    """An outcomes panel above a cost panel, sharing x: in a new figure, or in ``ax``'s
    place (its subplot split in two)."""
    if ax is None:
        _, (top, bottom) = plt.subplots(
            2,
            1,
            figsize=(11.0, 6.4),
            sharex=True,
            height_ratios=(3, 2),
            layout="constrained",
        )
        return top, bottom
    spec = ax.get_subplotspec()
    if spec is None:
        raise InvalidUsage("ax=...: must be a subplot (the timeline splits it into two panels)")
    figure = ax.figure
    ax.remove()
    grid = spec.subgridspec(2, 1, height_ratios=(3, 2), hspace=0.08)
    top = figure.add_subplot(grid[0])
    bottom = figure.add_subplot(grid[1], sharex=top)
    return top, bottom


def simulation_timeline(results: Any, *, policy: str | None = None, ax: Axes | None = None) -> Axes:
    """Calls per second by outcome, the breaker's state shaded; cumulative cost per policy.

    Top panel: one policy's calls per second of arrival, stacked by outcome (ok, cache
    hit, fallback, rejected, timeout, error); red spans are the seconds its breaker was
    open, amber ones half-open. Bottom panel: every policy's cumulative cost, caller plus
    callee, on a log scale, so a policy costing cents stays readable next to one costing
    dollars. Legends sit outside the data, on the right.

    Args:
        results: a :class:`costmodel.SimulationResult`, or ``{name: result}`` as filled
            by ``compare_policies(..., results=...)``.
        policy: whose outcomes to stack (default: the first one with a breaker).
        ax: a subplot to draw in (split into the two panels; default: a new figure).

    Returns:
        The Axes of the outcomes (the cost panel is ``ax.figure.axes[-1]``).
    """
    runs = _simulation_results(results)
    if policy is None:
        with_breaker = [k for k, r in runs.items() if r.timeline["breaker_state"].notna().any()]
        policy = with_breaker[0] if with_breaker else next(iter(runs))
    if policy not in runs:
        raise InvalidUsage(f"policy={policy!r}: not among {list(runs)}")
    ax, cost_ax = _two_panels(ax)
    timeline = runs[policy].timeline
    seconds = timeline["second"].to_numpy(dtype=float)
    edges = np.append(seconds, seconds[-1] + 1.0)
    shown = [o for o in _OUTCOME_COLORS if timeline[o].sum() > 0]
    bottom = np.zeros(len(seconds))
    for outcome in shown:
        counts = timeline[outcome].to_numpy(dtype=float)
        ax.stairs(
            bottom + counts,
            edges,
            baseline=bottom.copy(),
            fill=True,
            color=_OUTCOME_COLORS[outcome],
            label=outcome.replace("_", " "),
        )
        bottom += counts
    states = timeline["breaker_state"].fillna("").to_numpy(dtype=str)
    for state, color in _BREAKER_SHADES.items():
        flags = np.concatenate(([0], (states == state).astype(np.int8), [0]))
        changes = np.flatnonzero(np.diff(flags))
        for i, (start, stop) in enumerate(zip(changes[::2], changes[1::2], strict=True)):
            ax.axvspan(
                edges[start],
                edges[stop],
                color=color,
                alpha=0.18,
                linewidth=0,
                label=f"breaker {state}" if i == 0 else None,
            )
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)
    ax.set_ylabel("calls per second")
    ax.tick_params(labelbottom=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(f"{runs[policy].scenario.name}: what {policy!r} did (top), what each cost")
    currency = "USD"
    smallest = np.inf
    for i, (name, run) in enumerate(runs.items()):
        cost = (run.timeline["caller_cost"] + run.timeline["callee_cost"]).cumsum().to_numpy()
        positive = cost[cost > 0]
        if positive.size:
            smallest = min(smallest, float(positive.min()))
        cost_ax.plot(
            run.timeline["second"].to_numpy(dtype=float) + 1.0,
            cost,
            linewidth=2,
            color=_COST_LINES[i % len(_COST_LINES)],
            linestyle=_COST_DASHES[i % len(_COST_DASHES)],
            label=f"{name}: {_money(run.caller_bill.currency)(run.total_cost)}",
        )
        currency = run.caller_bill.currency
    cost_ax.set_yscale("log")
    if np.isfinite(smallest):
        cost_ax.set_ylim(bottom=smallest / 2)
    cost_ax.yaxis.set_major_formatter(_money(currency))
    cost_ax.set_ylabel(f"cumulative cost ({currency}, log)")
    cost_ax.set_xlabel("simulated time (s)")
    cost_ax.grid(True, which="major", axis="y", alpha=0.3)
    cost_ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        title="caller + callee",
        title_fontsize=8,
    )
    return ax


def simulation_costs(results: Any, *, ax: Axes | None = None) -> Axes:
    """Stacked bars: each policy's cost, caller (waiting) and callee (executions).

    Args:
        results: ``{name: SimulationResult}`` (or one result).
        ax: the Axes to draw on (default: a new figure).
    """
    runs = _simulation_results(results)
    ax = _axes(ax)
    names = list(runs)
    caller = np.array([runs[n].caller_bill.total for n in names])
    callee = np.array([runs[n].callee_bill.total for n in names])
    positions = np.arange(len(names))
    ax.bar(positions, caller, color="#4c72b0", label="caller (billed while it waits)")
    ax.bar(positions, callee, bottom=caller, color="#dd8452", label="callee (executions)")
    currency = runs[names[0]].caller_bill.currency
    for x, total in zip(positions, caller + callee, strict=True):
        ax.annotate(_money(currency)(total), (x, total), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(positions, names, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel(f"cost of the simulated traffic ({currency})")
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_xlabel("policy")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Cost per policy, same traffic and outage")
    return ax


def save_simulation_charts(results: Any, out_dir: str | Path, *, dpi: int = 110) -> list[Path]:
    """Write ``simulation_timeline.png`` and ``simulation_costs.png``; return their paths.

    Args:
        results: ``{name: SimulationResult}`` from ``compare_policies(..., results=...)``.
        out_dir: the folder (created if missing).
        dpi: resolution.
    """
    runs = _simulation_results(results)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    charts: tuple[tuple[str, tuple[float, float], Callable[[Axes], Axes]], ...] = (
        ("simulation_timeline.png", (11.0, 6.4), lambda ax: simulation_timeline(runs, ax=ax)),
        ("simulation_costs.png", (7.5, 4.2), lambda ax: simulation_costs(runs, ax=ax)),
    )
    for name, size, draw in charts:
        figure = Figure(figsize=size, layout="constrained")
        draw(figure.add_subplot())
        path = folder / name
        figure.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


_STRATEGY_STYLE: dict[str, dict[str, Any]] = {
    "nothing": {"color": "#8c8c8c", "marker": "o", "label": "do nothing (cold starts)"},
    "keep-warm": {"color": "#dd8452", "marker": "s", "label": "keep-warm pings"},
    "provisioned": {"color": "#4c72b0", "marker": "^", "label": "provisioned concurrency"},
}


def cost_and_p99_by_strategy(result: Any, *, ax: Axes | None = None) -> Axes:
    """Should I ping, provision, or neither? Cost (top) and p99 latency (bottom) per
    month against traffic, one line per strategy, break-evens marked.

    Args:
        result: a :class:`costmodel.WarmStrategies` (from :func:`costmodel.warm_strategies`).
        ax: the Axes to draw in (split into two panels; default: a new figure).

    Returns:
        The top (cost) Axes.
    """
    table = getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise InvalidUsage(f"result={type(result).__name__}: must be a costmodel.WarmStrategies")
    top, bottom = _two_panels(ax)
    not_priced = []
    for strategy, rows in table.groupby("strategy", sort=False):
        style: dict[str, Any] = _STRATEGY_STYLE.get(str(strategy), {"label": str(strategy)})
        calls = rows["calls_per_month"].to_numpy()
        if rows["priced"].all():
            top.plot(calls, rows["cost_usd"], **style)
        else:
            not_priced.append(f"{style['label']}: {rows['note'].iloc[0]}")
        bottom.plot(calls, rows["p99_ms"], **{**style, "label": None})
    marked = 0
    for _, row in result.break_even.iterrows():
        at = row["calls_per_month"]
        if np.isfinite(at):
            marked += 1
            top.axvline(at, color="#555555", linestyle=":", linewidth=1)
            top.annotate(
                f"{row['cheaper_below']} | {row['cheaper_above']}\n{_count_label(at)}/month",
                (at, 1.0 - 0.1 * marked),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="top",
                fontsize=7,
            )
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("cost per month (USD)")
    top.yaxis.set_major_formatter(_money("USD"))
    top.legend(fontsize=8, frameon=False, loc="lower right")
    title = f"{result.function.name} on {result.provider}: ping, provision, or neither?"
    if not_priced:
        title += "\n" + "; ".join(not_priced)
    top.set_title(title, fontsize=9)
    bottom.set_xscale("log")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("calls per month")
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _count_label(v)))
    return top
