"""How much of something a resource uses: a point value or a distribution.

A usage file (and the Python API beside it) gives each amount (requests a month, a
duration in ms, items in a Map state, retries) in one of these forms:

=====================================  ==============================================
``120``                                a point value (what Infracost takes)
``{fixed: 120}``                       the same, spelt out
``{lognormal: {p50: 120, p99: 900}}``  a median and a 99th percentile
``{uniform: [10, 30]}``                every value between the two equally likely
``{poisson: 10}``                      a count with this mean (items, messages, pages)
``{empirical: [3, 5, 8, 13]}``         measured values, drawn with replacement
=====================================  ==============================================

Each form becomes an :class:`Amount`: it draws ``size`` values with a seeded numpy
``Generator`` (Monte Carlo bands) and knows its exact mean (the point estimate).
costmodel's duration distributions (:func:`costmodel.fixed`, :func:`costmodel.lognormal`,
:func:`costmodel.empirical`, :func:`costmodel.mixture`) are accepted as they are.

>>> import numpy as np
>>> a = amount({"poisson": 10}, field="items")
>>> a.mean, a.sample(np.random.default_rng(0), 3).tolist()
(10.0, [11.0, 2.0, 11.0])
>>> amount({"lognormal": {"p50": 100, "p99": 400}}, field="request_duration_ms").mean
119.4...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from resilience._validate import Number, number

from ..architectures.distributions import Distribution, empirical, lognormal
from ..errors import InvalidFile, InvalidUsage

__all__ = ["FORMS", "Amount", "Point", "Poisson", "Uniform", "amount"]

FloatArray = npt.NDArray[np.float64]

#: The one-key mappings :func:`amount` reads, and what each key takes.
FORMS = {
    "fixed": "a number",
    "lognormal": "{p50: number, p99: number} (p99 >= p50 > 0)",
    "uniform": "[low, high] (low <= high)",
    "poisson": "the mean count (>= 0)",
    "empirical": "a non-empty list of numbers",
}


@runtime_checkable
class Amount(Protocol):
    """An amount: draws with a seeded generator, and an exact mean."""

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` values drawn with ``rng``."""

    @property
    def mean(self) -> float:
        """The exact expected value."""


@dataclass(frozen=True, slots=True)
class Point:
    """Always ``value``."""

    value: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` copies of the value (``rng`` is not used)."""
        return np.full(size, self.value, dtype=np.float64)

    @property
    def mean(self) -> float:
        """The value."""
        return self.value


@dataclass(frozen=True, slots=True)
class Poisson:
    """A count with mean ``lam`` (items in a Map state, messages in a batch)."""

    lam: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` Poisson counts, as floats."""
        return rng.poisson(self.lam, size).astype(np.float64)

    @property
    def mean(self) -> float:
        """``lam``."""
        return self.lam


@dataclass(frozen=True, slots=True)
class Uniform:
    """Every value in ``[low, high]`` equally likely."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` uniform draws."""
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self) -> float:
        """The midpoint."""
        return (self.low + self.high) / 2.0


@dataclass(frozen=True, slots=True)
class _Durations:
    """A costmodel duration distribution read as an amount."""

    distribution: Distribution

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.distribution.sample(rng, size)

    @property
    def mean(self) -> float:
        return self.distribution.mean_ms


def amount(
    value: object,
    *,
    field: str,
    path: str | None = None,
    low: float = 0.0,
    high: float | None = None,
) -> Amount:
    """``value`` (a number, a one-key mapping of :data:`FORMS`, or an amount) as an Amount.

    Args:
        value: what the user gave.
        field: the parameter or the dotted field of a file (named in errors).
        path: the file ``value`` comes from (errors are then :class:`InvalidFile`).
        low: the smallest value allowed (a point value, or a bound of a distribution).
        high: the largest value allowed (e.g. 1 for a probability); None: no bound.

    Raises:
        InvalidUsage: (InvalidFile with ``path``) naming the field, the value and the
            forms allowed.
    """
    fail = _failing(field, path)
    rule = Number(low=low, high=high)
    if isinstance(value, (Point, Poisson, Uniform, _Durations)):
        return value
    if isinstance(value, Distribution):
        return _Durations(value)
    if isinstance(value, Mapping):
        return _form(value, rule, fail)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Point(_checked("", value, rule, fail))
    raise fail(f"{value!r} is not an amount: give a number or one of {_forms()}")


def _failing(field: str, path: str | None) -> Callable[[str], InvalidUsage]:
    if path is None:
        return lambda reason: InvalidUsage(f"{field}: {reason}")
    return lambda reason: InvalidFile(path, field, reason)


def _forms() -> str:
    return ", ".join(f"{{{key}: {shape}}}" for key, shape in FORMS.items())


def _checked(name: str, value: object, rule: Number, fail: Callable[[str], InvalidUsage]) -> float:
    """``value`` checked by ``rule``; ``name`` is the part of the field below it ("" for
    the field itself), so a message reads ``items: empirical[1]=-2: must be ...``."""

    def error(message: str) -> InvalidUsage:
        return fail(message.removeprefix("=") if not name else message)

    return float(number(name, value, rule, error=error))


def _form(spec: Mapping[Any, Any], rule: Number, fail: Callable[[str], InvalidUsage]) -> Amount:
    if len(spec) != 1 or next(iter(spec)) not in FORMS:
        raise fail(f"{dict(spec)!r}: a distribution is one key of {_forms()}")
    ((kind, raw),) = spec.items()
    where = str(kind)
    if kind == "fixed":
        return Point(_checked(where, raw, rule, fail))
    if kind == "poisson":
        return Poisson(_checked(where, raw, Number(low=0.0, high=1e9), fail))
    if kind == "uniform":
        low, high = _pair(raw, where, rule, fail)
        return Uniform(low, high)
    if kind == "empirical":
        values = _values(raw, where, rule, fail)
        return _Durations(empirical(values))
    return _lognormal(raw, where, rule, fail)


def _pair(
    raw: object, where: str, rule: Number, fail: Callable[[str], InvalidUsage]
) -> tuple[float, float]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 2:
        raise fail(f"{raw!r}: {where} takes [low, high]")
    low, high = (_checked(where, v, rule, fail) for v in raw)
    if low > high:
        raise fail(f"{raw!r}: {where} needs low <= high")
    return low, high


def _values(
    raw: object, where: str, rule: Number, fail: Callable[[str], InvalidUsage]
) -> list[float]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise fail(f"{raw!r}: {where} takes a non-empty list of numbers")
    return [_checked(f"{where}[{i}]", v, rule, fail) for i, v in enumerate(raw)]


def _lognormal(
    raw: object, where: str, rule: Number, fail: Callable[[str], InvalidUsage]
) -> Amount:
    if not isinstance(raw, Mapping) or set(raw) != {"p50", "p99"}:
        raise fail(f"{raw!r}: {where} takes {{p50: number, p99: number}}")
    p50 = _checked(f"{where}.p50", raw["p50"], Number(low=0.0, low_open=True), fail)
    p99 = _checked(f"{where}.p99", raw["p99"], Number(low=0.0, low_open=True), fail)
    if p99 < p50:
        raise fail(f"{where}.p99={p99!r} must be >= p50={p50!r}")
    del rule  # a log-normal is > 0 whatever the field's bounds
    return _Durations(lognormal(p50_ms=p50, p99_ms=p99))
