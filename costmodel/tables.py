"""Numbers for people: money with its currency symbol, unit prices with their unit,
durations in ms or s, thousands separators; the tables the CLI prints and the HTML
tables Jupyter shows (``_repr_html_``).

Only the table view rounds: ``--format csv|json`` and the frames of the API keep full
precision and raw units. Money has 2 decimals, more only below a cent
(:func:`money`); unit prices of counted things are per million (:func:`unit_price`);
durations are in ms below 10 s and in s above (:func:`duration`).

>>> money(2.733338, "USD"), money(0.000498, "USD"), money(1234.5, "EUR")
('$2.73', '$0.000498', '€1,234.50')
>>> unit_price(2e-07, "request", "USD"), unit_price(1.66667e-05, "GB-s", "USD")
('$0.20 per 1M requests', '$0.0000166667 per GB-s')
>>> duration(363.2), duration(29_985.0)
('363 ms', '30.0 s')
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CURRENCY_SYMBOLS",
    "SIMULATION_ROWS",
    "Readable",
    "bill_html",
    "bill_table",
    "count",
    "duration",
    "frame_html",
    "group_table",
    "hidden_lines",
    "html_table",
    "log_bill_html",
    "measure_table",
    "money",
    "price_table",
    "quantity",
    "readable",
    "share",
    "simulation_html",
    "simulation_table",
    "sweep_html",
    "text_table",
    "unit_price",
]

#: Symbols written before an amount; other currencies are written after it (``2.73 CHF``).
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥"}
#: Units that count things: their prices read per million (``$0.20 per 1M requests``).
COUNTED_UNITS = (
    "request", "invocation", "execution", "transition", "message", "call", "CPU-ms",
)  # fmt: skip
#: The row a table of bill lines ends with.
TOTAL_LABEL = "TOTAL"
#: The rows of a simulation table, in order: (summary column, label). The calls by final
#: outcome (indented) sum to ``calls``; the attempts refused on the way are counted apart,
#: so an open breaker's rejections show even when a fallback answered every call.
SIMULATION_ROWS = (
    ("calls", "calls"),
    ("ok", "  answered by the callee"),
    ("cache_hits", "  answered from the cache"),
    ("fallbacks", "  answered by the fallback"),
    ("errors", "  failed with an error"),
    ("timeouts", "  timed out"),
    ("rejected", "  rejected, no fallback"),
    ("breaker_rejections", "attempts rejected by the breaker"),
    ("limiter_rejections", "attempts rejected by a limiter"),
    ("throttled", "attempts rejected by the callee platform (throttled)"),
    ("injected_faults", "attempts failed by chaos (injected fault)"),
    ("injected_outcomes", "attempts answered by chaos (injected outcome)"),
    ("injected_latency", "attempts delayed by chaos (injected latency)"),
    ("callee_calls", "callee executions"),
    ("caller_timeouts", "calls cut by the caller's timeout"),
    ("errors_seen", "errors seen by users"),
    ("caller_cost", "caller cost"),
    ("callee_cost", "callee cost"),
    ("total_cost", "total cost"),
    ("cost_per_million", "cost per 1M calls"),
    ("caller_gb_s", "caller GB-s"),
    ("callee_gb_s", "callee GB-s"),
    ("latency_mean_ms", "latency mean"),
    ("latency_p50_ms", "latency p50"),
    ("latency_p99_ms", "latency p99"),
)


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _decimals_below_one(value: float, digits: int) -> int:
    """Decimals that show ``digits`` significant digits of ``0 < value < 1``."""
    return max(0, -math.floor(math.log10(value)) + digits - 1)


def money(value: float, currency: str = "USD", *, digits: int = 3) -> str:
    """An amount with its currency: 2 decimals, ``digits`` significant digits below a cent.

    Args:
        value: the amount, in ``currency``.
        currency: ISO code (``$`` for USD; codes without a symbol follow the amount).
        digits: significant digits kept below a cent.

    >>> money(0), money(-3.5), money(0.0125), money(0.008), money(7.2, "CHF")
    ('$0.00', '-$3.50', '$0.01', '$0.008', '7.20 CHF')
    """
    if math.isnan(value):
        return ""
    size = abs(value)
    if math.isinf(size):
        text = "inf"
    elif size == 0 or size >= 0.01:
        text = _number(size, 2)
    else:
        text = _number(size, _decimals_below_one(size, digits)).rstrip("0")
    sign = "-" if value < 0 and text.strip("0.,") else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def _plural(unit: str) -> str:
    return unit if unit.endswith(("s", "-ms")) else f"{unit}s"


def unit_price(value: float, unit: str, currency: str = "USD") -> str:
    """A unit price with its unit: per million for counted things, 6 significant digits
    below a cent, ``free`` for 0.

    >>> unit_price(0.085, "GB"), unit_price(0.0, "request"), unit_price(2.5e-05, "transition")
    ('$0.085 per GB', 'free', '$25.00 per 1M transitions')
    >>> unit_price(2e-08, "CPU-ms")
    '$0.02 per 1M CPU-ms'

    """
    if math.isnan(value):
        return ""
    if value == 0:
        return "free"
    if unit in COUNTED_UNITS and abs(value) < 0.01:
        return f"{_price(value * 1e6, currency)} per 1M {_plural(unit)}"
    return f"{_price(value, currency)} per {unit}"


def _price(value: float, currency: str) -> str:
    """A unit price: 6 significant digits, at least 2 decimals (``$0.085``, ``$0.20``),
    never rounded to a cent (``$0.008``, not ``$0.01``).

    >>> _price(0.008, "USD"), _price(0.0001397998, "USD"), _price(0.2, "USD")
    ('$0.008', '$0.0001397998', '$0.20')
    """
    size = abs(value)
    if size < 0.01:
        text = _number(size, _decimals_below_one(size, 7)).rstrip("0")
    else:
        decimals = max(2, 6 - len(str(int(size))))
        text = f"{size:,.{decimals}f}".rstrip("0")
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.ljust(2, '0')}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def duration(ms: float) -> str:
    """Milliseconds below 10 s, seconds (one decimal) from 10 s.

    >>> duration(0), duration(0.25), duration(9_999.4), duration(105_458)
    ('0 ms', '0.25 ms', '9,999 ms', '105.5 s')
    """
    if math.isnan(ms):
        return ""
    if abs(ms) >= 10_000:
        return f"{_number(ms / 1000, 1)} s"
    if 0 < abs(ms) < 1:
        return f"{ms:.2g} ms"
    return f"{_number(ms, 0)} ms"


def quantity(value: float, unit: str = "") -> str:
    """A quantity with thousands separators, whole when it is, else 6 significant digits.

    >>> quantity(1_000_000.0, "request"), quantity(27.0265, "GB-s"), quantity(float("inf"))
    ('1,000,000 requests', '27.0265 GB-s', 'no limit')
    """
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "no limit"
    if value == int(value) and abs(value) < 1e15:
        text = f"{int(value):,}"
    elif abs(value) >= 1:
        text = f"{value:,.{max(0, 6 - len(str(int(abs(value)))))}f}".rstrip("0").rstrip(".")
    else:
        text = _number(value, _decimals_below_one(abs(value), 6)).rstrip("0").rstrip(".")
    if unit in COUNTED_UNITS and value != 1:
        unit = _plural(unit)
    return f"{text} {unit}".rstrip()


def count(value: float) -> str:
    """A whole count with thousands separators.

    >>> count(241027.0)
    '241,027'
    """
    return "" if math.isnan(value) else f"{round(value):,}"


def share(value: float) -> str:
    """A share as a percentage (one decimal; two below 1%).

    >>> share(0.0374), share(0.0009), share(1.0)
    ('3.7%', '0.09%', '100.0%')
    """
    if math.isnan(value):
        return ""
    percent = value * 100
    return f"{percent:.2f}%" if 0 < abs(percent) < 1 else f"{percent:.1f}%"


# ---------------------------------------------------------------- tables of bill lines


def bill_table(lines: pd.DataFrame, currency: str, *, show_all: bool = False) -> pd.DataFrame:
    """A bill's lines for reading, and a ``TOTAL`` row: money with its symbol, unit
    prices with their unit, quantities with separators.

    Args:
        lines: ``Bill.lines`` (item, quantity, unit, unit_price, cost; other columns kept).
        currency: the bill's currency.
        show_all: keep the lines that bill nothing (quantity and cost 0; see
            :func:`hidden_lines`). A free tier's lines (a quantity at no cost) always show.

    >>> import costmodel
    >>> bill = costmodel.estimate(
    ...     "gcp-cloud-run-functions", invocations=1e6, duration_ms=100, memory_mb=512
    ... )
    >>> lines = bill.lines.drop(columns=["provider"])
    >>> print(text_table(bill_table(lines, bill.currency), left=2), end="")
    component  item                quantity             unit price   cost
    requests   requests  1,000,000 requests  $0.40 per 1M requests  $0.40
    compute    CPU            33,300 vCPU-s   $0.000024 per vCPU-s  $0.80
    compute    memory          50,000 GiB-s   $0.0000025 per GiB-s  $0.12
    TOTAL                                                           $1.32
    """
    import pandas as pd

    frame = lines.copy()
    if not show_all and len(frame):
        frame = frame[(frame["quantity"] != 0) | (frame["cost"] != 0)]
    total = float(lines["cost"].sum())
    shown = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column].tolist()
        if column == "quantity":
            units = frame["unit"].tolist()
            shown[column] = [quantity(float(v), str(u)) for v, u in zip(values, units, strict=True)]
        elif column == "unit_price":
            units = frame["unit"].tolist()
            shown[column] = [
                unit_price(float(v), str(u), currency) for v, u in zip(values, units, strict=True)
            ]
        elif column == "cost":
            shown[column] = [money(float(v), currency) for v in values]
        elif column != "unit":
            shown[column] = [str(v) for v in values]
    first = "component" if "component" in shown.columns else str(shown.columns[0])
    total_row = dict.fromkeys(shown.columns, "")
    total_row[first] = TOTAL_LABEL
    total_row["cost"] = money(total, currency)
    table = pd.concat([shown, pd.DataFrame([total_row])], ignore_index=True)
    return table.rename(columns={"unit_price": "unit price"})


def _tier(previous: float, upto: float, unit: str, tiers: int) -> str:
    if tiers == 1:
        return "all"
    if math.isinf(upto):
        return f"over {quantity(previous, unit)}"
    if previous == 0:
        return f"first {quantity(upto, unit)}"
    return f"next {quantity(upto - previous, unit)}"


def price_table(sheet_frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """A price sheet's meters for reading: one row per tier with its range, the unit
    price with its unit, and the meter's free allowance on its first tier only.

    Args:
        sheet_frame: ``PriceSheet.to_frame()`` (meter, component, unit, upto,
            unit_price, free).
        currency: the sheet's currency.

    >>> import costmodel
    >>> frame = costmodel.price_sheet("aws-lambda").to_frame()
    >>> print(text_table(price_table(frame, "USD").head(3), left=3), end="")
    meter            component  tier                                  unit price      free allowance
    requests         requests   all                        $0.20 per 1M requests  1,000,000 requests
    duration-x86_64  compute    first 6,000,000,000 GB-s  $0.0000166667 per GB-s        400,000 GB-s
    duration-x86_64  compute    next 9,000,000,000 GB-s       $0.000015 per GB-s
    """
    import pandas as pd

    rows = []
    for (meter, component), tiers in sheet_frame.groupby(["meter", "component"], sort=False):
        previous = 0.0
        for i, row in enumerate(tiers.to_dict("records")):
            unit, upto = str(row["unit"]), float(row["upto"])
            free = float(row["free"])
            rows.append(
                {
                    "meter": str(meter),
                    "component": str(component),
                    "tier": _tier(previous, upto, unit, len(tiers)),
                    "unit price": unit_price(float(row["unit_price"]), unit, currency),
                    "free allowance": quantity(free, unit) if i == 0 and free > 0 else "",
                }
            )
            previous = upto
    columns = ["meter", "component", "tier", "unit price", "free allowance"]
    return pd.DataFrame(rows, columns=columns)


def group_table(groups: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The per-function rows of a bill from logs, each column in its unit (``_mb`` in
    MB, ``_ms`` as a duration, GB-s, ``_share`` in %, ``cost`` in money)."""
    import pandas as pd

    def cell(column: str, value: object) -> str:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return str(value)
        number = float(value)
        formats: tuple[tuple[bool, Callable[[float], str]], ...] = (
            (column == "cost" or column.endswith("_cost"), lambda v: money(v, currency)),
            (column.endswith("_mb"), lambda v: quantity(v, "MB")),
            (column.endswith("_ms"), duration),
            (
                column in ("gb_seconds", "gb_s") or column.endswith("_gb_s"),
                lambda v: quantity(v, "GB-s"),
            ),
            (column.endswith("_share"), share),
        )
        for matches, formatter in formats:
            if matches:
                return formatter(number)
        return quantity(number)

    shown = pd.DataFrame(index=range(len(groups)))
    for column in groups.columns:
        shown[column] = [cell(str(column), v) for v in groups[column].tolist()]
    return shown.rename(columns=_header)


def _header(column: str) -> str:
    """A column's header once its cells carry the unit: ``billed_duration_ms`` reads
    ``billed duration``, ``gb_seconds`` ``GB-s``."""
    if column == "gb_seconds":
        return "GB-s"
    for suffix in ("_mb", "_ms", "_gb_s"):
        column = column.removesuffix(suffix)
    return column.replace("_", " ")


def hidden_lines(lines: pd.DataFrame) -> str | None:
    """The note under a bill table whose lines that bill nothing (quantity and cost 0)
    were left out, or None when none was.

    >>> import pandas as pd
    >>> lines = pd.DataFrame({"item": ["requests", "egress"], "quantity": [10.0, 0.0],
    ...                       "unit": ["request", "GB"], "cost": [0.1, 0.0]})
    >>> hidden_lines(lines)
    'not shown: 1 line that bills nothing (egress); --all shows it'
    """
    empty = lines[(lines["quantity"] == 0) & (lines["cost"] == 0)]
    if empty.empty:
        return None
    items = ", ".join(str(item) for item in empty["item"])
    many = len(empty) > 1
    return (
        f"not shown: {len(empty)} line{'s' if many else ''} that bill{'' if many else 's'} "
        f"nothing ({items}); --all shows {'them' if many else 'it'}"
    )


# ---------------------------------------------------------------- tables of measures


_MeasureRule = tuple[Callable[[str], bool], Callable[[str], str], Callable[[float], str]]
"""(does a column match, its label, its formatter)."""


def _measure_format(column: str, currency: str) -> tuple[str, Callable[[float], str]]:
    """The label and the formatter of a measure column, by its name's unit suffix."""
    code = currency.lower()
    rules: tuple[
        tuple[Callable[[str], bool], Callable[[str], str], Callable[[float], str]], ...
    ] = (
        (
            lambda c: c in (f"{code}_per_million", "cost_per_million"),
            lambda c: "cost per 1M requests",
            lambda v: money(v, currency),
        ),
        (
            lambda c: c.endswith((f"_{code}", "_cost")),
            lambda c: c.removesuffix(f"_{code}").replace("_", " ").removesuffix(" cost") + " cost",
            lambda v: money(v, currency),
        ),
        (lambda c: c.endswith("_ms"), lambda c: c.removesuffix("_ms").replace("_", " "), duration),
        (
            lambda c: c.endswith("_gb_s"),
            lambda c: c.removesuffix("_gb_s").replace("_", " ") + " GB-s",
            lambda v: quantity(round(v)),
        ),
        (lambda c: c.endswith("_share"), lambda c: c.replace("_", " "), share),
    )
    for matches, label, formatter in rules:
        if matches(column):
            return label(column), formatter
    return column.replace("_", " "), count


def measure_table(
    table: pd.DataFrame,
    currency: str,
    *,
    show_all: bool = False,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One column per row of ``table`` (an architecture, a policy) and one row per
    measure, formatted by the measure's unit suffix: ``_usd``/``_cost`` as money,
    ``_ms`` as a duration, ``_gb_s`` as GB-s, ``_share`` as a percentage, the rest as
    counts. Measures that are 0 everywhere are left out unless ``show_all``.

    Args:
        table: numbers, one row per compared thing (its index names the columns).
        currency: the currency of the money columns.
        show_all: keep the measures that are 0 in every column.
        labels: row labels to use instead of the ones derived from the column names.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"total_usd": [2.5, 0.004], "gateway_usd": [0.0, 0.0],
    ...                   "latency_p99_ms": [65_003.0, 363.0]}, index=["sync", "async"])
    >>> print(measure_table(t, "USD").to_string(index=False))
        measure   sync  async
     total cost  $2.50 $0.004
    latency p99 65.0 s 363 ms
    """
    import pandas as pd

    rows: dict[str, list[str]] = {}
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        if not show_all and bool((values.fillna(0) == 0).all()):
            continue
        label, formatter = _measure_format(str(column), currency)
        label = (labels or {}).get(str(column), label)
        rows[label] = [formatter(float(v)) for v in values.tolist()]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[str(i) for i in table.index])
    return frame.reset_index(names="measure")


def text_table(frame: pd.DataFrame, *, left: int = 1) -> str:
    """``frame`` (already formatted as text) as aligned text: the first ``left``
    columns (labels) to the left, the rest (numbers) to the right, two spaces apart.

    >>> import pandas as pd
    >>> print(text_table(pd.DataFrame({"measure": ["calls", "  ok"], "a": ["1,200", "7"]})))
    measure      a
    calls    1,200
      ok         7
    """
    columns = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), *(line(r) for r in rows)]) + "\n"


# ---------------------------------------------------------------- HTML (Jupyter)


def html_table(
    frame: pd.DataFrame, *, title: str | None = None, note: str | None = None, left: int = 1
) -> str:
    """``frame`` (already formatted as text) as an HTML table: the first ``left`` columns
    (labels) aligned left, the numbers right, with an optional caption and a note."""
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for i, value in enumerate(row):
            raw = str(value)
            indent = len(raw) - len(raw.lstrip(" "))  # an indented label keeps its indent
            text = "&nbsp;" * (2 * indent) + html.escape(raw.lstrip(" "))
            align = "left" if i < left else "right"
            bold = text == TOTAL_LABEL or (i > 0 and str(row[0]) == TOTAL_LABEL)
            cells.append(
                f'<td style="text-align:{align}">{"<b>" + text + "</b>" if bold else text}</td>'
            )
        body.append(f"<tr>{''.join(cells)}</tr>")
    foot = f"<p>{html.escape(note)}</p>" if note else ""
    return (
        f"<table>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{foot}"
    )


def frame_html(frame: pd.DataFrame, currency: str, *, title: str | None = None) -> str:
    """A numeric table (one row per compared thing) as an HTML table of measures."""
    return html_table(measure_table(frame, currency), title=title)


def simulation_table(
    table: pd.DataFrame, *, show_all: bool = False, rows: Sequence[str] = ()
) -> pd.DataFrame:
    """A :func:`costmodel.compare_policies` frame for reading: one column per policy, the
    rows of :data:`SIMULATION_ROWS` (only ``rows`` when given) in money, counts and
    durations; rows that are 0 for every policy left out unless ``show_all``."""
    wanted = [(c, label) for c, label in SIMULATION_ROWS if not rows or c in rows]
    present = [(c, label) for c, label in wanted if c in table.columns]
    numbers = table[[c for c, _ in present]]
    currency = str(table["currency"].iloc[0]) if "currency" in table.columns else "USD"
    return measure_table(numbers, currency, show_all=show_all, labels=dict(present))


class Readable:
    """A table formatted for people: text in a terminal (``str``/``repr``), an HTML table
    in Jupyter (``_repr_html_``). Made by :func:`readable`.

    Attributes:
        frame: the formatted cells (strings).
        title: the caption, or None.
        notes: lines shown under the table.
        left: how many leading columns are labels (aligned left).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        title: str | None = None,
        notes: Sequence[str] = (),
        left: int = 1,
    ) -> None:
        self.frame, self.title, self.notes, self.left = frame, title, list(notes), left

    def __str__(self) -> str:
        head = f"{self.title}\n" if self.title else ""
        tail = "".join(f"{note}\n" for note in self.notes)
        return (head + text_table(self.frame, left=self.left) + tail).rstrip("\n")

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        note = " ".join(self.notes) or None
        return html_table(self.frame, title=self.title, note=note, left=self.left)


def readable(table: pd.DataFrame, *, title: str | None = None) -> Readable:
    """A comparison (:func:`costmodel.compare`) or a policy table
    (:func:`costmodel.compare_policies`) in money and units, one column per row of
    ``table``: text in a terminal, an HTML table in Jupyter.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"total_usd": [2.5, 3.0]}, index=["sync", "async"])
    >>> readable(t, title="Two designs")
    Two designs
    measure      sync  async
    total cost  $2.50  $3.00
    """
    if "total_cost" in table.columns:
        return Readable(simulation_table(table), title=title)
    currency = str(table.attrs.get("currency") or "USD")
    return Readable(measure_table(table, currency), title=title)


def bill_html(bill: Any) -> str:
    """A :class:`costmodel.Bill` as an HTML table: its lines (free-tier lines included)
    with money, units and unit prices, and a TOTAL row."""
    lines = bill.lines.drop(columns=["provider"], errors="ignore")
    frame = bill_table(lines, bill.currency, show_all=True)
    title = f"Bill on {bill.provider}: {money(float(bill.total), bill.currency)}"
    return html_table(frame, title=title, left=2)


def log_bill_html(result: Any) -> str:
    """A bill from logs as HTML: the invocations per function, then the bill, and the
    count of malformed lines."""
    groups = html_table(
        group_table(result.groups, result.currency),
        title=f"{result.invocations:,} invocations billed on {result.bill.provider}",
    )
    malformed = result.malformed_count
    note = f"<p>{malformed:,} malformed line(s), not billed.</p>" if malformed else ""
    return groups + bill_html(result.bill) + note


def sweep_html(result: Any) -> str:
    """A :func:`costmodel.sweep` result as HTML: the cheapest value per architecture (with
    the edge-of-range warnings) and the break-even points."""
    import pandas as pd

    total = f"total_{result.currency.lower()}"
    unit = " MB" if result.over == "memory_mb" else ""
    cheapest = pd.DataFrame(
        {
            "architecture": [str(n) for n in result.cheapest.index],
            f"cheapest {result.over}": [f"{v:,.0f}{unit}" for v in result.cheapest["value"]],
            "cost": [money(float(v), result.currency) for v in result.cheapest[total]],
            "latency p50": [duration(float(v)) for v in result.cheapest["latency_p50_ms"]],
        }
    )
    parts = [html_table(cheapest, title=f"Sweep over {result.over}: the cheapest value")]
    parts += [f"<p>⚠ {html.escape(note)}</p>" for note in result.edge_notes]
    if not result.break_even.empty:
        even = pd.DataFrame(
            {
                result.over: [quantity(float(v)) for v in result.break_even["value"]],
                "cheaper below": result.break_even["cheaper_below"].astype(str),
                "cheaper above": result.break_even["cheaper_above"].astype(str),
            }
        )
        parts.append(html_table(even, title="Break-even points"))
    else:
        parts.append("<p>No break-even point in the range tried.</p>")
    return "".join(parts)


def simulation_html(result: Any) -> str:
    """A :class:`costmodel.SimulationResult` as HTML: its summary in money and units."""
    import pandas as pd

    row = pd.DataFrame([result.summary()]).set_index("policy")
    return html_table(simulation_table(row), title=f"{result.name}: {result.scenario.name}")
