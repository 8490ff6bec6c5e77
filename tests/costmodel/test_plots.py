"""Plots render without error, on a given Axes or a new one, with labelled axes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from costmodel import (
    InvalidUsage,
    plots,
)
from costmodel.architectures.comparison import compare, latency_samples, sweep
from costmodel.architectures.compositions import Function, async_chain, sync_chain, workflow
from costmodel.architectures.distributions import CpuBound, lognormal

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
    """Log-log lines per architecture with a marker at each break-even volume."""
    result = sweep(
        {"sync": sync_chain(A, B), "flow": workflow(A, B)},
        over="invocations",
        values=np.geomspace(1e3, 1e8, 11),
        samples=500,
        free_tier=True,
    )
    _fig, ax = plt.subplots()
    assert plots.cost_vs_volume(result, ax=ax) is ax
    assert ax.get_xlabel() == "requests per month"
    assert ax.get_ylabel() == "cost per month (USD)"
    assert ax.get_xscale() == "log"
    assert len(ax.lines) >= 2 + 2 * len(result.break_even)


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
    """Volumes inside the free tier cost $0: marked on the bottom edge, not dropped."""
    cheap = {"f": Function("f", memory_mb=128, duration=lognormal(p50_ms=10, p99_ms=20))}
    result = sweep(cheap, over="invocations", values=[1e3, 1e5, 1e7, 1e9], samples=200,
                   free_tier=True)  # fmt: skip
    assert (result.frame["total_usd"] == 0).sum() == 2
    _fig, ax = plt.subplots()
    plots.cost_vs_volume(result, ax=ax)
    assert "free tiers applied" in ax.get_title()
    zero_marks = [line for line in ax.lines if line.get_marker() == "v" and len(line.get_xdata())]
    assert [list(line.get_xdata()) for line in zero_marks] == [[1e3, 1e5]]
    assert any("inside the free tier" in text.get_text() for text in ax.get_legend().get_texts())
    paid = sweep(cheap, over="invocations", values=[1e3, 1e9], samples=200)
    _fig, ax = plt.subplots()
    plots.cost_vs_volume(paid, ax=ax)
    assert "no free tier" in ax.get_title()
    assert not [line for line in ax.lines if line.get_marker() == "v"]
