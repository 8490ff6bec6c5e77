"""What the reports read from logs cost: ``LogBill`` and the reduction behind it.

Rows are reduced to counts by (function, memory_mb, billed ms, stated) as they come, so
a bill from logs of any size is built from a small exact histogram.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..billing.engine import Bill, FreeTier, estimate
from ..catalog.sheets import PriceSheet
from ..errors import InvalidUsage
from .names import FORMAT_VENDORS

BILLED_CHOICES = ("auto", "stated", "measured")
#: What ``init_billed=`` takes (see :class:`BillingRule`).
INIT_CHOICES: tuple[bool | str, ...] = ("auto", True, False)
#: What ``package_type=`` takes: a ZIP archive on a managed runtime, or a container image
#: (also the choice for custom runtimes on an OS-only runtime, billed for INIT like images).
PACKAGE_TYPES = ("zip", "image")
#: Since this day AWS Lambda bills the INIT phase of on-demand functions packaged as ZIP on
#: managed runtimes too ("AWS Lambda standardizes billing for INIT phase", announced
#: 2025-04-29, effective 2025-08-01); container images and custom runtimes were billed for
#: it before. A REPORT line's Billed Duration includes the init it bills.
INIT_BILLED_SINCE = pd.Timestamp("2025-08-01", tz="UTC")
_BATCH_SAMPLES = 1 << 18  # samples handed to estimate() at once: bounds memory


@dataclass(frozen=True, slots=True, eq=False)
class LogBill:
    """What a set of logs costs.

    Attributes:
        bill: the whole bill: every group's usage pooled, so graduated tiers and the free
            tier apply once.
        groups: one row per function and memory size: ``function``, ``memory_mb``,
            ``invocations``, ``billed_duration_ms`` (summed, after the provider's rounding),
            ``gb_seconds``, ``stated_share`` (share of invocations billed on the duration
            the log states) and ``cost`` (the group priced alone, free tier as asked; with
            tiers or a free tier the groups may not add up to ``total``).
        malformed: the malformed lines found while reading (first ones, with line
            numbers; see ``read_logs``), as ``(source, line, reason)``.
        malformed_count: how many malformed lines there were in all.
    """

    bill: Bill
    groups: pd.DataFrame = field(repr=False)
    malformed: tuple[tuple[str, int, str], ...] = field(repr=False)
    malformed_count: int

    @property
    def total(self) -> float:
        """Total cost in ``currency``."""
        return self.bill.total

    @property
    def currency(self) -> str:
        """ISO currency of the amounts."""
        return self.bill.currency

    @property
    def lines(self) -> pd.DataFrame:
        """The bill's lines (item, quantity, unit, unit_price, cost ...)."""
        return self.bill.lines

    @property
    def invocations(self) -> int:
        """Invocations billed."""
        return int(self.groups["invocations"].sum())

    def __repr__(self) -> str:
        return (
            f"LogBill(provider={self.bill.provider!r}, invocations={self.invocations}, "
            f"total={self.total:.2f} {self.currency}, malformed={self.malformed_count})"
        )

    def _repr_html_(self) -> str:
        """Jupyter's view: the invocations per function, then the bill, in money and units."""
        from ..tables import log_bill_html

        return log_bill_html(self)


@dataclass(frozen=True, slots=True)
class BillingRule:
    """How rows of logs are billed: the choices of ``bill_from_logs``, checked at once.

    Attributes:
        vendor: vendor of the sheet billed (``"aws"``, ``"alibaba"`` ...).
        billed_duration: ``"auto"``, ``"stated"`` or ``"measured"``.
        init_billed: whether a row billed on its measured duration also bills its
            ``init_duration_ms``: ``True``, ``False``, or ``"auto"``: on an ``aws`` sheet,
            by the rule of the row's day (on and after :data:`INIT_BILLED_SINCE` always,
            before only for ``package_type="image"``), so a row with an init and no
            timestamp needs the choice made; on other vendors' sheets not billed.
        package_type: ``"zip"`` or ``"image"`` (see :data:`PACKAGE_TYPES`).

    Raises:
        InvalidUsage: a choice outside its set, naming the parameter.
    """

    vendor: str
    billed_duration: str = "auto"
    init_billed: bool | str = "auto"
    package_type: str = "zip"

    def __post_init__(self) -> None:
        if self.billed_duration not in BILLED_CHOICES:
            raise InvalidUsage(
                f"billed_duration={self.billed_duration!r}: must be one of "
                f"{', '.join(map(repr, BILLED_CHOICES))}"
            )
        if not (
            self.init_billed is True or self.init_billed is False or self.init_billed == "auto"
        ):
            raise InvalidUsage(f"init_billed={self.init_billed!r}: must be 'auto', True or False")
        if self.package_type not in PACKAGE_TYPES:
            raise InvalidUsage(
                f"package_type={self.package_type!r}: must be one of "
                f"{', '.join(map(repr, PACKAGE_TYPES))}"
            )


class BilledHistogram:
    """Invocation counts by (function, memory_mb, billed ms, stated): exact and small."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int, bool], int] = {}

    @property
    def empty(self) -> bool:
        return not self.counts

    def add(self, counts: pd.Series) -> None:
        for index, value in counts.items():
            parts: tuple[Any, ...] = tuple(index)  # type: ignore[arg-type]
            key = (str(parts[0]), int(parts[1]), int(parts[2]), bool(parts[3]))
            self.counts[key] = self.counts.get(key, 0) + int(value)

    def merge(self, counts: dict[tuple[str, int, int, bool], int]) -> None:
        """Add another histogram's counts (one task's, on a cluster)."""
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def groups(self) -> Iterator[tuple[str, int, np.ndarray, np.ndarray, int]]:
        """(function, memory_mb, billed ms values, counts, stated invocations), sorted."""
        by_group: dict[tuple[str, int], dict[int, int]] = {}
        stated: dict[tuple[str, int], int] = {}
        for (name, memory, billed_ms, is_stated), count in self.counts.items():
            values = by_group.setdefault((name, memory), {})
            values[billed_ms] = values.get(billed_ms, 0) + count
            if is_stated:
                stated[(name, memory)] = stated.get((name, memory), 0) + count
        for name, memory in sorted(by_group):
            values = by_group[(name, memory)]
            keys = np.array(sorted(values), dtype=np.int64)
            counts = np.array([values[int(k)] for k in keys], dtype=np.int64)
            yield name, memory, keys, counts, stated.get((name, memory), 0)


def _where(frame: pd.DataFrame, index: int) -> str:
    """Where a row came from: its line in the log (1-based) when read_logs kept it, else
    the frame's row label."""
    if "source_line" in frame.columns and pd.notna(frame["source_line"].iloc[index]):
        return f"line {int(frame['source_line'].iloc[index])} of the log"
    return f"row {frame.index[index]!r}"


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _check_amounts(frame: pd.DataFrame, name: str, values: np.ndarray) -> None:
    """Every value finite and >= 0 (NaN allowed only where ``name`` may be absent)."""
    bad = ~(np.isfinite(values) & (values >= 0))
    if name == "init_duration_ms":
        bad &= ~np.isnan(values)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        shown = frame[name].iloc[index]
        shown = shown.item() if isinstance(shown, np.generic) else shown
        raise InvalidUsage(
            f"frame: {name}={shown!r} in {_where(frame, index)}: must be a finite number >= 0"
        )


def _use_stated(frame: pd.DataFrame, rule: BillingRule, stated_ms: np.ndarray) -> np.ndarray:
    """Which rows are billed on the duration they state (the rest on the measured one)."""
    n = len(frame)
    if rule.billed_duration == "measured":
        return np.zeros(n, dtype=bool)
    if rule.billed_duration == "stated":
        lacking = np.isnan(stated_ms)
        if lacking.any():
            raise InvalidUsage(
                f"billed_duration='stated': {int(lacking.sum())} row(s) state no billed "
                f"duration (first: {_where(frame, int(np.flatnonzero(lacking)[0]))}); "
                "use 'auto' or 'measured'"
            )
        return np.ones(n, dtype=bool)
    own = np.zeros(n, dtype=bool)
    if "format" in frame.columns:
        formats = frame["format"].astype(str).to_numpy(dtype=object)
        own_formats = [f for f, v in FORMAT_VENDORS.items() if v == rule.vendor]
        own = np.isin(formats, own_formats)
    return np.asarray(own & ~np.isnan(stated_ms), dtype=bool)


def _billed_init_ms(frame: pd.DataFrame, rule: BillingRule, measured: np.ndarray) -> np.ndarray:
    """The init ms each row billed on its measured duration adds (0 where none is billed)."""
    n = len(frame)
    if rule.init_billed is False or "init_duration_ms" not in frame.columns:
        return np.zeros(n)
    init = _column(frame, "init_duration_ms")
    _check_amounts(frame, "init_duration_ms", init)
    init = np.asarray(np.nan_to_num(init, nan=0.0), dtype=np.float64)
    if rule.init_billed is True or (rule.vendor == "aws" and rule.package_type == "image"):
        return init
    if rule.vendor != "aws":
        return np.zeros(n)
    stamps = (
        frame["timestamp"] if "timestamp" in frame.columns else pd.Series(pd.NaT, index=frame.index)
    )
    stamps = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
    known = stamps.notna().to_numpy()
    unknown = measured & (init > 0) & ~known
    if unknown.any():
        raise InvalidUsage(
            f"init_billed='auto': {int(unknown.sum())} row(s) with an init duration carry no "
            f"timestamp (first: {_where(frame, int(np.flatnonzero(unknown)[0]))}), so the "
            "rule of their day is unknown: AWS bills the INIT phase of ZIP functions since "
            "2025-08-01 (container images before too); pass init_billed=True (billed), "
            "init_billed=False (not billed) or package_type='image'"
        )
    since = known & (stamps >= INIT_BILLED_SINCE).to_numpy()
    return np.where(since, init, 0.0)


def billed_counts(frame: pd.DataFrame, rule: BillingRule) -> pd.Series:
    """Counts by (function, memory_mb, billed ms, stated) for the rows of one frame."""
    missing = [c for c in ("duration_ms", "memory_mb") if c not in frame.columns]
    if missing:
        raise InvalidUsage(
            f"frame: missing column(s) {', '.join(missing)}; needs duration_ms and memory_mb "
            f"(optional: function, billed_duration_ms, billed_restore_duration_ms, format)"
        )
    n = len(frame)
    if n == 0:
        return pd.Series([], dtype=np.int64)
    duration = _column(frame, "duration_ms")
    memory = _column(frame, "memory_mb")
    for name, values in (("duration_ms", duration), ("memory_mb", memory)):
        _check_amounts(frame, name, values)
    fractional = memory != np.floor(memory)
    if fractional.any():
        index = int(np.flatnonzero(fractional)[0])
        raise InvalidUsage(
            f"frame: memory_mb={float(memory[index])!r} in {_where(frame, index)}: "
            f"must be a whole number of MB ({int(fractional.sum())} row(s) are not)"
        )
    stated_ms = (
        _column(frame, "billed_duration_ms")
        if "billed_duration_ms" in frame.columns
        else np.full(n, np.nan)
    )
    # SnapStart: the stated Billed Duration already includes the Billed Restore Duration
    # (307 ms run + 303 ms restore is stated as 610 ms), in the text REPORT lines and in
    # platform.report's billedDurationMs alike: it is billed as stated.
    use_stated = _use_stated(frame, rule, stated_ms)
    init = _billed_init_ms(frame, rule, ~use_stated)
    measured = np.ceil(duration + init - 1e-9).clip(min=0)
    billed = np.where(use_stated, np.ceil(np.nan_to_num(stated_ms) - 1e-9), measured)
    functions = (
        frame["function"].astype(str).to_numpy(dtype=object)
        if "function" in frame.columns
        else np.full(n, "unknown", dtype=object)
    )
    keys = pd.DataFrame(
        {
            "function": functions,
            "memory_mb": memory.astype(np.int64),
            "billed_ms": billed.astype(np.int64),
            "stated": use_stated,
        }
    )
    return keys.groupby(["function", "memory_mb", "billed_ms", "stated"], sort=False).size()


def is_dask_frame(value: object) -> bool:
    module = type(value).__module__
    return module.startswith("dask") and hasattr(value, "map_partitions")


def dask_counts(frame: Any, rule: BillingRule) -> pd.Series:
    """Reduce a Dask DataFrame partition by partition, then sum the small results."""

    def partition(part: pd.DataFrame) -> pd.DataFrame:
        counts = billed_counts(part, rule)
        return counts.rename("count").reset_index()

    meta = pd.DataFrame(
        {
            "function": pd.Series([], dtype=object),
            "memory_mb": pd.Series([], dtype=np.int64),
            "billed_ms": pd.Series([], dtype=np.int64),
            "stated": pd.Series([], dtype=bool),
            "count": pd.Series([], dtype=np.int64),
        }
    )
    parts = frame.map_partitions(partition, meta=meta).compute()
    if len(parts) == 0:
        return pd.Series([], dtype=np.int64)
    keys = ["function", "memory_mb", "billed_ms", "stated"]
    summed: pd.Series = parts.groupby(keys, sort=False)["count"].sum()
    return summed


def _batches(keys: np.ndarray, counts: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Samples expanded from a histogram, at most ``size`` at a time (in sorted order)."""
    buffer: list[np.ndarray] = []
    held = 0
    for value, count in zip(keys.tolist(), counts.tolist(), strict=True):
        while count > 0:
            take = min(count, size - held)
            buffer.append(np.full(take, float(value)))
            held += take
            count -= take
            if held == size:
                yield np.concatenate(buffer)
                buffer, held = [], 0
    if held:
        yield np.concatenate(buffer)


def bill_histogram(
    counts: BilledHistogram,
    sheet: PriceSheet,
    free_tier: FreeTier,
    options: dict[str, Any],
    malformed: list[tuple[str, int, str]],
    malformed_count: int,
) -> LogBill:
    rows = []
    total: Bill | None = None
    for name, memory, keys, group_counts, stated in counts.groups():
        group: Bill | None = None
        for samples in _batches(keys, group_counts, _BATCH_SAMPLES):
            part = estimate(
                sheet, duration_ms=samples, memory_mb=memory, free_tier=free_tier, **options
            )
            group = part if group is None else group + part
        assert group is not None
        total = group if total is None else total + group
        invocations = int(group_counts.sum())
        rows.append(
            {
                "function": name,
                "memory_mb": memory,
                "invocations": invocations,
                "billed_duration_ms": float(group.usage.get("billed_duration_ms", 0.0)),
                "gb_seconds": float(group.usage.get("gb_seconds", 0.0)),
                "stated_share": stated / invocations,
                "cost": group.total,
            }
        )
    assert total is not None
    groups = pd.DataFrame(rows).astype({"function": "str", "memory_mb": np.int64})
    return LogBill(total, groups, tuple(malformed), malformed_count)
