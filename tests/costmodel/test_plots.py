"""Plots render without error, on a given Axes or a new one, with labelled axes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from support.paths import EXAMPLES

from costmodel import (
    InvalidUsage,
    plots,
)
from costmodel.architectures.comparison import compare, latency_samples, sweep
from costmodel.architectures.compositions import Function, async_chain, sync_chain, workflow
from costmodel.architectures.distributions import CpuBound, lognormal
from costmodel.architectures.file import load_architectures

A = Function("a", memory_mb=512, duration=lognormal(p50_ms=80, p99_ms=300))
B = Function("b", memory_mb=1024, duration=lognormal(p50_ms=400, p99_ms=1200))
ARCHS = {
    "sync": sync_chain(A, B, via="gateway"),
    "async": async_chain(A, B, via="queue"),
    "flow": workflow(A, B),
}


@pytest.fixture(autouse=True)
def _close_figures():  # type: ignore[no-untyped-def]
    yield
    plt.close("all")


def test_cost_breakdown_stacks_components_with_currency(tmp_path: Path) -> None:
    """One stacked bar per architecture, the bar heights add up to the totals."""
    table = compare(ARCHS, invocations=5_000_000, samples=2_000)
    ax = plots.cost_breakdown(table)
    assert ax.get_ylabel() == "cost per month (USD)"
    assert ax.get_xlabel() == "architecture"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sync", "async", "flow"]
    tops = {}
    for patch in ax.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0), patch.get_y() + patch.get_height())
    np.testing.assert_allclose([tops[i] for i in range(3)], table["total_usd"], rtol=1e-9)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"gateway", "queue", "orchestration", "compute"} <= set(legend)
    ax.figure.savefig(tmp_path / "breakdown.png")
    assert (tmp_path / "breakdown.png").stat().st_size > 1000


def test_cost_vs_volume_marks_break_even_points() -> None:
    """Cost relative to the cheapest per architecture, a marker at each break-even volume,
    the title naming the cheapest design on each side of it (the video pipeline inside
    and beyond the free tiers)."""
    result = sweep(
        load_architectures(EXAMPLES / "video_pipeline.toml"),
        over="invocations",
        values=np.geomspace(1e2, 1e6, 9),
        samples=500,
        free_tier=True,
    )
    _fig, ax = plt.subplots()
    assert plots.cost_vs_volume(result, ax=ax) is ax
    assert ax.get_xlabel() == "requests per month"
    assert ax.get_ylabel().startswith("cost")
    assert "cheapest design" in ax.get_ylabel()
    assert ax.get_xscale() == "log"
    assert not result.break_even.empty
    assert len(ax.lines) >= 2 + 2 * len(result.break_even)
    title = " ".join(ax.get_title().split())  # the title wraps
    assert title.startswith("Cheapest: ") and " below " in title and " above" in title
    below = result.break_even.iloc[0]["cheaper_below"]
    assert title.startswith(f"Cheapest: {below} below")


def _drawn(ax: Any) -> dict[str, np.ndarray[Any, Any]]:
    """The y values of each labelled line of ``ax``, by label."""
    return {
        line.get_label(): np.asarray(line.get_ydata(), dtype=float)
        for line in ax.lines
        if not str(line.get_label()).startswith("_")
    }


def test_cost_vs_volume_without_break_even_says_so_and_shows_the_gap() -> None:
    """No crossing: the title says which design is cheapest throughout and that there is
    no break-even; the cheapest sits on 0 %, the others at their cost above it."""
    result = sweep(
        {"sync": sync_chain(A, B), "async": async_chain(A, B)},
        over="invocations",
        values=np.geomspace(1e3, 1e7, 5),
        samples=500,
    )
    assert result.break_even.empty
    ax = plots.cost_vs_volume(result)
    totals = result.frame.pivot(index="value", columns="architecture", values="total_usd")
    winner = str(totals.mean().idxmin())
    title = " ".join(ax.get_title().split())  # the title wraps
    assert title.startswith(f"{winner} is cheapest at every volume")
    assert "no break-even" in title
    lines = _drawn(ax)
    np.testing.assert_allclose(lines[winner], 0.0, atol=1e-9)
    other = next(name for name in totals.columns if name != winner)
    expected = (totals[other] / totals[winner] - 1) * 100
    np.testing.assert_allclose(lines[other], expected.to_numpy(), rtol=1e-9)


def test_identical_series_are_drawn_once_and_named() -> None:
    """Two designs with the same costs give one line labelled "identical"; the others get
    distinct dash patterns and markers."""
    result = sweep(
        {"one": sync_chain(A, B), "same": sync_chain(A, B), "flow": workflow(A, B)},
        over="invocations",
        values=np.geomspace(1e3, 1e6, 4),
        samples=300,
    )
    ax = plots.cost_vs_volume(result)
    labels = list(_drawn(ax))
    assert "one (identical: same)" in labels and "flow" in labels and "same" not in labels
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.lines[:2]}
    assert len(styles) == 2
    latency = plots.latency_distribution({"a": [10.0, 20.0], "b": [10.0, 20.0], "c": [5.0, 9.0]})
    texts = [t.get_text() for t in latency.get_legend().get_texts()]
    assert texts == ["a (identical: b)", "c"]


def test_latency_axis_in_seconds_beyond_10_s() -> None:
    """Latencies above 10 s are drawn in seconds; the title names the lowest and highest p99."""
    ax = plots.latency_distribution({"slow": [20_000.0, 60_000.0], "fast": [9_000.0, 12_000.0]})
    assert ax.get_xlabel() == "end-to-end latency (s)"
    assert max(ax.lines[0].get_xdata()) == pytest.approx(60.0)
    assert "lowest p99 fast" in ax.get_title() and "highest slow" in ax.get_title()


def test_memory_sweep_warns_when_the_cheapest_size_is_at_the_edge() -> None:
    """Durations that do not shrink with memory make the smallest size cheapest: the result
    says it is the smallest tried, and so does the chart."""
    result = sweep({"b": B}, over="memory_mb", values=[512, 1024, 2048], samples=200)
    assert result.cheapest.loc["b", "edge"] == "smallest"
    assert result.edge_notes == [
        "b: the cheapest memory size is the smallest one tried (512 MB); "
        "the optimum may lie below the range"
    ]
    ax = plots.cost_and_latency_vs_memory(result)
    assert "edge of the range" in ax.get_title()
    assert any("optimum may lie beyond" in t.get_text() for t in ax.texts)
    inside = sweep(
        {"b": B}, over="memory_mb", values=[128, 512, 1024, 1769, 3008],
        scaling=CpuBound(cpu_share=0.95), samples=300,
    )  # fmt: skip
    edge = inside.cheapest.loc["b", "edge"]
    assert (edge == "") == (not inside.edge_notes)


def test_cost_and_latency_vs_memory_uses_two_axes() -> None:
    """Cost on the left, latency on a twin axis on the right, cheapest marked."""
    result = sweep(
        {"b": B},
        over="memory_mb",
        values=[128, 512, 1024, 1769, 3008],
        scaling=CpuBound(),
        samples=300,
    )
    ax = plots.cost_and_latency_vs_memory(result)
    assert ax.get_xlabel() == "memory size (MB)"
    assert ax.get_ylabel() == "cost per month (USD)"
    twins = [other for other in ax.figure.axes if other is not ax]
    assert twins and twins[0].get_ylabel() == "p50 end-to-end latency (ms)"
    with pytest.raises(InvalidUsage, match="'memory_mb' is needed"):
        plots.cost_and_latency_vs_memory(
            sweep({"b": B}, over="invocations", values=[1, 2], samples=10)
        )


def test_latency_distribution_draws_one_cdf_per_architecture(tmp_path: Path) -> None:
    """Step CDFs on a log latency axis, p50/p99 marked."""
    ax = plots.latency_distribution(latency_samples(ARCHS, samples=2_000))
    assert ax.get_xlabel() == "end-to-end latency (ms)"
    assert ax.get_ylabel() == "share of requests at or below"
    assert len([t.get_text() for t in ax.get_legend().get_texts()]) == 3
    ax.figure.savefig(tmp_path / "latency.png")
    with pytest.raises(InvalidUsage):
        plots.latency_distribution({})


def test_save_charts_writes_three_pngs(tmp_path: Path) -> None:
    """The CLI's charts: breakdown, cost vs volume, latency, as non-empty PNG files."""
    table = compare(ARCHS, invocations=1e6, samples=500)
    paths = plots.save_charts(
        ARCHS, table, tmp_path / "out", provider="aws-lambda", invocations=1e6, samples=500
    )
    assert [p.name for p in paths] == ["breakdown.png", "cost_vs_volume.png", "latency.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_charts_prices_the_volume_sweep_like_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost-vs-volume sweep uses the table's free_tier (off by default), not its own."""
    seen: list[bool] = []
    real = plots.cost_vs_volume

    def observed(result: Any, *, ax: Any = None) -> Any:
        seen.append(result.frame.attrs["free_tier"] != "none")
        drawn = real(result, ax=ax)
        assert ("free tiers applied" in drawn.get_title()) is seen[-1]
        return drawn

    monkeypatch.setattr(plots, "cost_vs_volume", observed)
    for free in (False, True):
        table = compare(ARCHS, invocations=1e4, samples=200, free_tier=free)
        kwargs = {"free_tier": True} if free else {}
        plots.save_charts(ARCHS, table, tmp_path, provider="aws-lambda", invocations=1e4,
                          samples=200, **kwargs)  # fmt: skip
    assert seen == [False, True]


def test_cost_vs_volume_marks_zero_cost_volumes_and_says_free_tiers() -> None:
    """Volumes where the cheapest design costs $0 (inside the free tier) have no ratio:
    they are shaded and named in the legend, not dropped silently."""
    cheap = {"f": Function("f", memory_mb=128, duration=lognormal(p50_ms=10, p99_ms=20))}
    result = sweep(cheap, over="invocations", values=[1e3, 1e5, 1e7, 1e9], samples=200,
                   free_tier=True)  # fmt: skip
    assert (result.frame["total_usd"] == 0).sum() == 2
    _fig, ax = plt.subplots()
    plots.cost_vs_volume(result, ax=ax)
    assert "free tiers applied" in ax.get_title()
    assert np.isnan(ax.lines[0].get_ydata()[:2]).all()
    shaded = [p for p in ax.patches if "inside the free tier" in str(p.get_label())]
    assert len(shaded) == 1
    assert shaded[0].get_x() == pytest.approx(1e3)
    assert any("inside the free tier" in text.get_text() for text in ax.get_legend().get_texts())
    paid = sweep(cheap, over="invocations", values=[1e3, 1e9], samples=200)
    _fig, ax = plt.subplots()
    plots.cost_vs_volume(paid, ax=ax)
    assert "no free tier" in ax.get_title()
    assert not [p for p in ax.patches if "free tier" in str(p.get_label())]


def test_hedge_frontier_plots_tail_and_cost_against_delay(tmp_path: Path) -> None:
    """The frontier chart: p99 and p99.9 on a log axis, cost per million on a twin axis."""
    from costmodel import fixed, hedge_frontier, mixture

    tail = mixture((0.98, lognormal(p50_ms=12, p99_ms=30)), (0.02, fixed(1000)))
    table = hedge_frontier(tail, delays_ms=[20, 50, 100], samples=5000)
    ax = plots.hedge_frontier(table)
    assert ax.get_yscale() == "log" and "latency" in ax.get_ylabel()
    twin = ax.figure.axes[-1]
    assert "USD" in twin.get_ylabel()
    assert len(ax.lines) == 4 and len(twin.lines) == 2  # hedged + unhedged, each
    ax.figure.savefig(tmp_path / "frontier.png")
    plt.close("all")
    with pytest.raises(InvalidUsage, match="hedge_frontier"):
        plots.hedge_frontier(table.drop(index="unhedged"))
