"""Usage quantities: checked inputs turned into billed units by a sheet's rounding rules.

The helpers every billing model shares (see :mod:`costmodel.billing.engine` and
:mod:`costmodel.billing.platforms`): counts and per-invocation samples checked once, each
sample rounded up to the provider's step (never the mean), memory rounded to its step, and
the :class:`Usage` a model returns for each meter it bills.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..catalog.sheets import PriceSheet, price_sheet
from ..errors import InvalidUsage

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


def _raw_total(name: str, value: object, invocations: float | None) -> tuple[float, float]:
    """(invocations, sum of ``value`` over them), nothing rounded: a number per invocation,
    or samples whose mean is scaled to ``invocations`` (one invocation per sample without)."""
    samples = _samples(name, value)
    if samples is None:
        single = _count(name, value)
        if invocations is None:
            raise InvalidUsage(f"invocations is required when {name} is a single number")
        return invocations, single * invocations
    total = float(samples.sum())
    if invocations is None:
        return float(samples.size), total
    return invocations, total * (invocations / samples.size)


def _option(req: _Request, name: str, default: float | None = None) -> float:
    """A provider option as a finite number >= 0 (``default`` when absent; required when
    there is no default)."""
    if name not in req.options or req.options[name] is None:
        if default is None:
            raise InvalidUsage(f"{name} is required for {req.sheet.key}")
        return default
    return _count(name, req.options[name])


def _check_cpu_within_duration(cpu_ms: object, duration_ms: object) -> None:
    """CPU time cannot exceed the invocation's wall time: elementwise for samples of one
    length, else on the means (each already checked as numbers >= 0)."""
    cpu, wall = _samples("cpu_ms", cpu_ms), _samples("duration_ms", duration_ms)
    if cpu is not None and wall is not None and cpu.size == wall.size:
        over = cpu > wall + _EPS
        if over.any():
            i = int(np.argmax(over))
            raise InvalidUsage(
                f"cpu_ms[{i}]={float(cpu[i])!r} exceeds duration_ms[{i}]={float(wall[i])!r}: "
                "an invocation's CPU time is part of its wall time"
            )
        return
    cpu_mean = float(cpu.mean()) if cpu is not None else float(cpu_ms)  # type: ignore[arg-type]
    wall_mean = float(wall.mean()) if wall is not None else float(duration_ms)  # type: ignore[arg-type]
    if cpu_mean > wall_mean + _EPS:
        raise InvalidUsage(
            f"cpu_ms (mean {cpu_mean:g}) exceeds duration_ms (mean {wall_mean:g}): an "
            "invocation's CPU time is part of its wall time"
        )
