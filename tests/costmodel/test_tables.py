"""Numbers for people (costmodel.tables): money, unit prices, durations, and the tables the
CLI prints and Jupyter shows."""

from __future__ import annotations

import dataclasses
import math
import re

import pandas as pd
import pytest
from support.paths import EXAMPLES

import costmodel
from costmodel import tables


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (2.733338, "USD", "$2.73"),
        (2584.08, "USD", "$2,584.08"),
        (0.000498, "USD", "$0.000498"),
        (0.0049, "USD", "$0.0049"),
        (0.005, "USD", "$0.005"),
        (0.0, "USD", "$0.00"),
        (-3.5, "USD", "-$3.50"),
        (1234.5, "EUR", "€1,234.50"),
        (7.2, "CHF", "7.20 CHF"),
    ],
)
def test_money_has_its_symbol_and_2_decimals_more_only_below_a_cent(
    value: float, currency: str, shown: str
) -> None:
    """Two decimals from a cent up, three significant digits below it, the symbol first."""
    assert tables.money(value, currency) == shown


@pytest.mark.parametrize(
    ("price", "unit", "shown"),
    [
        (2e-07, "request", "$0.20 per 1M requests"),
        (3.5e-06, "request", "$3.50 per 1M requests"),
        (2.5e-05, "transition", "$25.00 per 1M transitions"),
        (1.66667e-05, "GB-s", "$0.0000166667 per GB-s"),
        (0.085, "GB", "$0.085 per GB"),
        (0.0, "request", "free"),
    ],
)
def test_unit_prices_name_their_unit_per_million_for_counted_things(
    price: float, unit: str, shown: str
) -> None:
    """Counted things per 1M, everything else per unit, with up to 6 significant digits."""
    assert tables.unit_price(price, unit, "USD") == shown


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(0.0, "0 ms"), (363.2, "363 ms"), (9_999.4, "9,999 ms"), (10_000.0, "10.0 s"),
     (105_458.0, "105.5 s")],
)  # fmt: skip
def test_durations_in_ms_below_10_s_and_in_s_above(ms: float, shown: str) -> None:
    """A latency reads as 363 ms or 105.5 s, never as 105,458 (ms)."""
    assert tables.duration(ms) == shown


def test_bill_table_ends_with_a_total_that_is_the_sum_of_the_lines() -> None:
    """The TOTAL row is the bill's total, also when lines that cost nothing are hidden."""
    bill = costmodel.estimate(
        "aws-lambda", invocations=3e6, duration_ms=120, memory_mb=1536, free_tier=True
    )
    lines = bill.lines.drop(columns=["provider"])
    empty = pd.DataFrame([{"component": "egress", "item": "egress", "quantity": 0.0,
                           "unit": "GB", "unit_price": 0.09, "cost": 0.0}])  # fmt: skip
    with_empty = pd.concat([lines, empty], ignore_index=True)
    shown = tables.bill_table(with_empty, bill.currency)
    every = tables.bill_table(with_empty, bill.currency, show_all=True)
    assert shown.iloc[-1]["component"] == every.iloc[-1]["component"] == "TOTAL"
    assert shown.iloc[-1]["cost"] == every.iloc[-1]["cost"] == "$2.73"
    assert len(every) == len(with_empty) + 1 and len(shown) == len(lines) + 1
    assert "requests, free tier" in shown["item"].tolist()  # a quantity at $0: shown
    costs = [float(c.lstrip("$")) for c in every["cost"].iloc[:-1]]
    assert sum(costs) == pytest.approx(2.73, abs=0.01)
    assert tables.hidden_lines(with_empty) == (
        "not shown: 1 line that bills nothing (egress); --all shows it"
    )
    assert tables.hidden_lines(lines) is None


def test_measure_table_leaves_out_measures_that_are_zero_everywhere() -> None:
    """All-zero measures go unless show_all; a measure 0 in one column only stays."""
    frame = pd.DataFrame(
        {"queue_usd": [0.0, 0.0], "storage_usd": [0.0, 1.7], "latency_p99_ms": [1.0, 2.0]},
        index=["a", "b"],
    )
    shown = tables.measure_table(frame, "USD")
    assert shown["measure"].tolist() == ["storage cost", "latency p99"]
    every = tables.measure_table(frame, "USD", show_all=True)
    assert every["measure"].tolist() == ["queue cost", "storage cost", "latency p99"]
    assert every.loc[0, "a"] == "$0.00"


def _cells(html: str) -> list[str]:
    return [re.sub("<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", html)]


def test_a_bill_renders_as_an_html_table_with_dollars_and_units() -> None:
    """Bill._repr_html_: every line (free tier included), units, $ amounts, a TOTAL row."""
    bill = costmodel.estimate(
        "aws-lambda", invocations=3e6, duration_ms=120, memory_mb=1536, free_tier=True
    )
    html = bill._repr_html_()
    assert html.startswith("<table><caption>Bill on aws-lambda: $2.73</caption>")
    cells = _cells(html)
    assert "requests, free tier" in cells and "2,000,000 requests" in cells
    assert "$0.20 per 1M requests" in cells and "140,000 GB-s" in cells
    assert cells[-5:] == ["TOTAL", "", "", "", "$2.73"]


def test_log_bills_sweeps_and_simulations_render_as_html() -> None:
    """LogBill, Sweep and SimulationResult have readable HTML views."""
    log_bill = costmodel.bill_from_logs(EXAMPLES / "logs" / "lambda_report.log",
                                        provider="aws-lambda")  # fmt: skip
    html = log_bill._repr_html_()
    assert "240 invocations billed on aws-lambda" in html and "512 MB" in _cells(html)
    assert "1 malformed line(s)" in html
    architectures = costmodel.load_architectures(EXAMPLES / "video_pipeline.toml")
    swept = costmodel.sweep(architectures, over="memory_mb", values=[1024, 2048], samples=200)
    html = swept._repr_html_()
    assert "Sweep over memory_mb" in html and any(c.startswith("$") for c in _cells(html))
    assert ("⚠" in html) == bool(swept.edge_notes)
    spec = costmodel.load_simulation(EXAMPLES / "outage_short.toml")
    scenario = dataclasses.replace(
        spec.scenario, arrivals=costmodel.PoissonArrivals(rate_per_s=2, duration_s=90)
    )
    result = costmodel.simulate(spec.policies["breaker + fallback"], scenario)
    cells = _cells(result._repr_html_())
    calls = cells[cells.index("calls") + 1]
    assert int(calls.replace(",", "")) == len(result.calls)
    assert "&nbsp;&nbsp;answered by the callee" in result._repr_html_()


def test_readable_comparison_is_text_and_html() -> None:
    """readable(compare(...)): a text table in a terminal, an HTML table in Jupyter."""
    architectures = costmodel.load_architectures(EXAMPLES / "video_pipeline.toml")
    table = costmodel.compare(architectures, invocations=1e5, samples=300)
    shown = tables.readable(table, title="video")
    text = str(shown)
    assert text.splitlines()[0] == "video" and "total cost" in text and "$" in text
    assert "latency p99" in text and re.search(r"\d+\.\d s", text)
    assert "gateway cost" not in text  # zero for every architecture
    cells = _cells(shown._repr_html_())
    total = cells[cells.index("total cost") + 1 :][:4]
    expected = [tables.money(v) for v in table["total_usd"]]
    assert total == expected and not any(math.isnan(v) for v in table["total_usd"])
