"""Breakdowns and diffs as text: a table for people, CSV and JSON for machines, and
Markdown fit for a pull-request comment (what ``costmodel breakdown`` and ``costmodel
diff`` print with ``--format``).

Money is rounded only here (:func:`costmodel.tables.money`); CSV and JSON keep full
precision.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from ..tables import money, text_table
from .breakdown import ACCOUNT_LINE, Breakdown
from .diff import CostDiff

__all__ = ["FORMATS", "render_breakdown", "render_diff"]

#: What ``--format`` takes.
FORMATS = ("table", "json", "csv", "markdown")


def _rows(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as named tuples (typed loosely: their fields vary)."""
    return list(frame.itertuples(index=False))


def _band(low: float, high: float, currency: str) -> str:
    if abs(high - low) < 0.005:
        return ""
    return f"{money(low, currency)} to {money(high, currency)}"


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def _free_tier_note(b: Breakdown) -> str:
    if b.free_tier == "none":
        return "free tier: not applied (--free-tier always applies the account's allowances once)"
    return f"free tier: {b.free_tier}, applied once to the pooled total"


def _breakdown_rows(b: Breakdown) -> pd.DataFrame:
    rows = []
    for resource in _rows(b.resources):
        rows.append([resource.resource, "", "", money(resource.cost_usd, b.currency),
                     _band(resource.p5_usd, resource.p95_usd, b.currency)])  # fmt: skip
        items = b.lines[b.lines["resource"] == resource.resource]
        for item in _rows(items):
            rows.append([f"  {item.item}", _quantity(item.quantity), item.unit,
                         money(item.cost_usd, b.currency),
                         _band(item.p5_usd, item.p95_usd, b.currency)])  # fmt: skip
        for note in resource.notes:
            rows.append([f"  ({note})", "", "", "", ""])
    if abs(b.account_usd) >= 0.005:
        rows.append([ACCOUNT_LINE, "", "", money(b.account_usd, b.currency), ""])
    rows.append(
        ["TOTAL", "", "", money(b.total_usd, b.currency), _band(b.p5_usd, b.p95_usd, b.currency)]
    )
    return pd.DataFrame(
        rows, columns=["resource / item", "quantity", "unit", "monthly", "p5 to p95"]
    )


def _skipped_lines(b: Breakdown, show_skipped: bool) -> list[str]:
    lines = []
    if b.skipped:
        if show_skipped:
            lines.append(f"{len(b.skipped)} resource(s) skipped:")
            lines += [f"  {s.key} ({s.type}): {s.reason}" for s in b.skipped]
        else:
            lines.append(f"{len(b.skipped)} resource(s) skipped (--show-skipped lists them)")
    if b.unresolved:
        lines.append(f"{len(b.unresolved)} propert(ies) not settled by the file:")
        lines += [f"  {u}" for u in b.unresolved]
    return lines


def _breakdown_markdown(b: Breakdown, show_skipped: bool) -> str:
    out = [
        f"### Monthly cost of `{b.source}`",
        "",
        "| Resource | Monthly | p5 to p95 |",
        "| --- | ---: | ---: |",
    ]
    for r in _rows(b.resources):
        band = _band(r.p5_usd, r.p95_usd, b.currency) or "-"
        out.append(f"| `{r.resource}` | {money(r.cost_usd, b.currency)} | {band} |")
    if abs(b.account_usd) >= 0.005:
        out.append(f"| {ACCOUNT_LINE} | {money(b.account_usd, b.currency)} | - |")
    band = _band(b.p5_usd, b.p95_usd, b.currency) or "-"
    out.append(f"| **Total** | **{money(b.total_usd, b.currency)}** | {band} |")
    out += ["", f"{_free_tier_note(b)}; {b.samples:,} sample months, seed {b.seed}."]
    extra = _skipped_lines(b, show_skipped)
    if extra:
        out += ["", *(f"- {line.strip()}" for line in extra)]
    return "\n".join(out) + "\n"


def render_breakdown(b: Breakdown, fmt: str, *, show_skipped: bool = False) -> str:
    """``b`` as ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return b.to_json() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        b.lines.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    if fmt == "markdown":
        return _breakdown_markdown(b, show_skipped)
    table = text_table(_breakdown_rows(b))
    tail = [
        _free_tier_note(b),
        f"{b.samples:,} sample months, seed {b.seed}",
        *_skipped_lines(b, show_skipped),
    ]
    return f"{b.source}\n{table}" + "".join(f"{line}\n" for line in tail)


def _diff_rows(d: CostDiff) -> pd.DataFrame:
    c = d.new.currency
    rows = [
        [r.resource, r.status, money(r.past_usd, c), money(r.new_usd, c), _signed(r.diff_usd, c),
         _band_signed(r.diff_p5_usd, r.diff_p95_usd, c)]
        for r in _rows(d.resources)
    ]  # fmt: skip
    rows.append(["TOTAL", "", money(d.past_usd, c), money(d.new_usd, c), _signed(d.diff_usd, c),
                 _band_signed(d.diff_p5_usd, d.diff_p95_usd, c)])  # fmt: skip
    return pd.DataFrame(
        rows, columns=["resource", "status", "past", "new", "diff", "diff p5 to p95"]
    )


def _signed(value: float, currency: str) -> str:
    return ("+" if value > 0 else "") + money(value, currency)


def _band_signed(low: float, high: float, currency: str) -> str:
    if abs(high - low) < 0.005:
        return ""
    return f"{_signed(low, currency)} to {_signed(high, currency)}"


def _percent(d: CostDiff) -> str:
    share = d.diff_percent
    return "" if share is None else f" ({share:+.1f}%)"


def _diff_markdown(d: CostDiff) -> str:
    c = d.new.currency
    out = [
        f"### Cost change: {_signed(d.diff_usd, c)}/month{_percent(d)}",
        "",
        f"{money(d.past_usd, c)} → {money(d.new_usd, c)} a month"
        + (
            f"; the change is {_band_signed(d.diff_p5_usd, d.diff_p95_usd, c)} (p5 to p95)"
            if _band_signed(d.diff_p5_usd, d.diff_p95_usd, c)
            else ""
        ),
        "",
        "| Resource | Status | Past | New | Diff |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in _rows(d.resources):
        if r.status != "unchanged":
            cells = [money(r.past_usd, c), money(r.new_usd, c), _signed(r.diff_usd, c)]
            out.append(f"| `{r.resource}` | {r.status} | {' | '.join(cells)} |")
    unchanged = int((d.resources["status"] == "unchanged").sum())
    out += [
        "",
        f"{unchanged} resource(s) unchanged; {_free_tier_note(d.new)}; "
        f"{d.new.samples:,} sample months, seed {d.new.seed}, both priced with the same "
        "random numbers.",
    ]
    return "\n".join(out) + "\n"


def render_diff(d: CostDiff, fmt: str) -> str:
    """``d`` as ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(d.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        d.resources.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    if fmt == "markdown":
        return _diff_markdown(d)
    change = f"{_signed(d.diff_usd, d.new.currency)}/month{_percent(d)}"
    header = f"{d.past.source} -> {d.new.source}: {change}\n"
    return header + text_table(_diff_rows(d), left=2) + _free_tier_note(d.new) + "\n"
