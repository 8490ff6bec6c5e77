"""The billing engine: usage in, an itemised :class:`Bill` out.

:func:`estimate` turns a month of usage (invocations, per-invocation durations, memory and
provider-specific options) into meter quantities with the provider's rounding rules, then
prices the quantities on the sheet's graduated tiers, with the monthly free tier when asked.

Rules that change the arithmetic (see DESIGN.md, "Billing rules that must be exact"):

- Billed duration is rounded UP per invocation to the provider's step (and raised to its
  minimum), never on the mean: 1000 invocations of 180 ms at 100 ms steps bill 200 ms each
  only if each one took 180 ms; samples of 120 ms and 240 ms bill 200 and 300 ms.
- Memory is rounded up to the provider's memory step (Azure 128 MB, Express 64 MB).
- Tiers are graduated on the month's cumulative quantity. A free allowance covers the first
  units of that axis (so free units count towards the tier bounds, as AWS's SQS table says);
  a pool shared by several meters (Lambda GB-s for x86_64 and arm64; one vendor's pool across
  sheets, such as AWS's free egress for Lambda and data transfer out) goes first to the meter
  with the highest price.
- A :class:`Bill` keeps its usage, so ``bill_a + bill_b`` pools the quantities of each sheet
  and prices them again: tiers and free tiers apply once to the sum, not once per addend.
  Free pools are keyed by ``(vendor, free_pool)``, so a sum shares them across sheets;
  graduated tiers stay per sheet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from ..catalog.sheets import COMPONENTS, FREE_TIERS, Meter, PriceSheet, price_sheet
from ..errors import InvalidUsage

__all__ = ["Bill", "FreeTier", "Usage", "accepted_options", "estimate", "free_tier_choice"]

#: What ``free_tier=`` takes: ``"none"``, ``"always"`` (the always-free offers),
#: ``"legacy-12-month"`` (those and AWS's 12-month offers, for accounts created before
#: 2025-07-15); ``True`` means ``"always"`` and ``False`` ``"none"``.
FreeTier: TypeAlias = bool | Literal["none", "always", "legacy-12-month"]
FreeTierChoice: TypeAlias = Literal["none", "always", "legacy-12-month"]
_FREE_TIER_CHOICES: tuple[FreeTierChoice, ...] = ("none", "always", "legacy-12-month")


def free_tier_choice(value: object, name: str = "free_tier") -> FreeTierChoice:
    """The ``free_tier`` choice as one of ``"none"``, ``"always"``, ``"legacy-12-month"``.

    Raises:
        InvalidUsage: ``value`` is none of those nor a bool (the message names ``name``).

    Example:
        >>> free_tier_choice(True), free_tier_choice(False), free_tier_choice("legacy-12-month")
        ('always', 'none', 'legacy-12-month')
    """
    if value is True or value is False:
        return "always" if value else "none"
    for choice in _FREE_TIER_CHOICES:  # the keys of FREE_TIERS, typed
        if isinstance(value, str) and value == choice:
            return choice
    raise InvalidUsage(
        f"{name}={value!r}: must be one of {', '.join(repr(c) for c in FREE_TIERS)} "
        "(True means 'always', False 'none')"
    )


LINE_COLUMNS = ["provider", "component", "item", "quantity", "unit", "unit_price", "cost"]
_EPS = 1e-9  # float noise tolerated before rounding up (120.00000000001 ms bills 120 ms)


@dataclass(frozen=True, slots=True)
class Usage:
    """One quantity measured on one meter of one sheet, before pricing.

    Attributes:
        sheet: the price sheet.
        meter: meter name on that sheet.
        item: label of the bill line(s).
        component: cost component of the line(s).
        quantity: amount in the meter's unit (GB-s, requests, CU ...).
    """

    sheet: PriceSheet
    meter: str
    item: str
    component: str
    quantity: float


#: One bill line: provider, component, item, quantity, unit, unit_price, cost.
Line = tuple[str, str, str, float, str, float, float]


@dataclass(frozen=True, slots=True, eq=False)
class Bill:
    """An itemised monthly bill.

    Do not build one directly: :func:`estimate` (and ``bill_a + bill_b``) do.

    Attributes:
        provider: key of the sheet billed, or keys joined by ``+`` for a sum.
        currency: ISO currency of every amount.
        items: the bill lines as plain tuples ``(provider, component, item, quantity,
            unit, unit_price, cost)``, in the order of :attr:`lines` (no pandas: cheap
            to read in a loop over many bills).
        usage: billed usage figures summed over the bill, keys carry units
            (``invocations``, ``billed_duration_ms``, ``gb_seconds``, ``vcpu_seconds``,
            ``compute_units``, ``transitions``, ``billed_requests``, ``egress_gb`` ...).
            GB-s figures are after rounding and before any free tier.
        entries: the usage behind the lines (one :class:`Usage` per meter and item), kept
            so that sums can be priced again.
        accounts: ``(sheet, free_tier)`` for every sheet billed, ``free_tier`` one of
            ``"none"``, ``"always"``, ``"legacy-12-month"``.
    """

    provider: str
    currency: str
    items: tuple[Line, ...] = field(repr=False)
    usage: Mapping[str, float] = field(repr=False)
    entries: tuple[Usage, ...] = field(repr=False)
    accounts: tuple[tuple[PriceSheet, str], ...] = field(repr=False)
    _frame: pd.DataFrame | None = field(default=None, init=False, repr=False)

    @property
    def lines(self) -> pd.DataFrame:
        """One row per priced slice: ``provider, component, item, quantity, unit,
        unit_price, cost`` (a free-tier slice has ``unit_price`` 0; a quantity split
        across graduated tiers has one row per tier).

        Built from :attr:`items` on first access, then kept: treat it as read-only.
        """
        if self._frame is None:
            frame = pd.DataFrame(list(self.items), columns=LINE_COLUMNS)
            frame = frame.astype({"quantity": float, "unit_price": float, "cost": float})
            object.__setattr__(self, "_frame", frame)
            return frame
        return self._frame

    @property
    def total(self) -> float:
        """Total cost in :attr:`currency` (the sum of the ``cost`` column of :attr:`lines`)."""
        # numpy's pairwise sum, as pandas' Series.sum does: the same float, bit for bit.
        return float(np.array([line[6] for line in self.items], dtype=float).sum())

    @property
    def free_tier(self) -> Mapping[str, str]:
        """The free offers applied, per sheet key: ``"none"``, ``"always"`` or
        ``"legacy-12-month"``."""
        return MappingProxyType({sheet.key: flag for sheet, flag in self.accounts})

    def component_costs(self) -> dict[str, float]:
        """Cost per component in :attr:`currency`, every one of ``COMPONENTS`` (0.0 if unused).

        The figures of :meth:`by_component` as a plain dict, without pandas (for loops
        over many bills, such as :func:`costmodel.sweep`).

        Example:
            >>> bill = estimate("aws-sqs-standard", invocations=3_000_000)
            >>> {k: round(v, 2) for k, v in bill.component_costs().items() if v}
            {'queue': 1.2}
        """
        # The correctly rounded sum of each component's costs (math.fsum): defined by
        # the numbers alone, unlike pandas' groupby sum, whose algorithm (compensated or
        # not) varies with the pandas version and the frame's memory layout.
        costs: dict[str, list[float]] = {}
        for line in self.items:
            costs.setdefault(line[1], []).append(line[6])
        return {c: math.fsum(costs.get(c, ())) for c in COMPONENTS}

    def by_component(self) -> pd.Series:
        """Cost per component, every component of ``COMPONENTS`` present (0.0 if unused).

        Example:
            >>> bill = estimate("aws-lambda", invocations=1_000_000, duration_ms=100,
            ...                 memory_mb=1024)
            >>> bill.by_component().round(4)
            component
            requests         0.2000
            compute          1.6667
            gateway          0.0000
            queue            0.0000
            storage          0.0000
            orchestration    0.0000
            egress           0.0000
            Name: cost, dtype: float64
        """
        costs = self.component_costs()
        series = pd.Series(list(costs.values()), index=list(costs), name="cost", dtype=float)
        series.index.name = "component"
        return series

    def __add__(self, other: object) -> Bill:
        """Pool two bills' usage and price it again (tiers once per sheet, free pools once).

        Raises:
            InvalidUsage: the currencies differ, or one sheet is billed with the free tier
                in one bill and without it in the other.
        """
        if not isinstance(other, Bill):
            return NotImplemented
        if other.currency != self.currency:
            raise InvalidUsage(
                f"cannot add a {other.currency} bill to a {self.currency} bill; "
                "derive a sheet in one currency first"
            )
        accounts = list(self.accounts)
        for sheet, flag in other.accounts:
            mine = next((f for s, f in accounts if s == sheet), None)
            if mine is None:
                accounts.append((sheet, flag))
            elif mine != flag:
                raise InvalidUsage(
                    f"cannot add bills of {sheet.key!r} with free_tier={mine!r} and "
                    f"free_tier={flag!r}: the free tier is applied once per bill"
                )
        usage = dict(self.usage)
        for name, value in other.usage.items():
            usage[name] = usage.get(name, 0.0) + value
        return _make_bill(tuple(accounts), _merge(self.entries + other.entries), usage)

    def __radd__(self, other: object) -> Bill:
        if isinstance(other, int) and other == 0:  # sum(bills)
            return self
        return NotImplemented

    def __repr__(self) -> str:
        return (
            f"Bill(provider={self.provider!r}, total={self.total:.2f} {self.currency}, "
            f"lines={len(self.items)})"
        )

    def _repr_html_(self) -> str:
        """Jupyter's view: the lines with money, units and a TOTAL row."""
        from ..tables import bill_html

        return bill_html(self)


def _merge(entries: Sequence[Usage]) -> tuple[Usage, ...]:
    merged: list[Usage] = []
    for entry in entries:
        for i, seen in enumerate(merged):
            if (seen.meter, seen.item, seen.component) == (
                entry.meter,
                entry.item,
                entry.component,
            ) and seen.sheet == entry.sheet:
                total = seen.quantity + entry.quantity
                merged[i] = Usage(seen.sheet, seen.meter, seen.item, seen.component, total)
                break
        else:
            merged.append(entry)
    return tuple(merged)


# ---------------------------------------------------------------------------- pricing


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:,g}"


def _tier_label(meter: Meter, index: int) -> str:
    if len(meter.tiers) == 1:
        return ""
    tier = meter.tiers[index]
    low = meter.tiers[index - 1].upto if index else 0.0
    if index == 0:
        return f", first {_fmt(tier.upto)} {meter.unit}"
    if math.isinf(tier.upto):
        return f", over {_fmt(low)} {meter.unit}"
    return f", next {_fmt(tier.upto - low)} {meter.unit}"


def _free_allocation(
    accounts: Sequence[tuple[PriceSheet, str]], totals: Sequence[Mapping[str, float]]
) -> list[dict[str, float]]:
    """Free units per meter of each account, the pools shared across sheets of one vendor.

    A pool is ``(vendor, free_pool)``: its allowance (the largest ``free`` of its meters)
    goes first to the meter with the highest first-tier price, then in the order of the
    accounts. An account takes the offers of the kinds its ``free_tier`` choice applies
    (``"none"``: none; ``"always"``: the always-free ones; ``"legacy-12-month"``: those and
    the 12-month ones).
    """
    pools: dict[tuple[str, str], list[tuple[int, Meter]]] = {}
    for index, (sheet, free_tier) in enumerate(accounts):
        kinds = FREE_TIERS[free_tier]
        for meter in sheet.meters:
            if meter.free > 0 and meter.free_pool and meter.free_kind in kinds:
                pools.setdefault((sheet.vendor, meter.free_pool), []).append((index, meter))
    allocation: list[dict[str, float]] = [{} for _ in accounts]
    for members in pools.values():
        left = max(meter.free for _, meter in members)
        for index, meter in sorted(members, key=lambda m: -m[1].first_unit_price):
            used = min(totals[index].get(meter.name, 0.0), left)
            allocation[index][meter.name] = used
            left -= used
    return allocation


def _price(
    accounts: Sequence[tuple[PriceSheet, str]], entries: Sequence[Usage]
) -> tuple[Line, ...]:
    rows: list[Line] = []
    usage = [[e for e in entries if e.sheet is sheet or e.sheet == sheet] for sheet, _ in accounts]
    totals: list[dict[str, float]] = []
    for mine in usage:
        sums: dict[str, float] = {}
        for entry in mine:
            sums[entry.meter] = sums.get(entry.meter, 0.0) + entry.quantity
        totals.append(sums)
    allocation = _free_allocation(accounts, totals)
    for (sheet, _), mine, free in zip(accounts, usage, allocation, strict=True):
        for meter in sheet.meters:
            start = 0.0
            free_units = free.get(meter.name, 0.0)
            for entry in (e for e in mine if e.meter == meter.name):
                low, high = start, start + entry.quantity
                start = high
                if min(high, free_units) > low:
                    quantity = min(high, free_units) - low
                    rows.append(
                        (sheet.key, entry.component, f"{entry.item}, free tier", quantity,
                         meter.unit, 0.0, 0.0)
                    )  # fmt: skip
                bound = 0.0
                for index, tier in enumerate(meter.tiers):
                    a, b = max(low, free_units, bound), min(high, tier.upto)
                    bound = tier.upto
                    if b > a:
                        label = entry.item + _tier_label(meter, index)
                        rows.append(
                            (sheet.key, entry.component, label, b - a, meter.unit,
                             tier.unit_price, (b - a) * tier.unit_price)
                        )  # fmt: skip
    return tuple(rows)


def _make_bill(
    accounts: tuple[tuple[PriceSheet, str], ...],
    entries: tuple[Usage, ...],
    usage: Mapping[str, float],
) -> Bill:
    keys = list(dict.fromkeys(sheet.key for sheet, _ in accounts))
    items = _price(accounts, entries)
    _check_finite(entries, items)
    return Bill(
        provider="+".join(keys),
        currency=accounts[0][0].currency,
        items=items,
        usage=MappingProxyType(dict(usage)),
        entries=entries,
        accounts=accounts,
    )


def _check_finite(entries: Sequence[Usage], items: Sequence[Line]) -> None:
    """A quantity or a cost past the largest float is an error, never an ``inf`` bill."""
    for entry in entries:
        if not math.isfinite(entry.quantity):
            raise InvalidUsage(
                f"{entry.sheet.key} {entry.item}: the usage overflows ({entry.quantity:g}); "
                "the volume, duration or memory given is too large to bill"
            )
    for item in items:
        if not math.isfinite(item[6]):
            raise InvalidUsage(
                f"{item[0]} {item[2]}: the cost overflows ({item[6]:g}); "
                "the volume, duration or memory given is too large to bill"
            )


# ---------------------------------------------------------------------------- validation


def _count(name: str, value: object) -> float:
    """``value`` as a float if it is a finite real >= 0 (a count or an amount)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if ok and math.isfinite(float(value)) and float(value) >= 0:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    shown = value.item() if isinstance(value, np.generic) else value
    raise InvalidUsage(f"{name}={shown!r}: must be a finite number >= 0")


def _samples(name: str, value: object) -> np.ndarray | None:
    """Per-invocation samples as a float array, or None when ``value`` is one number."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        return None
    if isinstance(value, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InvalidUsage(f"{name}: samples must be numbers, got {value!r:.80}") from None
        if array.ndim != 1 or array.size == 0:
            raise InvalidUsage(
                f"{name}: samples must be a non-empty 1-D array, got shape {array.shape}"
            )
        # Two reductions, no temporary array: the sum is finite only if every sample is.
        if not (math.isfinite(float(array.sum())) and float(array.min()) >= 0):
            index = int(np.argmax(~np.isfinite(array) | (array < 0)))
            shown = float(array[index])
            raise InvalidUsage(
                f"{name}[{index}]={shown!r}: every sample must be a finite number >= 0"
            )
        return array
    raise InvalidUsage(
        f"{name}={value!r:.80}: must be a number or per-invocation samples "
        "(numpy array, pandas Series, list)"
    )


def _billed_total(
    name: str, value: object, invocations: float | None, *, step: float, minimum: float
) -> tuple[float, float]:
    """(invocations, sum of billed units): each sample rounded up to ``step``, >= ``minimum``.

    Samples given with ``invocations`` describe the distribution: their mean billed value is
    scaled to ``invocations`` (exact when ``invocations == len(samples)``).
    """
    samples = _samples(name, value)
    if samples is None:
        single = _count(name, value)
        if invocations is None:
            raise InvalidUsage(f"invocations is required when {name} is a single number")
        billed = max(math.ceil(single / step - _EPS) * step, minimum)
        return invocations, billed * invocations
    billed_sum = float(_steps(samples, step=step, minimum=minimum).sum()) * step
    if invocations is None:
        return float(samples.size), billed_sum
    return invocations, billed_sum * (invocations / samples.size)


def _steps(samples: np.ndarray, *, step: float, minimum: float) -> np.ndarray:
    """Each sample's billed number of steps: ceil(d / step - eps), at least minimum / step."""
    # One scratch buffer, rounded in place.
    scratch = np.subtract(samples / step if step != 1 else samples, _EPS)
    np.ceil(scratch, out=scratch)
    np.maximum(scratch, minimum / step, out=scratch)
    return scratch


def _billed_durations_ms(provider: str | PriceSheet, durations_ms: object) -> np.ndarray:
    """Each invocation's billed duration on a function platform, ms, as :func:`estimate`
    rounds it (up to the provider's step, at least its minimum).

    Used to share a bill among its invocations (the simulator's per-call costs).

    Raises:
        InvalidUsage: not a duration-billed service, or bad durations.
        UnknownProvider: unknown key.
    """
    sheet = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
    rules = sheet.rules
    if "duration_step_ms" not in rules:
        raise InvalidUsage(f"provider={sheet.key!r}: does not bill a duration per invocation")
    samples = _samples("duration_ms", durations_ms)
    if samples is None:
        samples = np.asarray([_count("duration_ms", durations_ms)], dtype=np.float64)
    step = float(rules["duration_step_ms"])
    steps: np.ndarray = _steps(samples, step=step, minimum=float(rules["min_billed_ms"]))
    return steps * step


def _range(sheet: PriceSheet, name: str, value: float, rule: str, unit: str) -> None:
    low, high = sheet.rules[rule]
    if not low <= value <= high:
        raise InvalidUsage(
            f"{name}={value:g}: {sheet.key} allows {low:g} to {high:g} {unit}".rstrip()
        )


def _multiple_of(sheet: PriceSheet, name: str, value: float, step: float | None, unit: str) -> None:
    """A configured size must be a whole number of ``step`` (FC memory: 64 MB steps)."""
    if step is None or abs(value / step - round(value / step)) < 1e-9:
        return
    below, above = math.floor(value / step) * step, math.ceil(value / step) * step
    raise InvalidUsage(
        f"{name}={value:g}: {sheet.key} takes multiples of {step:g} {unit} "
        f"(e.g. {below:g} or {above:g})"
    )


def _step_up(value: float, step: float, minimum: float = 0.0) -> float:
    return max(math.ceil(value / step - _EPS) * step, minimum)


# ---------------------------------------------------------------------------- models

_Entries = list[Usage]
_Stats = dict[str, float]


@dataclass(frozen=True, slots=True)
class _Request:
    sheet: PriceSheet
    invocations: float | None
    duration_ms: object
    memory_mb: object
    options: Mapping[str, Any]


def _entry(req: _Request, meter: str, item: str, quantity: float) -> Usage:
    return Usage(req.sheet, meter, item, req.sheet.meter(meter).component, quantity)


def _memory(req: _Request) -> float:
    if req.memory_mb is None:
        raise InvalidUsage(f"memory_mb is required for {req.sheet.key}")
    memory = _count("memory_mb", req.memory_mb)
    rules = req.sheet.rules
    billed = _step_up(memory, rules.get("memory_step_mb", 1), rules.get("min_memory_mb", 0))
    if "memory_mb" in rules:
        # A sheet that bills memory in chunks (Step Functions Express: 64 MB chunks with a
        # 64 MB minimum) takes the memory used, any amount, and checks what it bills; the
        # others take a configured size and check it as given.
        checked = billed if rules.get("memory_step_mb", 1) > 1 else memory
        _range(req.sheet, "memory_mb", checked, "memory_mb", "MB")
    _multiple_of(req.sheet, "memory_mb", memory, rules.get("memory_multiple_mb"), "MB")
    return billed


def _duration(req: _Request, name: str, value: object, invocations: float | None) -> _Stats:
    rules = req.sheet.rules
    if value is None:
        if invocations is None:
            raise InvalidUsage(f"invocations and {name} are required for {req.sheet.key}")
        if invocations > 0:
            raise InvalidUsage(f"{name} is required for {req.sheet.key} when invocations > 0")
        return {"invocations": 0.0, "billed_duration_ms": 0.0}
    count, billed_ms = _billed_total(
        name, value, invocations, step=rules["duration_step_ms"], minimum=rules["min_billed_ms"]
    )
    if not math.isfinite(billed_ms * 10240):  # ms x the largest memory, in MB
        shown = f"{value:g}" if isinstance(value, (int, float)) else "the samples"
        raise InvalidUsage(
            f"invocations={invocations!r} with {name}={shown}: the billed time overflows a "
            "float; give a volume and a duration whose product is below 1e300"
        )
    return {"invocations": count, "billed_duration_ms": billed_ms}


def _faas(req: _Request) -> tuple[_Entries, _Stats]:
    sheet, opts = req.sheet, req.options
    archs = sheet.rules.get("archs")
    arch = opts.get("arch", archs[0] if archs else None)
    if archs and arch not in archs:
        raise InvalidUsage(f"arch={arch!r}: {sheet.key} allows {', '.join(archs)}")
    suffix = f"-{arch}" if archs else ""
    label = f" ({arch})" if archs else ""
    provisioned = any(k.startswith("provisioned_") for k in opts)
    invocations = req.invocations
    if invocations is None and req.duration_ms is None and provisioned:
        invocations = 0.0
    memory = _memory(req)
    gb = memory / 1024
    od = _duration(req, "duration_ms", req.duration_ms, invocations)
    stats: _Stats = {
        "invocations": od["invocations"],
        "billed_duration_ms": od["billed_duration_ms"],
        "gb_seconds": gb * od["billed_duration_ms"] / 1000,
    }
    entries = [_entry(req, f"duration{suffix}", f"duration{label}", stats["gb_seconds"])]
    requests = od["invocations"]
    billed_ms = od["billed_duration_ms"]
    if provisioned:
        for name in ("provisioned_concurrency", "provisioned_hours"):
            if name not in opts:
                raise InvalidUsage(
                    f"{name} is required with any provisioned_* option "
                    "(configured concurrency and the hours it is configured)"
                )
        concurrency = _count("provisioned_concurrency", opts.get("provisioned_concurrency"))
        hours = _count("provisioned_hours", opts.get("provisioned_hours"))
        step_s = sheet.rules.get("provisioned_step_minutes", 1) * 60
        seconds = _step_up(hours * 3600, step_s)
        pc_invocations = opts.get("provisioned_invocations", 0)
        pc = _duration(
            req,
            "provisioned_duration_ms",
            opts.get("provisioned_duration_ms"),
            _count("provisioned_invocations", pc_invocations),
        )
        if pc["invocations"] > 0 and concurrency == 0:
            raise InvalidUsage(
                "provisioned_invocations > 0 needs provisioned_concurrency > 0 and "
                "provisioned_hours > 0"
            )
        stats["provisioned_gb_seconds"] = concurrency * gb * seconds
        stats["provisioned_invocations"] = pc["invocations"]
        stats["provisioned_duration_gb_seconds"] = gb * pc["billed_duration_ms"] / 1000
        entries += [
            _entry(
                req,
                f"provisioned{suffix}",
                f"provisioned concurrency{label}",
                stats["provisioned_gb_seconds"],
            ),
            _entry(
                req,
                f"provisioned-duration{suffix}",
                f"duration on provisioned concurrency{label}",
                stats["provisioned_duration_gb_seconds"],
            ),
        ]
        requests += pc["invocations"]
        billed_ms += pc["billed_duration_ms"]
    entries.insert(0, _entry(req, "requests", "requests", requests))
    if "ephemeral_storage_mb" in opts:
        storage = _count("ephemeral_storage_mb", opts["ephemeral_storage_mb"])
        _range(sheet, "ephemeral_storage_mb", storage, "ephemeral_storage_mb", "MB")
        extra_gb = max(storage - sheet.rules["included_ephemeral_mb"], 0.0) / 1024
        stats["ephemeral_gb_seconds"] = extra_gb * billed_ms / 1000
        entries.append(
            _entry(req, "ephemeral-storage", "ephemeral storage", stats["ephemeral_gb_seconds"])
        )
    _egress(req, entries, stats)
    return entries, stats


def _egress(req: _Request, entries: _Entries, stats: _Stats, *, required: bool = False) -> None:
    if "egress_gb" in req.options or required:
        if req.options.get("egress_gb") is None:
            raise InvalidUsage(f"egress_gb is required for {req.sheet.key}")
        stats["egress_gb"] = _count("egress_gb", req.options["egress_gb"])
        entries.append(_entry(req, "egress", "data transfer out", stats["egress_gb"]))


def _gcp_gen1(req: _Request) -> tuple[_Entries, _Stats]:
    table = req.sheet.rules["ghz_by_memory_mb"]
    memory = _count("memory_mb", req.memory_mb) if req.memory_mb is not None else None
    key = f"{memory:g}" if memory is not None else None
    if key not in table:
        sizes = ", ".join(table)
        raise InvalidUsage(f"memory_mb={req.memory_mb!r}: {req.sheet.key} allows {sizes} MB")
    stats = _duration(req, "duration_ms", req.duration_ms, req.invocations)
    seconds = stats["billed_duration_ms"] / 1000
    stats["gb_seconds"] = float(memory) / 1024 * seconds  # type: ignore[arg-type]
    stats["ghz_seconds"] = float(table[key]) * seconds
    entries = [
        _entry(req, "invocations", "invocations", stats["invocations"]),
        _entry(req, "memory", "memory", stats["gb_seconds"]),
        _entry(req, "cpu", "CPU", stats["ghz_seconds"]),
    ]
    _egress(req, entries, stats)
    return entries, stats


def _cloud_run(req: _Request) -> tuple[_Entries, _Stats]:
    memory = _memory(req)
    if "vcpu" in req.options:
        vcpu = _count("vcpu", req.options["vcpu"])
        _range(req.sheet, "vcpu", vcpu, "vcpu", "vCPU")
    else:
        table = req.sheet.rules["default_vcpu_by_memory_mb"]
        sizes = sorted((float(k), float(v)) for k, v in table.items())
        vcpu = next((v for size, v in sizes if size >= memory), sizes[-1][1])
    stats = _duration(req, "duration_ms", req.duration_ms, req.invocations)
    seconds = stats["billed_duration_ms"] / 1000
    stats["vcpu_seconds"] = vcpu * seconds
    stats["gb_seconds"] = stats["gib_seconds"] = memory / 1024 * seconds
    entries = [
        _entry(req, "requests", "requests", stats["invocations"]),
        _entry(req, "cpu", "CPU", stats["vcpu_seconds"]),
        _entry(req, "memory", "memory", stats["gib_seconds"]),
    ]
    return entries, stats


def _alibaba_fc3(req: _Request) -> tuple[_Entries, _Stats]:
    sheet, rules = req.sheet, req.sheet.rules
    memory = _memory(req)
    if "vcpu" not in req.options:
        raise InvalidUsage(f"vcpu is required for {sheet.key} (vCPU of the function, e.g. 0.35)")
    vcpu = _count("vcpu", req.options["vcpu"])
    _range(sheet, "vcpu", vcpu, "vcpu", "vCPU")
    _multiple_of(sheet, "vcpu", vcpu, rules.get("vcpu_multiple"), "vCPU")
    if vcpu > 0:
        low, high = rules["memory_per_vcpu_gb"]
        ratio = memory / 1024 / vcpu
        if not low - _EPS <= ratio <= high + _EPS:
            raise InvalidUsage(
                f"memory_mb={memory:g} with vcpu={vcpu:g}: {sheet.key} allows "
                f"{low:g} to {high:g} GB of memory per vCPU, got {ratio:g}"
            )
    stats = _duration(req, "duration_ms", req.duration_ms, req.invocations)
    seconds = stats["billed_duration_ms"] / 1000
    stats["gb_seconds"] = memory / 1024 * seconds
    stats["vcpu_seconds"] = vcpu * seconds
    parts = [
        ("invocations (CU)", "requests", stats["invocations"] * rules["cu_per_invocation"]),
        ("active vCPU (CU)", "compute", stats["vcpu_seconds"] * rules["cu_per_vcpu_second"]),
        ("memory (CU)", "compute", stats["gb_seconds"] * rules["cu_per_gb_second"]),
    ]
    if "ephemeral_storage_mb" in req.options:
        disk = _count("ephemeral_storage_mb", req.options["ephemeral_storage_mb"])
        _range(sheet, "ephemeral_storage_mb", disk, "ephemeral_storage_mb", "MB")
        choices = rules.get("ephemeral_storage_choices_mb")
        if choices is not None and disk not in choices:
            sizes = " or ".join(f"{c:g}" for c in choices)
            raise InvalidUsage(f"ephemeral_storage_mb={disk:g}: {sheet.key} offers {sizes} MB")
        extra_gb = max(disk - rules["included_ephemeral_mb"], 0.0) / 1024
        parts.append(("disk (CU)", "compute", extra_gb * seconds * rules["cu_per_disk_gb_second"]))
    entries = [Usage(sheet, "compute-units", item, comp, cu) for item, comp, cu in parts]
    stats["compute_units"] = sum(cu for _, _, cu in parts)
    return entries, stats


def _no_duration(req: _Request) -> None:
    for name, value in (("duration_ms", req.duration_ms), ("memory_mb", req.memory_mb)):
        if value is not None:
            raise InvalidUsage(
                f"{req.sheet.key} does not bill {name}; omit it (it accepts "
                f"{', '.join(_accepted(req.sheet))})"
            )


def _invocations(req: _Request, what: str) -> float:
    if req.invocations is None:
        raise InvalidUsage(f"invocations ({what}) is required for {req.sheet.key}")
    return req.invocations


def _sfn_standard(req: _Request) -> tuple[_Entries, _Stats]:
    _no_duration(req)
    executions = _invocations(req, "executions, or transitions when transitions is omitted")
    per = _count("transitions", req.options.get("transitions", 1))
    stats = {"executions": executions, "transitions": executions * per}
    return [_entry(req, "transitions", "state transitions", stats["transitions"])], stats


def _sfn_express(req: _Request) -> tuple[_Entries, _Stats]:
    memory = _memory(req)
    stats = _duration(req, "duration_ms", req.duration_ms, _invocations(req, "executions"))
    stats["gb_seconds"] = memory / 1024 * stats["billed_duration_ms"] / 1000
    stats["gb_hours"] = stats["gb_seconds"] / 3600
    entries = [
        _entry(req, "requests", "requests", stats["invocations"]),
        _entry(req, "duration", "duration", stats["gb_hours"]),
    ]
    return entries, stats


def _requests(req: _Request) -> tuple[_Entries, _Stats]:
    _no_duration(req)
    invocations = _invocations(req, "requests")
    billed = invocations
    if "payload_kb" in req.options:
        step = req.sheet.rules["payload_step_kb"]
        _, billed = _billed_total(
            "payload_kb", req.options["payload_kb"], invocations, step=step, minimum=step
        )
        billed /= step
    stats = {"invocations": invocations, "billed_requests": billed}
    return [_entry(req, "requests", "requests", billed)], stats


def _s3(req: _Request) -> tuple[_Entries, _Stats]:
    _no_duration(req)
    opts = req.options
    if req.invocations is None and not opts:
        raise InvalidUsage(
            f"{req.sheet.key}: give invocations (PUT requests), get_requests or storage_gb_month"
        )
    stats = {
        "put_requests": req.invocations or 0.0,
        "get_requests": _count("get_requests", opts.get("get_requests", 0)),
        "storage_gb_month": _count("storage_gb_month", opts.get("storage_gb_month", 0)),
    }
    entries = [
        _entry(req, "put-requests", "PUT requests", stats["put_requests"]),
        _entry(req, "get-requests", "GET requests", stats["get_requests"]),
        _entry(req, "storage", "storage", stats["storage_gb_month"]),
    ]
    return entries, stats


def _egress_only(req: _Request) -> tuple[_Entries, _Stats]:
    _no_duration(req)
    if req.invocations is not None:
        raise InvalidUsage(f"{req.sheet.key} does not bill invocations; give egress_gb only")
    entries: _Entries = []
    stats: _Stats = {}
    _egress(req, entries, stats, required=True)
    return entries, stats


_MODELS: dict[str, Callable[[_Request], tuple[_Entries, _Stats]]] = {
    "faas": _faas,
    "gcp-gen1": _gcp_gen1,
    "cloud-run": _cloud_run,
    "alibaba-fc3": _alibaba_fc3,
    "sfn-standard": _sfn_standard,
    "sfn-express": _sfn_express,
    "requests": _requests,
    "s3": _s3,
    "egress": _egress_only,
}

_PROVISIONED = (
    "provisioned_concurrency",
    "provisioned_hours",
    "provisioned_invocations",
    "provisioned_duration_ms",
)


def _options(sheet: PriceSheet) -> tuple[str, ...]:
    """Options (beyond invocations, duration_ms, memory_mb) the sheet's model bills."""
    rules, model = sheet.rules, sheet.model
    found: list[str] = []
    if model == "faas":
        archs = rules.get("archs")
        if archs:
            found.append("arch")
        if sheet.has_meter("ephemeral-storage"):
            found.append("ephemeral_storage_mb")
        if sheet.has_meter(f"provisioned-{archs[0]}" if archs else "provisioned"):
            found += _PROVISIONED
    elif model == "alibaba-fc3":
        found += ["vcpu", "ephemeral_storage_mb"]
    elif model == "cloud-run":
        found.append("vcpu")
    elif model == "sfn-standard":
        found.append("transitions")
    elif model == "requests" and "payload_step_kb" in rules:
        found.append("payload_kb")
    elif model == "s3":
        found += ["get_requests", "storage_gb_month"]
    if sheet.has_meter("egress"):
        found.append("egress_gb")
    return tuple(found)


def accepted_options(provider: str | PriceSheet) -> tuple[str, ...]:
    """The provider options (the ``**options`` of :func:`estimate`) a service bills.

    Args:
        provider: catalog key (see :func:`costmodel.providers`) or a :class:`PriceSheet`.

    Returns:
        Option names in a stable order; empty when the service takes no option.
        ``invocations``, ``duration_ms``, ``memory_mb`` and ``free_tier`` are not listed.

    Raises:
        UnknownProvider: unknown key.

    Example:
        >>> accepted_options("aws-sqs-standard")
        ('payload_kb',)
        >>> "vcpu" in accepted_options("alibaba-fc3"), accepted_options("aws-apigw-rest")
        (True, ())
    """
    return _options(provider if isinstance(provider, PriceSheet) else price_sheet(provider))


def _accepted(sheet: PriceSheet) -> tuple[str, ...]:
    base = {
        "sfn-standard": ("invocations",),
        "requests": ("invocations",),
        "s3": ("invocations",),
        "egress": (),
    }.get(sheet.model, ("invocations", "duration_ms", "memory_mb"))
    return (*base, *_options(sheet))


def estimate(
    provider: str | PriceSheet,
    *,
    invocations: float | None = None,
    duration_ms: object = None,
    memory_mb: float | None = None,
    free_tier: FreeTier = False,
    **options: Any,
) -> Bill:
    """Estimate one month's bill for a service.

    Args:
        provider: catalog key (see :func:`costmodel.providers`) or a :class:`PriceSheet`.
        invocations: invocations (requests, executions, PUTs) in the month, >= 0. With
            ``duration_ms`` samples it may be omitted (one invocation per sample); when
            given, the samples are a distribution scaled to ``invocations``.
        duration_ms: duration of one invocation in ms, or per-invocation samples (numpy
            array, pandas Series, list). Each sample is rounded up to the provider's step.
        memory_mb: configured memory in MB (Azure: observed memory; Express: workflow
            memory).
        free_tier: which monthly free offers to apply (once per bill): ``"none"``
            (default, as ``False``: one function rarely owns its account's free tier),
            ``"always"`` (as ``True``: the always-free offers, such as Lambda's 1M requests
            and 400,000 GB-s or SQS's 1M requests) or ``"legacy-12-month"`` (those and
            AWS's 12-month offers, such as API Gateway's 1M calls and S3's 5 GB, which only
            accounts created before 2025-07-15 have; the credit-based Free Tier of newer
            accounts is not modelled).
        **options: provider options, all keyword-only. Per model:

            - ``faas`` (aws-lambda, azure-functions-consumption, huawei-functiongraph):
              needs invocations, duration_ms, memory_mb. aws-lambda also takes ``arch``
              (``"x86_64"``/``"arm64"``), ``ephemeral_storage_mb`` (512-10,240),
              ``egress_gb``, and provisioned concurrency: ``provisioned_concurrency``,
              ``provisioned_hours`` (configured time, rounded up to 5 min),
              ``provisioned_invocations`` and ``provisioned_duration_ms`` (invocations
              served by it; ``invocations``/``duration_ms`` are then the on-demand ones).
            - ``gcp-gen1``: memory_mb one of 128 ... 8192; ``egress_gb``.
            - ``cloud-run``: ``vcpu`` (default: Google's vCPU for the memory size).
            - ``alibaba-fc3``: ``vcpu`` (required), ``ephemeral_storage_mb`` (disk).
            - aws-sfn-standard: invocations = executions, ``transitions`` per execution
              (default 1, so invocations alone counts transitions); no duration/memory.
            - aws-sfn-express: invocations, duration_ms, memory_mb (64 MB / 100 ms steps).
            - aws-apigw-http, aws-sqs-standard, aws-sqs-fifo: invocations = requests,
              ``payload_kb`` (number or samples; metered per 512 KB / 64 KB chunk);
              aws-apigw-rest: invocations only.
            - aws-s3: invocations = PUT requests, ``get_requests``, ``storage_gb_month``.
            - aws-data-transfer: ``egress_gb`` only.

    Returns:
        The itemised :class:`Bill`.

    Raises:
        UnknownProvider: unknown key (lists the known keys and the closest one).
        InvalidUsage: a negative or NaN count or duration, memory or vCPU outside the
            provider's range, a missing required value, or an option the provider does not
            bill (the message names it and lists the accepted ones).

    Example:
        >>> bill = estimate("aws-lambda", invocations=3_000_000, duration_ms=120,
        ...                 memory_mb=1536, free_tier=True)
        >>> round(bill.total, 2), bill.usage["gb_seconds"]
        (2.73, 540000.0)
        >>> import numpy as np
        >>> samples = np.array([120.0, 240.0])  # 100 ms steps bill 200 + 300 ms
        >>> estimate("gcp-cloud-run-functions", duration_ms=samples,
        ...          memory_mb=512).usage["billed_duration_ms"]
        500.0
    """
    sheet = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
    free = free_tier_choice(free_tier)
    allowed = _options(sheet)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidUsage(
            f"{sheet.key} does not bill option(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(_accepted(sheet))}"
        )
    count = None if invocations is None else _count("invocations", invocations)
    request = _Request(sheet, count, duration_ms, memory_mb, MappingProxyType(options))
    entries, stats = _MODELS[sheet.model](request)
    return _make_bill(((sheet, free),), _merge(entries), stats)
