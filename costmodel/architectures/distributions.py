"""Duration distributions of one function invocation, in milliseconds.

Three shapes cover what users know about their functions:

- :func:`fixed`: one number (a quick estimate, or a closed-form check);
- :func:`lognormal`: a median and a 99th percentile, the two figures a dashboard shows;
- :func:`empirical`: measured samples, e.g. the ``duration_ms`` column of
  :func:`costmodel.read_logs`; sampling draws from them with replacement;
- :func:`mixture`: several of these by weight (a fast body and a slow tail).

Every distribution samples with a ``numpy.random.Generator`` (seeded by the caller),
knows its exact mean (for closed-form checks of the Monte Carlo) and can be scaled
by a factor (for memory sweeps, see :class:`CpuBound`).

``.seconds()`` gives the same distribution as resilience's chaos latency wants it
(:class:`resilience.Sampler`): one draw at a time, in **seconds**, with a stdlib
``random.Random``, e.g. ``resilience.chaos(latency_s=lognormal(p50_ms=200,
p99_ms=2000).seconds(), ...)``. resilience never imports costmodel; this adapter is how
the two meet.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import InvalidUsage

__all__ = [
    "AWS_LAMBDA_MB_PER_VCPU",
    "CpuBound",
    "Distribution",
    "Empirical",
    "Fixed",
    "InSeconds",
    "LogNormal",
    "Mixture",
    "empirical",
    "fixed",
    "lognormal",
    "mixture",
]

FloatArray = npt.NDArray[np.float64]

# z such that P(Z <= z) = 0.99 for a standard normal Z.
_Z99 = 2.3263478740408408

#: Memory at which AWS Lambda allocates one full vCPU, in MB. Source:
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
#: ("At 1,769 MB, a function has the equivalent of one vCPU"), read 2025-06.
AWS_LAMBDA_MB_PER_VCPU = 1769.0


@runtime_checkable
class Distribution(Protocol):
    """What a duration distribution offers: samples, exact mean, scaling."""

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` durations in ms drawn with ``rng``."""

    @property
    def mean_ms(self) -> float:
        """The exact expected duration in ms."""

    def scaled(self, factor: float) -> Distribution:
        """The same shape with every duration multiplied by ``factor``."""


def _finite_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number) and (number > 0 or (allow_zero and number == 0)):
            return number
    allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
    raise InvalidUsage(f"{name}={value!r}: must be {allowed}")


@dataclass(frozen=True, slots=True)
class Fixed:
    """Every invocation lasts ``duration_ms``."""

    duration_ms: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` copies of the duration (``rng`` is not used)."""
        return np.full(size, self.duration_ms, dtype=np.float64)

    @property
    def mean_ms(self) -> float:
        """The duration, ms."""
        return self.duration_ms

    def scaled(self, factor: float) -> Fixed:
        """The duration times ``factor``."""
        return Fixed(self.duration_ms * factor)

    def seconds(self) -> InSeconds:
        """This distribution as a chaos latency sampler, seconds (see :class:`InSeconds`)."""
        return InSeconds(self)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A log-normal duration given by its median and 99th percentile, ms."""

    p50_ms: float
    p99_ms: float

    @property
    def mu(self) -> float:
        """Mean of ln(duration_ms)."""
        return math.log(self.p50_ms)

    @property
    def sigma(self) -> float:
        """Standard deviation of ln(duration_ms)."""
        return (math.log(self.p99_ms) - math.log(self.p50_ms)) / _Z99

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` log-normal durations, ms."""
        if self.sigma == 0:
            return np.full(size, self.p50_ms, dtype=np.float64)
        return rng.lognormal(self.mu, self.sigma, size)

    @property
    def mean_ms(self) -> float:
        """exp(mu + sigma^2 / 2), ms."""
        return math.exp(self.mu + self.sigma**2 / 2)

    def scaled(self, factor: float) -> LogNormal:
        """Median and p99 times ``factor`` (the shape is kept)."""
        return LogNormal(self.p50_ms * factor, self.p99_ms * factor)

    def seconds(self) -> InSeconds:
        """This distribution as a chaos latency sampler, seconds (see :class:`InSeconds`)."""
        return InSeconds(self)


@dataclass(frozen=True, slots=True)
class Empirical:
    """Measured durations, drawn with replacement, ms."""

    samples_ms: FloatArray = field(repr=False)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` draws with replacement from the measured samples, ms."""
        return self.samples_ms[rng.integers(0, self.samples_ms.size, size)]

    @property
    def mean_ms(self) -> float:
        """The mean of the measured samples, ms."""
        return float(self.samples_ms.mean())

    def scaled(self, factor: float) -> Empirical:
        """Every sample times ``factor``."""
        return Empirical(self.samples_ms * factor)

    def seconds(self) -> InSeconds:
        """This distribution as a chaos latency sampler, seconds (see :class:`InSeconds`)."""
        return InSeconds(self)

    def __repr__(self) -> str:
        return f"Empirical(n={self.samples_ms.size}, mean_ms={self.mean_ms:.4g})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Empirical) and np.array_equal(self.samples_ms, other.samples_ms)

    def __hash__(self) -> int:
        return hash((self.samples_ms.size, self.samples_ms.tobytes()[:64]))


@dataclass(frozen=True, slots=True)
class InSeconds:
    """A duration distribution drawn one value at a time, in seconds.

    Implements resilience's :class:`resilience.Sampler` protocol (``sample(rng) ->
    float``, seconds, ``rng`` a ``random.Random``), so a chaos spec's injected latency
    follows the same shape costmodel prices. Made by ``.seconds()`` on :class:`Fixed`,
    :class:`LogNormal` and :class:`Empirical`; any other :class:`Distribution` is drawn
    through a numpy generator seeded from ``rng`` (slower, same law).

    Example:
        >>> import random
        >>> tail = lognormal(p50_ms=200, p99_ms=2000).seconds()
        >>> rng = random.Random(1)
        >>> draws = sorted(tail.sample(rng) for _ in range(10_001))
        >>> round(draws[5_000], 2)  # the median, seconds
        0.2
    """

    distribution: Distribution

    def sample(self, rng: random.Random) -> float:
        """One duration, seconds."""
        dist = self.distribution
        if isinstance(dist, Fixed):
            return dist.duration_ms / 1000.0
        if isinstance(dist, LogNormal):
            if dist.sigma == 0:
                return dist.p50_ms / 1000.0
            return rng.lognormvariate(dist.mu, dist.sigma) / 1000.0
        if isinstance(dist, Empirical):
            return float(dist.samples_ms[rng.randrange(dist.samples_ms.size)]) / 1000.0
        generator = np.random.default_rng(rng.getrandbits(64))
        return float(dist.sample(generator, 1)[0]) / 1000.0

    @property
    def mean_s(self) -> float:
        """The exact expected duration, seconds."""
        return self.distribution.mean_ms / 1000.0


def fixed(duration_ms: float) -> Fixed:
    """A duration that never varies.

    Args:
        duration_ms: the duration of every invocation, ms (> 0).

    >>> fixed(120).mean_ms
    120.0
    """
    return Fixed(_finite_positive("duration_ms", duration_ms))


def lognormal(*, p50_ms: float, p99_ms: float) -> LogNormal:
    """A log-normal duration from its median and 99th percentile.

    Args:
        p50_ms: the median duration, ms (> 0).
        p99_ms: the 99th percentile, ms (>= p50_ms).

    >>> d = lognormal(p50_ms=100, p99_ms=400)
    >>> round(d.mean_ms, 1)
    119.4
    """
    p50 = _finite_positive("p50_ms", p50_ms)
    p99 = _finite_positive("p99_ms", p99_ms)
    if p99 < p50:
        raise InvalidUsage(f"p99_ms={p99_ms!r}: must be >= p50_ms={p50_ms!r}")
    return LogNormal(p50, p99)


def empirical(samples: Any, *, function: str | None = None) -> Empirical:
    """Durations measured in production, drawn with replacement.

    Args:
        samples: durations in ms (a sequence, array or Series), or a frame from
            :func:`costmodel.read_logs` (its ``duration_ms`` column is used).
        function: with a frame that has a ``function`` column, keep that function's rows.

    >>> empirical([10, 20, 30]).mean_ms
    20.0
    """
    columns = getattr(samples, "columns", None)
    if columns is not None:
        frame = samples
        if function is not None:
            if "function" not in columns:
                raise InvalidUsage(f"function={function!r}: the frame has no 'function' column")
            frame = frame[frame["function"] == function]
        if "duration_ms" not in columns:
            raise InvalidUsage(
                f"samples: the frame has no 'duration_ms' column (columns: {list(columns)})"
            )
        samples = frame["duration_ms"]
    elif function is not None:
        raise InvalidUsage(f"function={function!r}: only allowed with a frame of log records")
    try:
        values = np.asarray(samples, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InvalidUsage(f"samples: must be numbers (durations in ms): {exc}") from exc
    if values.size == 0:
        raise InvalidUsage("samples: empty; give at least one duration in ms")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        bad = values[~(np.isfinite(values) & (values > 0))][0]
        raise InvalidUsage(f"samples: {bad!r} is not a finite duration > 0 ms")
    values.flags.writeable = False
    return Empirical(values)


@dataclass(frozen=True, slots=True)
class CpuBound:
    """How a function's duration changes with its memory size (the CPU it buys).

    The model (the one AWS Lambda Power Tuning measures): a share ``cpu_share`` of
    the duration is CPU-bound work that runs at a speed proportional to the vCPUs the
    memory size buys, ``memory_mb / mb_per_vcpu``, but a function uses at most
    ``threads`` vCPUs; the rest (I/O, waiting on other services) does not change::

        factor(m0 -> m) = (1 - cpu_share) + cpu_share * speed(m0) / speed(m)
        speed(m) = min(m / mb_per_vcpu, threads)

    With the defaults (one thread, 1769 MB per vCPU) a CPU-bound function gets faster
    up to 1769 MB and not beyond.

    Attributes:
        cpu_share: the CPU-bound share of the duration at the configured memory, in [0, 1].
        mb_per_vcpu: memory that buys one vCPU, MB (AWS Lambda: 1769).
        threads: vCPUs the code can use at once (>= 1).
    """

    cpu_share: float = 1.0
    mb_per_vcpu: float = AWS_LAMBDA_MB_PER_VCPU
    threads: int = 1

    def __post_init__(self) -> None:
        ok = isinstance(self.cpu_share, (int, float)) and 0 <= self.cpu_share <= 1
        if not ok:
            raise InvalidUsage(f"cpu_share={self.cpu_share!r}: must be a share in [0, 1]")
        _finite_positive("mb_per_vcpu", self.mb_per_vcpu)
        if not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads < 1:
            raise InvalidUsage(f"threads={self.threads!r}: must be an integer >= 1")

    def speed(self, memory_mb: float) -> float:
        """vCPUs the code uses at ``memory_mb``."""
        return min(memory_mb / self.mb_per_vcpu, float(self.threads))

    def factor(self, base_memory_mb: float, memory_mb: float) -> float:
        """Duration at ``memory_mb`` divided by the duration at ``base_memory_mb``.

        >>> CpuBound(cpu_share=1.0).factor(512, 1024)
        0.5
        >>> CpuBound(cpu_share=1.0).factor(1769, 3538)
        1.0
        """
        ratio = self.speed(base_memory_mb) / self.speed(memory_mb)
        return (1 - self.cpu_share) + self.cpu_share * ratio


@dataclass(frozen=True, slots=True)
class Mixture:
    """Each duration drawn from one of several distributions, picked with given weights
    (e.g. a fast body and a slow tail: a heavy-tailed callee)."""

    weights: tuple[float, ...]
    parts: tuple[Distribution, ...]

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` durations, each from a part picked by weight, ms."""
        pick = np.searchsorted(np.cumsum(self.weights)[:-1], rng.random(size), side="right")
        out = np.empty(size, dtype=np.float64)
        for k, part in enumerate(self.parts):
            chosen = pick == k
            out[chosen] = part.sample(rng, int(chosen.sum()))
        return out

    @property
    def mean_ms(self) -> float:
        """The weighted mean of the parts' means, ms."""
        return float(sum(w * p.mean_ms for w, p in zip(self.weights, self.parts, strict=True)))

    def scaled(self, factor: float) -> Mixture:
        """Every part scaled by ``factor`` (the weights are kept)."""
        return Mixture(self.weights, tuple(p.scaled(factor) for p in self.parts))


def mixture(*parts: tuple[float, Distribution | float]) -> Mixture:
    """Durations from several distributions, by weight: ``(weight, distribution)`` pairs.

    Args:
        parts: two or more ``(weight, distribution)`` pairs; the weights are > 0 and add
            up to 1; a number as the distribution means :func:`fixed` of it, ms.

    A heavy-tailed callee: 98% around 15 ms, 2% near a second.

    >>> d = mixture((0.98, lognormal(p50_ms=15, p99_ms=40)), (0.02, fixed(1000)))
    >>> round(d.mean_ms, 1)
    36.1
    """
    if len(parts) < 2:
        raise InvalidUsage(
            f"parts: give two or more (weight, distribution) pairs, got {len(parts)}"
        )
    weights: list[float] = []
    shapes: list[Distribution] = []
    for item in parts:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidUsage(f"parts: {item!r} is not a (weight, distribution) pair")
        weight, shape = item
        weights.append(_finite_positive("weight", weight))
        if isinstance(shape, (int, float)) and not isinstance(shape, bool):
            shape = fixed(shape)
        if not isinstance(shape, Distribution):
            raise InvalidUsage(
                f"parts: {shape!r} is not a distribution (fixed, lognormal, empirical, mixture)"
            )
        shapes.append(shape)
    if not math.isclose(sum(weights), 1.0, rel_tol=0, abs_tol=1e-9):
        raise InvalidUsage(f"parts: the weights add up to {sum(weights):g}; they must add up to 1")
    return Mixture(tuple(weights), tuple(shapes))
