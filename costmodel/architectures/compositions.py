"""Functions and the architectures built from them, simulated as usage.

The article's taxonomy of how functions call functions, each a composition:

- :func:`monolith`: one function doing every step, sized for the largest step;
- :func:`sync_chain`: each step calls the next and waits (``via`` a direct invoke, an
  API gateway or an HTTP trigger); **the caller is billed while it waits**;
- :func:`async_chain`: each step hands the work off (``via`` a direct async invoke, a
  queue or a storage trigger) and ends; the platform retries the next step;
- :func:`fan_out`: branches run in parallel; a waiting caller waits for the slowest;
- :func:`workflow`: a Step Functions state machine runs the steps (``kind="standard"``
  bills per state transition, ``"express"`` per request and GB-s of the run).

Compositions nest: a step of any composition may itself be a composition.

:func:`simulate_usage` runs an architecture ``samples`` times with a seeded, vectorized
Monte Carlo (one numpy operation per step, never a Python loop over samples; only
retries loop, over attempt numbers) and returns its :class:`ArchitectureUsage`: per function the
billed duration of every invocation (so billing can round each one), counts of
gateway requests, queue requests, storage requests, workflow transitions and express
runs, egress, and the end-to-end latency of each request. :func:`costmodel.compare`
prices that usage with :func:`costmodel.estimate`.

Semantics (each is a documented assumption, not a measurement):

- A **function attempt** draws its duration; with probability ``error_rate`` it fails,
  either fast (``failure="fast"``: it runs its drawn duration, then raises) or by
  hanging (``failure="timeout"``: it runs, and is billed, until ``timeout_s``). A run
  longer than ``timeout_s`` is cut there and fails. With ``cold_start_probability`` an
  attempt first initializes for ``init_duration_ms`` (latency always; billed where the
  provider bills it, see :data:`INIT_BILLED`).
- A **synchronous call** (sync chain, fan-out): the caller waits for the callee's
  response plus an invoke overhead per attempt, retries up to ``retries`` times after
  a backoff sleep (``backoff_ms * backoff_multiplier ** k``), all while billed; a share
  ``cache_hit_ratio`` of calls is served from the caller's cache and a share
  ``breaker_open_share`` is rejected by an open circuit breaker: neither waits nor
  calls the callee. A caller whose own run reaches its ``timeout_s`` is cut there.
- An **asynchronous hand-off** (async chain): the caller is billed ``handoff_ms`` for
  the API call (async invoke, SendMessage, PutObject); the platform delivers after
  ``delivery_ms`` and retries a failed attempt ``retries`` times (each attempt billed);
  when they are exhausted the ``on_failure`` function, if any, is invoked (billed).
- A **workflow** task is invoked by the service, which waits without billing a
  function; each attempt of a task is one state transition (a Parallel state adds one
  more); retries wait ``retry_interval_ms * backoff_rate ** k``.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from resilience._validate import Number, number

from ..errors import InvalidUsage
from .distributions import CpuBound, Distribution, Fixed, FloatArray, empirical, fixed
from .keep_warm import KeepWarm

__all__ = [
    "ASYNC_DEFAULTS",
    "INIT_BILLED",
    "LATENCY_ASSUMPTIONS_MS",
    "LOSER_BILLING",
    "Architecture",
    "ArchitectureUsage",
    "AsyncCall",
    "AsyncChain",
    "DefinedWorkflow",
    "FanOut",
    "Function",
    "FunctionUsage",
    "Hedge",
    "Monolith",
    "SyncCall",
    "SyncChain",
    "TaskCall",
    "TaskInvocations",
    "Workflow",
    "WorkflowRun",
    "async_chain",
    "fan_out",
    "function_attempts",
    "functions_of",
    "map_functions",
    "monolith",
    "simulate_usage",
    "sync_chain",
    "workflow",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SyncVia = Literal["direct", "gateway", "http_trigger"]
AsyncVia = Literal["direct", "queue", "storage_trigger"]
Failure = Literal["fast", "timeout"]
WorkflowKind = Literal["standard", "express"]
LoserBilling = Literal["run_to_completion", "until_cancel"]

#: How a platform bills an attempt whose caller stopped waiting for it (a hedge loser):
#: ``run_to_completion`` (AWS Lambda and Alibaba FC synchronous invokes: an abandoned
#: invocation keeps running, and billing, to its end or its timeout; the default for
#: every provider) or ``until_cancel`` (an assumption you opt into where a closed
#: connection ends billing, e.g. Cloud Run request-based billing).
LOSER_BILLING: tuple[str, ...] = ("run_to_completion", "until_cancel")

#: Latency added by each way of calling, ms. These are assumptions (typical figures,
#: not measurements of your account); every composition lets you override them.
LATENCY_ASSUMPTIONS_MS: dict[str, float] = {
    "sync_direct": 15.0,  # SDK Invoke(RequestResponse) round trip on top of the run
    "sync_gateway": 30.0,  # API gateway hop (auth, mapping) plus the invoke
    "sync_http_trigger": 20.0,  # HTTPS to a function URL / HTTP trigger
    "handoff": 15.0,  # the caller's API call: async Invoke, SendMessage or PutObject
    "deliver_direct": 50.0,  # platform's internal queue to the next function
    "deliver_queue": 50.0,  # queue poller to the next function
    "deliver_storage_trigger": 500.0,  # object-created event to the next function
    "workflow_transition": 20.0,  # one state transition of a workflow
}

#: Platform retry defaults of asynchronous hand-offs. AWS Lambda async invocation
#: (also used by S3 event notifications) retries twice, waiting 1 then 2 minutes:
#: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
#: (read 2025-06). A queue redelivers after its visibility timeout (SQS default 30 s:
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
ASYNC_DEFAULTS: dict[str, tuple[int, float, float]] = {
    # via: (retries, first retry delay ms, delay multiplier)
    "direct": (2, 60_000.0, 2.0),
    "storage_trigger": (2, 60_000.0, 2.0),
    "queue": (2, 30_000.0, 1.0),
}

#: Whether a provider bills a cold start's initialization like run time. AWS Lambda bills
#: the INIT phase of on-demand invocations for every runtime and package type since
#: 2025-08-01: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
#: For the other providers we assume init is not billed (their published rates meter
#: the execution of the handler); pass ``init_billed=`` to :func:`costmodel.compare`
#: to assume otherwise.
INIT_BILLED: dict[str, bool] = {"aws-lambda": True}


# ---------------------------------------------------------------------------- checks


def _number(name: str, value: object, *, low: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number) and (number > low or (not strict and number == low)):
            return number
    bound = f"> {low:g}" if strict else f">= {low:g}"
    raise InvalidUsage(f"{name}={value!r}: must be a finite number {bound}")


def _share(name: str, value: object) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and 0 <= float(value) <= 1:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    raise InvalidUsage(f"{name}={value!r}: must be a probability in [0, 1]")


def _count(name: str, value: object) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise InvalidUsage(f"{name}={value!r}: must be an integer >= 0")


def _choice(name: str, value: object, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if value not in options:
        raise InvalidUsage(f"{name}={value!r}: must be one of {', '.join(map(repr, options))}")
    return str(value)


# ---------------------------------------------------------------------------- Function


@dataclass(frozen=True, slots=True)
class Function:
    """One function: its size, how long it runs and how it fails.

    Args:
        name: unique name (it labels the function's invocations in the usage).
        memory_mb: configured memory, MB.
        duration: run time of one successful invocation (:func:`fixed`,
            :func:`lognormal`, :func:`empirical`; a number means ``fixed(number)``), ms.
        vcpu: vCPUs, where the provider bills them separately (Alibaba FC, Cloud Run).
        egress_kb: data sent to the internet per successful invocation, KB.
        error_rate: probability that an attempt fails, in [0, 1].
        failure: how an attempt fails: ``"fast"`` (after its drawn duration) or
            ``"timeout"`` (it hangs and is billed until ``timeout_s``).
        timeout_s: the function's configured timeout, s.
        cold_start_probability: probability that an attempt starts cold, in [0, 1].
        init_duration_ms: initialization time of a cold start, ms.
        cpu_ms: CPU time of one invocation, ms (at most its run time), for providers
            that bill CPU time rather than wall time (Cloudflare Workers, Vercel).
        cpu_share: or the share of each invocation's own run time spent on the CPU, in
            [0, 1] (waiting on a callee is not CPU time). Give at most one of the two.
        keep_warm: scheduled warm-up pings of this function (:class:`costmodel.KeepWarm`);
            :func:`costmodel.compare` adds what they cost and, at the traffic it compares,
            replaces ``cold_start_probability`` (then the baseline without pings) by what
            the pings leave of it (``strategies.keep_warm_cold_starts``);
            :func:`simulate_usage` alone draws the baseline.

    >>> Function("resize", memory_mb=512, duration=fixed(120)).gb_s_per_run
    0.06
    """

    name: str
    _: KW_ONLY
    memory_mb: float
    duration: Distribution = field(default=Fixed(100.0))
    vcpu: float | None = None
    egress_kb: float = 0.0
    error_rate: float = 0.0
    failure: Failure = "fast"
    timeout_s: float = 60.0
    cold_start_probability: float = 0.0
    init_duration_ms: float = 0.0
    cpu_ms: float | None = None
    cpu_share: float | None = None
    keep_warm: KeepWarm | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidUsage(f"name={self.name!r}: must be a non-empty string")
        set_ = object.__setattr__
        set_(self, "memory_mb", _number("memory_mb", self.memory_mb, strict=True))
        duration = self.duration
        if isinstance(duration, (int, float)) and not isinstance(duration, bool):
            duration = fixed(duration)
        if not isinstance(duration, Distribution):
            raise InvalidUsage(
                f"duration={self.duration!r}: must be fixed(ms), lognormal(p50_ms=, p99_ms=), "
                "empirical(samples) or a number of ms"
            )
        set_(self, "duration", duration)
        if self.vcpu is not None:
            set_(self, "vcpu", _number("vcpu", self.vcpu, strict=True))
        set_(self, "egress_kb", _number("egress_kb", self.egress_kb))
        set_(self, "error_rate", _share("error_rate", self.error_rate))
        _choice("failure", self.failure, ("fast", "timeout"))
        set_(self, "timeout_s", _number("timeout_s", self.timeout_s, strict=True))
        set_(
            self,
            "cold_start_probability",
            _share("cold_start_probability", self.cold_start_probability),
        )
        set_(self, "init_duration_ms", _number("init_duration_ms", self.init_duration_ms))
        self._check_cpu()
        if self.keep_warm is not None and not isinstance(self.keep_warm, KeepWarm):
            raise InvalidUsage(
                f"keep_warm={self.keep_warm!r}: must be a costmodel.KeepWarm or None"
            )

    def _check_cpu(self) -> None:
        """At most one of cpu_ms and cpu_share; CPU time within the run time."""
        if self.cpu_ms is not None and self.cpu_share is not None:
            raise InvalidUsage(
                f"cpu_ms={self.cpu_ms!r} and cpu_share={self.cpu_share!r}: give one of them"
            )
        if self.cpu_share is not None:
            object.__setattr__(self, "cpu_share", _share("cpu_share", self.cpu_share))
        if self.cpu_ms is not None:
            cpu = _number("cpu_ms", self.cpu_ms)
            if cpu > self.duration.mean_ms + 1e-9:
                raise InvalidUsage(
                    f"cpu_ms={cpu:g}: exceeds the mean duration {self.duration.mean_ms:g} ms "
                    "(CPU time is part of an invocation's run time)"
                )
            object.__setattr__(self, "cpu_ms", cpu)

    @property
    def bills_cpu(self) -> bool:
        """Whether the function says how much CPU time it uses (cpu_ms or cpu_share)."""
        return self.cpu_ms is not None or self.cpu_share is not None

    @property
    def mean_cpu_ms(self) -> float | None:
        """CPU time of a run of the mean duration, ms (None when not given)."""
        if self.cpu_ms is not None:
            return self.cpu_ms
        if self.cpu_share is not None:
            return self.cpu_share * self.duration.mean_ms
        return None

    def cpu_of(self, run_ms: FloatArray) -> FloatArray | None:
        """CPU time of runs of ``run_ms`` (their own run time, no waiting), ms: ``cpu_share``
        of each, or ``cpu_ms`` capped at each run's time; None when not given."""
        if self.cpu_share is not None:
            return self.cpu_share * run_ms
        if self.cpu_ms is not None:
            return np.minimum(self.cpu_ms, run_ms)
        return None

    @property
    def gb_s_per_run(self) -> float:
        """GB-s of one run of the mean duration, without rounding (a quick figure)."""
        return round(self.memory_mb / 1024 * self.duration.mean_ms / 1000, 12)

    def with_memory(self, memory_mb: float, *, scaling: CpuBound | None = None) -> Function:
        """This function at another memory size; ``scaling`` says how its duration changes.

        >>> f = Function("f", memory_mb=512, duration=fixed(400))
        >>> f.with_memory(1024, scaling=CpuBound(cpu_share=0.5)).duration.mean_ms
        300.0
        """
        memory = _number("memory_mb", memory_mb, strict=True)
        duration, cpu_ms = self.duration, self.cpu_ms
        if scaling is not None:
            factor = scaling.factor(self.memory_mb, memory)
            duration = duration.scaled(factor)
            # A fixed CPU time scales with the run time it is part of.
            cpu_ms = cpu_ms * factor if cpu_ms is not None else None
        return replace(self, memory_mb=memory, duration=duration, cpu_ms=cpu_ms)

    @classmethod
    def from_logs(
        cls, frame: Any, *, function: str | None = None, name: str | None = None, **options: Any
    ) -> Function:
        """A function measured in production: durations, memory and cold starts from logs.

        Args:
            frame: a :func:`costmodel.read_logs` frame (``duration_ms``, ``memory_mb``,
                optional ``function`` and ``init_duration_ms`` columns).
            function: keep this function's rows (needed when the frame holds several).
            name: the new function's name (default: ``function`` or the frame's only one).
            options: other :class:`Function` fields (``error_rate``, ``timeout_s`` ...).

        The duration is :func:`empirical` over the logged durations (billing rounds them
        again per invocation); the memory is the most frequent memory size (rows at other
        sizes are left out); the cold-start probability is the share of rows with an init
        duration, and the init duration their mean.

        >>> import pandas as pd
        >>> logs = pd.DataFrame({"duration_ms": [100.0, 300.0], "memory_mb": [512, 512],
        ...                      "init_duration_ms": [250.0, None]})
        >>> f = Function.from_logs(logs, name="resize")
        >>> f.memory_mb, f.duration.mean_ms, f.cold_start_probability, f.init_duration_ms
        (512.0, 200.0, 0.5, 250.0)
        """
        columns = set(getattr(frame, "columns", ()))
        missing = {"duration_ms", "memory_mb"} - columns
        if missing:
            raise InvalidUsage(f"frame: needs columns {sorted(missing)} (a read_logs frame)")
        if function is not None:
            if "function" not in columns:
                raise InvalidUsage(f"function={function!r}: the frame has no 'function' column")
            frame = frame[frame["function"] == function]
        elif "function" in columns and frame["function"].nunique() > 1:
            known = ", ".join(map(str, frame["function"].unique()))
            raise InvalidUsage(f"function: the frame holds several functions ({known}); pick one")
        if len(frame) == 0:
            raise InvalidUsage(f"function={function!r}: no rows in the frame")
        memory = float(frame["memory_mb"].mode().iloc[0])
        rows = frame[frame["memory_mb"] == memory]
        if name is None:
            name = function or (str(rows["function"].iloc[0]) if "function" in columns else None)
        if name is None:
            raise InvalidUsage("name: give a name (the frame has no 'function' column)")
        fields: dict[str, Any] = {"memory_mb": memory, "duration": empirical(rows["duration_ms"])}
        if "init_duration_ms" in columns:
            init = rows["init_duration_ms"].to_numpy(dtype=float)
            cold = np.isfinite(init) & (init > 0)
            fields["cold_start_probability"] = float(cold.mean())
            fields["init_duration_ms"] = float(init[cold].mean()) if cold.any() else 0.0
        fields.update(options)
        return cls(name, **fields)

    def _attempt(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, BoolArray]:
        fails = rng.random(n) < self.error_rate
        run_ms = self.duration.sample(rng, n)
        if self.failure == "timeout":
            run_ms = np.where(fails, self.timeout_s * 1000.0, run_ms)
        return run_ms, ~fails


# ---------------------------------------------------------------------------- traces


Meter: TypeAlias = tuple[str, str, float]
"""(component, kind, payload_kb): e.g. ("gateway", "http", 1.0), ("storage", "put", 0.0)."""


@dataclass(slots=True)
class _Calls:
    function: Function
    sample: IntArray
    billed_ms: FloatArray  # run time incl. waiting, excl. init
    init_ms: FloatArray
    ok: BoolArray
    run_ms: FloatArray  # the function's own run time, without waiting on callees


@dataclass(slots=True)
class _Express:
    name: str
    memory_mb: float
    sample: IntArray
    duration_ms: FloatArray


@dataclass(slots=True)
class _Trace:
    """n requests through a node: what a synchronous invoker waits for (``response``),
    when all work triggered is done (``done``), both from the moment of the call."""

    response_ms: FloatArray
    done_ms: FloatArray
    ok: BoolArray  # the response is a success
    complete: BoolArray  # all work reached its end successfully
    calls: list[_Calls] = field(default_factory=list)
    meters: dict[Meter, FloatArray] = field(default_factory=dict)
    express: list[_Express] = field(default_factory=list)

    @classmethod
    def empty(cls, n: int) -> _Trace:
        return cls(np.zeros(n), np.zeros(n), np.ones(n, bool), np.ones(n, bool))

    @property
    def n(self) -> int:
        return int(self.response_ms.size)

    def meter(self, key: Meter) -> FloatArray:
        if key not in self.meters:
            self.meters[key] = np.zeros(self.n)
        return self.meters[key]

    def absorb(self, other: _Trace, idx: IntArray) -> None:
        """Add the usage (not the timing) of ``other``, run on samples ``idx``."""
        for c in other.calls:
            self.calls.append(
                _Calls(c.function, idx[c.sample], c.billed_ms, c.init_ms, c.ok, c.run_ms)
            )
        for key, values in other.meters.items():
            self.meter(key)[idx] += values
        for e in other.express:
            self.express.append(_Express(e.name, e.memory_mb, idx[e.sample], e.duration_ms))


Runner: TypeAlias = Callable[[np.random.Generator, FloatArray], _Trace]
"""Runs n requests; the array holds, per request, how long its invoker will wait, ms
(``inf`` when nobody waits); its size is n."""


def _unlimited(n: int) -> FloatArray:
    return np.full(n, np.inf)


# ---------------------------------------------------------------------------- edges


@dataclass(frozen=True, slots=True)
class _Root:
    """The client's own call of the entry point: no overhead, no retries, nothing billed."""

    def invoke(self, run: Runner, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        return run(rng, budget)


_HEDGE_ATTEMPTS = Number(
    low=2, high=5, integral=True, types=(int, np.integer), allowed="an integer in [2, 5]"
)
_HEDGE_DELAY = Number(
    low=0, types=(int, float, np.integer, np.floating), allowed="a finite number of ms >= 0"
)


@dataclass(frozen=True, slots=True)
class Hedge:
    """A hedged synchronous call: more attempts of the same call when the first is slow.

    Attempt ``k`` (0 is the primary) is launched ``k * delay_ms`` after the first, only
    if no earlier attempt has succeeded by then; a failed attempt (an error, or the
    caller's per-attempt ``timeout_ms``) launches the next one at once. The caller waits
    for the first success, or for every launched attempt to fail. **Every launched
    attempt is an invocation of the callee**: a request fee and a billed duration, per
    ``loser_billing``.

    Args:
        attempts: attempts in total, the primary included, in [2, 5] (gRPC's cap).
        delay_ms: the wait before each further attempt, ms (0: all at once).
        loser_billing: how the callee bills an attempt the caller let go of (a loser
            still running at the win, or an attempt cut by ``timeout_ms``):
            ``"run_to_completion"`` (default, every provider: an abandoned AWS Lambda or
            Alibaba FC invocation runs and bills to its end, up to its timeout) or
            ``"until_cancel"`` (an assumption you opt into: a closed connection ends
            billing, so such an attempt bills until the caller let go of it).

    Hedged calls must be idempotent: the callee may run two or more times per call.

    >>> Hedge(delay_ms=50)
    Hedge(attempts=2, delay_ms=50.0, loser_billing='run_to_completion')
    >>> Hedge(attempts=6, delay_ms=50)
    Traceback (most recent call last):
    ...
    costmodel.errors.InvalidUsage: attempts=6: must be an integer in [2, 5]
    """

    _: KW_ONLY
    attempts: int = 2
    delay_ms: float
    loser_billing: LoserBilling = "run_to_completion"

    def __post_init__(self) -> None:
        number("attempts", self.attempts, _HEDGE_ATTEMPTS, error=InvalidUsage)
        object.__setattr__(self, "attempts", int(self.attempts))
        delay = number("delay_ms", self.delay_ms, _HEDGE_DELAY, error=InvalidUsage)
        object.__setattr__(self, "delay_ms", float(delay))
        _choice("loser_billing", self.loser_billing, LOSER_BILLING)


@dataclass(slots=True)
class _Group:
    """One group of attempts of a synchronous call over ``m`` pending requests (one
    attempt, or a hedged group), from the moment the group starts."""

    waited: FloatArray  # what the caller waited for the group, ms
    ok: BoolArray  # an attempt succeeded
    done: FloatArray  # the winner's work done (all failed: every attempt's), ms
    complete: BoolArray  # the winner's work all succeeded
    attempts: FloatArray  # attempts launched (each one a gateway request)


def _attempt_wait(
    sub: _Trace, overhead: float, timeout_ms: float | None
) -> tuple[FloatArray, BoolArray]:
    """What the caller waits for one attempt, and whether it succeeded in time."""
    waited = sub.response_ms + overhead
    ok = sub.ok.copy()
    if timeout_ms is not None:
        ok &= waited <= timeout_ms
        waited = np.minimum(waited, timeout_ms)
    return waited, ok


def _next_launch(
    hedge: Hedge, launch: FloatArray, end: FloatArray, ok: BoolArray, k: int, patience: FloatArray
) -> FloatArray:
    """When attempt ``k`` of each request is launched (``inf``: it is not): ``delay_ms``
    after attempt k - 1, or at once when an earlier attempt fails after that launch;
    never once an earlier attempt has succeeded or the caller ran out of patience."""
    previous = launch[k - 1]
    won = np.where(ok[:k], end[:k], np.inf).min(axis=0)
    failed = np.where(~ok[:k] & (end[:k] > previous), end[:k], np.inf).min(axis=0)
    at = np.minimum(previous + hedge.delay_ms, failed)
    go = np.isfinite(previous) & (at < won) & (at < patience)
    return np.where(go, at, np.inf)


def _until_cancel(sub: _Trace, held_ms: FloatArray) -> None:
    """Cut the billed time of the callee's own invocation in ``sub`` (its last call row:
    :func:`_run_function` appends the function's row after its callees') at the time the
    caller held the connection, its cold start's init first. Calls the callee made
    itself are billed as they ran (the cancellation is not assumed to propagate)."""
    head = sub.calls[-1]
    allowed = np.maximum(held_ms[head.sample] - head.init_ms, 0.0)
    cut = allowed < head.billed_ms
    head.billed_ms = np.where(cut, allowed, head.billed_ms)
    head.run_ms = np.minimum(head.run_ms, head.billed_ms)
    head.ok = head.ok & ~cut  # stopped before its end: no answer (and no egress) sent


def _hedged_group(
    hedge: Hedge,
    run: Runner,
    rng: np.random.Generator,
    patience: FloatArray,
    *,
    overhead: float,
    timeout_ms: float | None,
) -> tuple[_Group, list[tuple[_Trace, IntArray]]]:
    """A hedged group over ``patience.size`` requests, and each attempt's trace with the
    positions (into the group) it ran on."""
    m, count = patience.size, hedge.attempts
    launch = np.full((count, m), np.inf)
    end = np.full((count, m), np.inf)
    ok = np.zeros((count, m), bool)
    done = np.full((count, m), -np.inf)
    complete = np.zeros((count, m), bool)
    launch[0] = 0.0
    traces: list[tuple[_Trace, IntArray]] = []
    for k in range(count):
        if k:
            launch[k] = _next_launch(hedge, launch, end, ok, k, patience)
        idx = np.flatnonzero(np.isfinite(launch[k]))
        if idx.size == 0:
            break
        sub = run(rng, _unlimited(idx.size))
        waited, ok[k, idx] = _attempt_wait(sub, overhead, timeout_ms)
        end[k, idx] = launch[k, idx] + waited
        done[k, idx] = launch[k, idx] + overhead + sub.done_ms
        complete[k, idx] = sub.complete
        traces.append((sub, idx))
    first_ok = np.where(ok, end, np.inf)
    winner = first_ok.argmin(axis=0)
    succeeded: BoolArray = np.asarray(ok.any(axis=0))
    columns = np.arange(m)
    last = np.where(np.isfinite(end), end, -np.inf).max(axis=0)
    waited_all = np.where(succeeded, first_ok.min(axis=0), last)
    if hedge.loser_billing == "until_cancel":
        for k, (sub, idx) in enumerate(traces):
            held = np.minimum(end[k, idx], waited_all[idx]) - launch[k, idx]
            _until_cancel(sub, held)
    group = _Group(
        waited=waited_all,
        ok=succeeded,
        done=np.where(succeeded, done[winner, columns], done.max(axis=0)),
        complete=succeeded & complete[winner, columns],
        attempts=np.isfinite(launch).sum(axis=0).astype(float),
    )
    return group, traces


@dataclass(frozen=True, slots=True)
class SyncCall:
    """How a caller invokes a callee synchronously (see :func:`sync_chain`)."""

    via: SyncVia = "direct"
    gateway: Literal["http", "rest"] = "http"
    overhead_ms: float | None = None
    retries: int = 0
    backoff_ms: float = 100.0
    backoff_multiplier: float = 2.0
    timeout_ms: float | None = None
    breaker_open_share: float = 0.0
    cache_hit_ratio: float = 0.0
    payload_kb: float = 1.0
    hedge: Hedge | None = None

    def __post_init__(self) -> None:
        _choice("via", self.via, ("direct", "gateway", "http_trigger"))
        if self.hedge is not None and not isinstance(self.hedge, Hedge):
            raise InvalidUsage(
                f"hedge={self.hedge!r}: must be a costmodel.Hedge(attempts=, delay_ms=) or None"
            )
        _choice("gateway", self.gateway, ("http", "rest"))
        if self.overhead_ms is not None:
            _number("overhead_ms", self.overhead_ms)
        _count("retries", self.retries)
        _number("backoff_ms", self.backoff_ms)
        _number("backoff_multiplier", self.backoff_multiplier, low=1.0)
        if self.timeout_ms is not None:
            _number("timeout_ms", self.timeout_ms, strict=True)
        _share("breaker_open_share", self.breaker_open_share)
        _share("cache_hit_ratio", self.cache_hit_ratio)
        _number("payload_kb", self.payload_kb)

    @property
    def overhead(self) -> float:
        """Invoke overhead per attempt, ms."""
        if self.overhead_ms is not None:
            return float(self.overhead_ms)
        return LATENCY_ASSUMPTIONS_MS[f"sync_{self.via}"]

    def _group(
        self,
        run: Runner,
        rng: np.random.Generator,
        patience: FloatArray,
        out: _Trace,
        pending: IntArray,
    ) -> _Group:
        """One attempt, or a hedged group, of the ``pending`` requests (their usage goes
        into ``out``); ``patience``: how long each caller can still wait, ms."""
        if self.hedge is not None:
            group, traces = _hedged_group(
                self.hedge,
                run,
                rng,
                patience,
                overhead=self.overhead,
                timeout_ms=self.timeout_ms,
            )
            for sub, idx in traces:
                out.absorb(sub, pending[idx])
            return group
        sub = run(rng, _unlimited(pending.size))
        out.absorb(sub, pending)
        waited, ok = _attempt_wait(sub, self.overhead, self.timeout_ms)
        return _Group(
            waited=waited,
            ok=ok,
            done=self.overhead + sub.done_ms,
            complete=ok & sub.complete,
            attempts=np.ones(pending.size),
        )

    def invoke(self, run: Runner, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        out = _Trace.empty(n)
        skipped = rng.random(n) < self.cache_hit_ratio
        rejected = ~skipped & (rng.random(n) < self.breaker_open_share)
        out.ok[rejected] = False
        out.complete[rejected] = False
        pending = np.flatnonzero(~(skipped | rejected))
        gateway = ("gateway", self.gateway, self.payload_kb) if self.via == "gateway" else None
        for attempt in range(self.retries + 1):
            # A caller cut at its own timeout makes no further attempt.
            pending = pending[out.response_ms[pending] < budget[pending]]
            if pending.size == 0:
                break
            start = out.response_ms[pending]
            group = self._group(run, rng, budget[pending] - start, out, pending)
            if gateway is not None:
                out.meter(gateway)[pending] += group.attempts
            out.done_ms[pending] = np.maximum(out.done_ms[pending], start + group.done)
            out.response_ms[pending] = start + group.waited
            out.ok[pending] = group.ok
            out.complete[pending] = group.complete
            # A retry re-runs the (hedged) group only when all its attempts failed.
            pending = pending[~group.ok]
            if attempt < self.retries:
                out.response_ms[pending] += self.backoff_ms * self.backoff_multiplier**attempt
        np.maximum(out.done_ms, out.response_ms, out=out.done_ms)
        return out


@dataclass(frozen=True, slots=True)
class AsyncCall:
    """How a step hands work to the next one asynchronously (see :func:`async_chain`)."""

    via: AsyncVia = "direct"
    queue: Literal["standard", "fifo"] = "standard"
    retries: int | None = None
    retry_delay_ms: float | None = None
    handoff_ms: float | None = None
    delivery_ms: float | None = None
    on_failure: Function | None = None
    payload_kb: float = 1.0

    def __post_init__(self) -> None:
        _choice("via", self.via, ("direct", "queue", "storage_trigger"))
        _choice("queue", self.queue, ("standard", "fifo"))
        if self.retries is not None:
            _count("retries", self.retries)
        for name in ("retry_delay_ms", "handoff_ms", "delivery_ms"):
            value = getattr(self, name)
            if value is not None:
                _number(name, value)
        if self.on_failure is not None and not isinstance(self.on_failure, Function):
            raise InvalidUsage(f"on_failure={self.on_failure!r}: must be a Function or None")
        _number("payload_kb", self.payload_kb)

    @property
    def handoff(self) -> float:
        """The caller's billed time for the hand-off API call, ms."""
        return LATENCY_ASSUMPTIONS_MS["handoff"] if self.handoff_ms is None else self.handoff_ms

    def handoff_meters(self) -> list[Meter]:
        """What one hand-off is metered as (once per transition)."""
        if self.via == "storage_trigger":
            return [("storage", "put", self.payload_kb)]
        return []

    def invoke(self, run: Runner, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        retries, first_delay, multiplier = ASYNC_DEFAULTS[self.via]
        retries = retries if self.retries is None else self.retries
        delay = first_delay if self.retry_delay_ms is None else self.retry_delay_ms
        deliver = (
            LATENCY_ASSUMPTIONS_MS[f"deliver_{self.via}"]
            if self.delivery_ms is None
            else self.delivery_ms
        )
        out = _Trace.empty(n)
        elapsed = np.full(n, deliver)
        queue = ("queue", self.queue, self.payload_kb)
        if self.via == "queue":
            out.meter(queue)[:] += 1  # SendMessage
        pending = np.arange(n)
        for attempt in range(retries + 1):
            if pending.size == 0:
                break
            sub = run(rng, _unlimited(pending.size))
            out.absorb(sub, pending)
            if self.via == "queue":
                out.meter(queue)[pending] += 1  # ReceiveMessage
            elif self.via == "storage_trigger":
                out.meter(("storage", "get", self.payload_kb))[pending] += 1  # GetObject
            out.done_ms[pending] = elapsed[pending] + sub.done_ms
            elapsed[pending] += sub.response_ms
            out.complete[pending] = sub.ok & sub.complete
            pending = pending[~sub.ok]
            if attempt < retries:
                elapsed[pending] += delay * multiplier**attempt
        if self.via == "queue":
            out.meter(queue)[out.complete] += 1  # DeleteMessage after success
        if pending.size and self.on_failure is not None:
            failed = _run_function(self.on_failure, None, "sync", rng, _unlimited(pending.size))
            out.absorb(failed, pending)
            out.done_ms[pending] = elapsed[pending] + failed.done_ms
        return out  # response 0 and ok: the hand-off was accepted


@dataclass(frozen=True, slots=True)
class TaskCall:
    """How a workflow invokes a task (see :func:`workflow`)."""

    kind: WorkflowKind = "standard"
    retries: int = 0
    retry_interval_ms: float = 1000.0
    backoff_rate: float = 2.0
    transition_ms: float | None = None

    def __post_init__(self) -> None:
        _choice("kind", self.kind, ("standard", "express"))
        _count("retries", self.retries)
        _number("retry_interval_ms", self.retry_interval_ms)
        _number("backoff_rate", self.backoff_rate, low=1.0)
        if self.transition_ms is not None:
            _number("transition_ms", self.transition_ms)

    @property
    def transition(self) -> float:
        """Latency of one state transition, ms."""
        t = self.transition_ms
        return LATENCY_ASSUMPTIONS_MS["workflow_transition"] if t is None else t

    @property
    def meter_key(self) -> Meter:
        """The transitions meter of this workflow kind."""
        return ("orchestration", f"{self.kind}_transitions", 0.0)

    def invoke(self, run: Runner, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        out = _Trace.empty(n)
        pending = np.arange(n)
        for attempt in range(self.retries + 1):
            if pending.size == 0:
                break
            sub = run(rng, _unlimited(pending.size))
            out.absorb(sub, pending)
            out.meter(self.meter_key)[pending] += 1
            start = out.response_ms[pending] + self.transition
            out.done_ms[pending] = np.maximum(out.done_ms[pending], start + sub.done_ms)
            out.response_ms[pending] = start + sub.response_ms
            out.ok[pending] = sub.ok
            out.complete[pending] = sub.ok & sub.complete
            pending = pending[~sub.ok]
            if attempt < self.retries:
                out.response_ms[pending] += self.retry_interval_ms * self.backoff_rate**attempt
        np.maximum(out.done_ms, out.response_ms, out=out.done_ms)
        return out


_Edge: TypeAlias = _Root | SyncCall | AsyncCall | TaskCall


# ---------------------------------------------------------------------------- running


def _run_function(
    function: Function | Monolith,
    then: Runner | None,
    mode: Literal["sync", "async"],
    rng: np.random.Generator,
    budget: FloatArray,
) -> _Trace:
    """One attempt of ``function``; on success it runs ``then`` (the rest of its chain).

    With ``mode="sync"`` the function waits for ``then``'s response (and is billed for
    it) and fails if it fails; with ``"async"`` ``then`` starts with a hand-off whose
    response time is all the function pays.
    """
    n = budget.size
    billed_fn = function if isinstance(function, Function) else function.function
    run_ms, ok = function._attempt(rng, n)
    limit_ms = billed_fn.timeout_s * 1000.0
    cold = rng.random(n) < billed_fn.cold_start_probability
    init_ms = np.where(cold, billed_fn.init_duration_ms, 0.0)
    out = _Trace.empty(n)
    wait_ms = np.zeros(n)
    tail_done = np.zeros(n)
    rest_ok = np.ones(n, bool)
    if then is not None:
        idx = np.flatnonzero(ok)
        if idx.size:
            patience = limit_ms - run_ms[idx] if mode == "sync" else _unlimited(idx.size)
            sub = then(rng, patience)
            out.absorb(sub, idx)
            wait_ms[idx] = sub.response_ms
            tail_done[idx] = sub.done_ms
            rest_ok[idx] = sub.ok & sub.complete
            if mode == "sync":
                ok[idx] &= sub.ok
    billed = run_ms + wait_ms
    ok &= billed <= limit_ms  # a caller still waiting at its timeout is cut there
    billed = np.minimum(billed, limit_ms)
    own = np.minimum(run_ms, billed)
    out.calls.append(_Calls(billed_fn, np.arange(n), billed, init_ms, ok, own))
    out.response_ms = init_ms + billed
    out.done_ms = init_ms + np.maximum(billed, run_ms + tail_done)
    out.ok = ok
    out.complete = ok & rest_ok
    return out


def _then(
    head: _Trace,
    rest: Runner,
    mode: Literal["sync", "async"],
    rng: np.random.Generator,
    budget: FloatArray,
) -> _Trace:
    """``head`` followed by ``rest`` (after a composite step, which has no caller of its
    own): sync starts ``rest`` at head's response if it is ok; async at head's end if
    all its work completed."""
    gate = head.ok if mode == "sync" else head.complete
    idx = np.flatnonzero(gate)
    out = head
    if idx.size:
        left = budget[idx] - head.response_ms[idx] if mode == "sync" else _unlimited(idx.size)
        sub = rest(rng, left)
        out.absorb(sub, idx)
        if mode == "sync":
            start = head.response_ms[idx]
            out.done_ms[idx] = np.maximum(head.done_ms[idx], start + sub.done_ms)
            out.response_ms[idx] = start + sub.response_ms
            out.ok[idx] &= sub.ok
        else:
            out.done_ms[idx] = head.done_ms[idx] + sub.done_ms
        out.complete[idx] &= sub.ok & sub.complete
    out.complete &= gate
    return out


def _run_node(
    node: Architecture, edge: _Edge, rng: np.random.Generator, budget: FloatArray
) -> _Trace:
    """Run ``node`` invoked by ``edge``: a function through the edge, a composite inline
    (its entry functions are invoked through the edge)."""
    if isinstance(node, Function):
        return edge.invoke(lambda r, b: _run_function(node, None, "sync", r, b), rng, budget)
    return node._run(edge, rng, budget)


# ---------------------------------------------------------------------------- architectures


@dataclass(frozen=True, slots=True)
class Monolith:
    """One function doing every step in sequence (see :func:`monolith`)."""

    parts: tuple[Function, ...]
    function: Function
    memory_fixed: bool = False

    def _attempt(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, BoolArray]:
        total = np.zeros(n)
        alive = np.ones(n, bool)
        hung = np.zeros(n, bool)
        for part in self.parts:
            run_ms, ok = part._attempt(rng, n)
            if part.failure == "timeout":
                hung |= alive & ~ok
            total += np.where(alive, run_ms, 0.0)
            alive &= ok
        total = np.where(hung, self.function.timeout_s * 1000.0, total)
        return total, alive

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        return edge.invoke(lambda r, b: _run_function(self, None, "sync", r, b), rng, budget)

    def _children(self) -> tuple[Architecture, ...]:
        return self.parts


@dataclass(frozen=True, slots=True)
class SyncChain:
    """Each step calls the next and waits (see :func:`sync_chain`)."""

    steps: tuple[Architecture, ...]
    call: SyncCall

    def _tail(self, j: int, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        step = self.steps[j]
        rest: Runner | None = None
        if j + 1 < len(self.steps):
            rest = lambda r, b: self._tail(j + 1, self.call, r, b)  # noqa: E731
        if isinstance(step, Function):
            return edge.invoke(lambda r, b: _run_function(step, rest, "sync", r, b), rng, budget)
        head = step._run(edge, rng, budget)
        return head if rest is None else _then(head, rest, "sync", rng, budget)

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        return self._tail(0, edge, rng, budget)

    def _children(self) -> tuple[Architecture, ...]:
        return self.steps


@dataclass(frozen=True, slots=True)
class AsyncChain:
    """Each step hands off to the next and ends (see :func:`async_chain`)."""

    steps: tuple[Architecture, ...]
    call: AsyncCall

    def _handoff(self, j: int, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        out = _Trace.empty(n)
        for key in self.call.handoff_meters():
            out.meter(key)[:] += 1
        sub = self._tail(j, self.call, rng, _unlimited(n))
        out.absorb(sub, np.arange(n))
        out.response_ms[:] = self.call.handoff
        out.done_ms = self.call.handoff + sub.done_ms
        out.complete = sub.complete
        return out

    def _tail(self, j: int, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        step = self.steps[j]
        rest: Runner | None = None
        if j + 1 < len(self.steps):
            rest = lambda r, b: self._handoff(j + 1, r, b)  # noqa: E731
        if isinstance(step, Function):
            return edge.invoke(lambda r, b: _run_function(step, rest, "async", r, b), rng, budget)
        head = step._run(edge, rng, budget)
        return head if rest is None else _then(head, rest, "async", rng, budget)

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        return self._tail(0, edge, rng, budget)

    def _children(self) -> tuple[Architecture, ...]:
        steps = self.steps
        return (*steps, self.call.on_failure) if self.call.on_failure else steps


@dataclass(frozen=True, slots=True)
class FanOut:
    """Branches invoked in parallel (see :func:`fan_out`)."""

    branches: tuple[Architecture, ...]
    call: SyncCall | None

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        use: _Edge = self.call if self.call is not None else edge
        out = _Trace.empty(n)
        everyone = np.arange(n)
        for branch in self.branches:
            sub = _run_node(branch, use, rng, budget)
            out.absorb(sub, everyone)
            np.maximum(out.response_ms, sub.response_ms, out=out.response_ms)
            np.maximum(out.done_ms, sub.done_ms, out=out.done_ms)
            out.ok &= sub.ok
            out.complete &= sub.complete
        if isinstance(use, TaskCall):  # a Parallel state is one more transition
            out.meter(use.meter_key)[:] += 1
            out.response_ms += use.transition
            out.done_ms += use.transition
        return out

    def _children(self) -> tuple[Architecture, ...]:
        return self.branches


@dataclass(frozen=True, slots=True)
class Workflow:
    """Steps run by a Step Functions state machine (see :func:`workflow`)."""

    steps: tuple[Architecture, ...]
    task: TaskCall
    name: str
    memory_mb: float

    def _tail(self, j: int, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        head = _run_node(self.steps[j], self.task, rng, budget)
        if j + 1 == len(self.steps):
            return head
        return _then(head, lambda r, b: self._tail(j + 1, r, b), "sync", rng, budget)

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        n = budget.size
        out = self._tail(0, rng, _unlimited(n))
        if self.task.kind == "express":
            out.express.append(_Express(self.name, self.memory_mb, np.arange(n), out.response_ms))
            out.meter(("orchestration", "express_requests", 0.0))[:] += 1
        else:
            out.meter(("orchestration", "standard_executions", 0.0))[:] += 1
        return out

    def _children(self) -> tuple[Architecture, ...]:
        return self.steps


@dataclass(frozen=True, slots=True)
class TaskInvocations:
    """The invocations of one function by the Task states of ``n`` workflow executions.

    Attributes:
        execution: the execution (0 .. n-1) each invocation belongs to.
        usage: the invocations (see :func:`function_attempts`).
    """

    execution: IntArray
    usage: FunctionUsage


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """What ``n`` executions of a :class:`DefinedWorkflow` used.

    Attributes:
        duration_ms: each execution's run, start to end, ms.
        ok: whether each execution succeeded.
        meters: per execution, the counts of the workflow meters
            (("orchestration", "standard_transitions", 0), "express_requests",
            "standard_executions"), child workflows included.
        express: the express runs, as (workflow name, memory MB, execution of each run,
            duration of each run in ms): the execution itself and its express children.
        invocations: the function invocations of its Task states.
    """

    duration_ms: FloatArray
    ok: BoolArray
    meters: dict[Meter, FloatArray]
    express: list[tuple[str, float, IntArray, FloatArray]]
    invocations: list[TaskInvocations]


class DefinedWorkflow(abc.ABC):
    """A workflow defined outside this module (a state machine read from an Amazon States
    Language definition: :class:`costmodel.iac.asl.StateMachine`), usable wherever an
    architecture is: it says what ``n`` executions use, the rest is done here."""

    __slots__ = ()

    @abc.abstractmethod
    def run_workflow(self, rng: np.random.Generator, n: int) -> WorkflowRun:
        """``n`` executions, drawn with ``rng``."""

    @abc.abstractmethod
    def task_functions(self) -> tuple[Function, ...]:
        """The functions its Task states invoke (each once)."""

    @abc.abstractmethod
    def with_functions(self, change: Callable[[Function], Function]) -> DefinedWorkflow:
        """A copy whose Task states invoke ``change(function)`` instead."""

    def _run(self, edge: _Edge, rng: np.random.Generator, budget: FloatArray) -> _Trace:
        """Run inline, as :class:`Workflow` does (the service starts the execution)."""
        del edge
        run = self.run_workflow(rng, budget.size)
        out = _Trace(run.duration_ms, run.duration_ms.copy(), run.ok, run.ok.copy())
        for key, counts in run.meters.items():
            out.meter(key)[:] += counts
        for name, memory_mb, execution, duration_ms in run.express:
            out.express.append(_Express(name, memory_mb, execution, duration_ms))
        for task in run.invocations:
            u = task.usage
            out.calls.append(
                _Calls(u.function, task.execution, u.billed_ms, u.init_ms, u.ok, u.run_ms)
            )
        return out

    def _children(self) -> tuple[Architecture, ...]:
        return self.task_functions()


def function_attempts(
    function: Function, rng: np.random.Generator, n: int
) -> tuple[FunctionUsage, FloatArray]:
    """``n`` attempts of ``function`` invoked by a workflow (nobody billed waits): each
    attempt's usage and its response time (init included), ms.

    >>> u, response_ms = function_attempts(Function("f", memory_mb=128, duration=50),
    ...                                    np.random.default_rng(0), 2)
    >>> u.billed_ms.tolist(), response_ms.tolist()
    ([50.0, 50.0], [50.0, 50.0])
    """
    trace = _run_function(function, None, "sync", rng, _unlimited(n))
    (c,) = trace.calls
    return FunctionUsage(c.function, c.billed_ms, c.init_ms, c.ok, c.run_ms), trace.response_ms


Architecture: TypeAlias = (
    Function | Monolith | SyncChain | AsyncChain | FanOut | Workflow | DefinedWorkflow
)
_NODES = (Function, Monolith, SyncChain, AsyncChain, FanOut, Workflow, DefinedWorkflow)


def _steps(name: str, steps: tuple[object, ...], *, minimum: int = 1) -> tuple[Architecture, ...]:
    if len(steps) < minimum:
        raise InvalidUsage(f"{name}: needs at least {minimum} step(s), got {len(steps)}")
    for step in steps:
        if not isinstance(step, _NODES):
            raise InvalidUsage(
                f"{name}: {step!r} is not a Function or a composition "
                "(monolith, sync_chain, async_chain, fan_out, workflow)"
            )
    result: tuple[Architecture, ...] = steps  # type: ignore[assignment]
    _check_names(result)
    return result


def functions_of(architecture: Architecture) -> Iterator[Function]:
    """Every function of an architecture, depth first (a monolith's parts included).

    >>> a, b = Function("a", memory_mb=128), Function("b", memory_mb=128)
    >>> [f.name for f in functions_of(sync_chain(a, b))]
    ['a', 'b']
    """
    if isinstance(architecture, Function):
        yield architecture
        return
    for child in architecture._children():
        yield from functions_of(child)


def _check_names(steps: Iterable[Architecture]) -> None:
    seen: dict[str, Function] = {}
    for step in steps:
        functions = list(functions_of(step))
        if isinstance(step, Monolith):
            functions.append(step.function)
        for f in functions:
            other = seen.setdefault(f.name, f)
            if other is not f and other != f:
                raise InvalidUsage(
                    f"name={f.name!r}: two different functions share this name; "
                    "give each function a unique name"
                )


def map_functions(
    architecture: Architecture, change: Callable[[Function], Function]
) -> Architecture:
    """A copy of ``architecture`` with every function replaced by ``change(function)``.

    A monolith is rebuilt from its changed parts (its memory is the largest part's,
    unless it was set explicitly).

    >>> a = Function("a", memory_mb=128)
    >>> map_functions(sync_chain(a, a), lambda f: f.with_memory(256)).steps[0].memory_mb
    256.0
    """
    if isinstance(architecture, Function):
        return change(architecture)
    if isinstance(architecture, DefinedWorkflow):
        return architecture.with_functions(change)
    if isinstance(architecture, Monolith):
        parts = tuple(change(p) for p in architecture.parts)
        memory = change(architecture.function).memory_mb if architecture.memory_fixed else None
        return _monolith(parts, architecture.function, memory)
    if isinstance(architecture, FanOut):
        branches = tuple(map_functions(b, change) for b in architecture.branches)
        return replace(architecture, branches=branches)
    if isinstance(architecture, AsyncChain):
        steps = tuple(map_functions(s, change) for s in architecture.steps)
        on_failure = architecture.call.on_failure
        call = (
            architecture.call
            if on_failure is None
            else replace(architecture.call, on_failure=change(on_failure))
        )
        return replace(architecture, steps=steps, call=call)
    steps = tuple(map_functions(s, change) for s in architecture.steps)
    return replace(architecture, steps=steps)


# ---------------------------------------------------------------------------- builders


def _monolith(parts: tuple[Function, ...], template: Function, memory_mb: float | None) -> Monolith:
    memory = max(p.memory_mb for p in parts) if memory_mb is None else memory_mb
    vcpus = [p.vcpu for p in parts if p.vcpu is not None]
    cpus = [p.mean_cpu_ms for p in parts]
    function = replace(
        template,
        memory_mb=memory,
        vcpu=max(vcpus) if vcpus else None,
        egress_kb=sum(p.egress_kb for p in parts),
        duration=fixed(sum(p.duration.mean_ms for p in parts)),
        # The steps' CPU time added up, when every step gives its own.
        cpu_ms=sum(c for c in cpus if c is not None) if None not in cpus else None,
        cpu_share=None,
    )
    return Monolith(parts, function, memory_mb is not None)


def monolith(
    *steps: Architecture,
    name: str = "monolith",
    memory_mb: float | None = None,
    timeout_s: float | None = None,
    cold_start_probability: float | None = None,
    init_duration_ms: float | None = None,
) -> Monolith:
    """One function that runs every step in sequence, sized for the largest step.

    Every function of ``steps`` (compositions are flattened, so a fan-out's branches
    run one after the other) becomes a part of one function: its memory is the largest
    part's (or ``memory_mb``), a run is the sum of the parts' runs and stops at the
    first part that fails (a part failing by timeout hangs the whole function until
    its timeout).

    Args:
        steps: the functions (or compositions of them) merged, in order.
        name: the merged function's name.
        memory_mb: memory of the merged function, MB (default: the largest part's).
        timeout_s: its timeout, s (default: the sum of the parts' timeouts).
        cold_start_probability: default: the largest of the parts'.
        init_duration_ms: default: the largest of the parts', ms.

    >>> a = Function("decode", memory_mb=2048, duration=fixed(1000))
    >>> b = Function("notify", memory_mb=128, duration=fixed(3000))
    >>> m = monolith(a, b)
    >>> m.function.memory_mb, m.function.duration.mean_ms
    (2048.0, 4000.0)
    """
    _steps("monolith", steps)
    parts = tuple(f for step in steps for f in functions_of(step))
    template = Function(
        name,
        memory_mb=memory_mb if memory_mb is not None else max(p.memory_mb for p in parts),
        timeout_s=timeout_s if timeout_s is not None else sum(p.timeout_s for p in parts),
        cold_start_probability=(
            cold_start_probability
            if cold_start_probability is not None
            else max(p.cold_start_probability for p in parts)
        ),
        init_duration_ms=(
            init_duration_ms
            if init_duration_ms is not None
            else max(p.init_duration_ms for p in parts)
        ),
    )
    return _monolith(parts, template, memory_mb)


def sync_chain(
    *steps: Architecture,
    via: SyncVia = "direct",
    gateway: Literal["http", "rest"] = "http",
    overhead_ms: float | None = None,
    retries: int = 0,
    backoff_ms: float = 100.0,
    backoff_multiplier: float = 2.0,
    timeout_ms: float | None = None,
    breaker_open_share: float = 0.0,
    cache_hit_ratio: float = 0.0,
    payload_kb: float = 1.0,
    hedge: Hedge | None = None,
) -> SyncChain:
    """Each step calls the next synchronously and waits for its answer.

    The caller is billed while it waits: for the callee's response, the invoke
    overhead of every attempt and every backoff sleep between retries.

    Args:
        steps: functions or compositions; step k calls step k + 1.
        via: ``"direct"`` (SDK invoke), ``"gateway"`` (API gateway, metered) or
            ``"http_trigger"`` (function URL / HTTP trigger, no extra charge).
        gateway: which API gateway product meters the calls: ``"http"`` or ``"rest"``.
        overhead_ms: latency added per call, ms (default: :data:`LATENCY_ASSUMPTIONS_MS`).
        retries: retries after a failed attempt (the caller's retry policy).
        backoff_ms: sleep before the first retry, ms; later ones grow by
            ``backoff_multiplier``.
        timeout_ms: the caller stops waiting after this long, ms (default: it waits
            for the callee's own timeout).
        breaker_open_share: share of calls an open circuit breaker rejects, [0, 1].
        cache_hit_ratio: share of calls answered from the caller's cache, [0, 1].
        payload_kb: request size, KB (gateways meter by size).
        hedge: hedge each call (:class:`Hedge`): more attempts after ``delay_ms``, each
            one an invocation of the callee. ``timeout_ms`` applies to each attempt (a
            timed-out attempt launches the next at once); ``retries`` re-run the whole
            hedged group when all its attempts failed; a cache hit or an open breaker
            (``cache_hit_ratio``, ``breaker_open_share``) launches no attempt at all.

    >>> a, b = Function("a", memory_mb=128, duration=fixed(50)), Function("b", memory_mb=128)
    >>> sync_chain(a, b, via="gateway", retries=2).call.retries
    2
    >>> sync_chain(a, b, hedge=Hedge(attempts=2, delay_ms=20)).call.hedge.delay_ms
    20.0
    """
    call = SyncCall(
        via=via,
        gateway=gateway,
        overhead_ms=overhead_ms,
        retries=retries,
        backoff_ms=backoff_ms,
        backoff_multiplier=backoff_multiplier,
        timeout_ms=timeout_ms,
        breaker_open_share=breaker_open_share,
        cache_hit_ratio=cache_hit_ratio,
        payload_kb=payload_kb,
        hedge=hedge,
    )
    return SyncChain(_steps("sync_chain", steps), call)


def async_chain(
    *steps: Architecture,
    via: AsyncVia = "direct",
    queue: Literal["standard", "fifo"] = "standard",
    retries: int | None = None,
    retry_delay_ms: float | None = None,
    handoff_ms: float | None = None,
    delivery_ms: float | None = None,
    on_failure: Function | None = None,
    payload_kb: float = 1.0,
) -> AsyncChain:
    """Each step hands the work to the next and ends without waiting.

    The caller pays only the hand-off (an async invoke, a queue message or an object
    written to a bucket whose event triggers the next step); the platform retries a
    failed step, billing each attempt, then invokes ``on_failure`` (billed).

    Args:
        steps: functions or compositions; step k hands off to step k + 1.
        via: ``"direct"`` (async invoke), ``"queue"`` or ``"storage_trigger"``.
        queue: queue type when ``via="queue"``: ``"standard"`` or ``"fifo"``.
        retries: platform retries (default: :data:`ASYNC_DEFAULTS`, 2).
        retry_delay_ms: delay before the first retry, ms (default: 60 s for async
            invokes and storage events, growing x2; the 30 s visibility timeout for a queue).
        handoff_ms: the caller's billed time for the hand-off call, ms.
        delivery_ms: latency from hand-off to the next step's start, ms.
        on_failure: function invoked when the retries are exhausted.
        payload_kb: message or object size, KB.

    >>> a, b = Function("a", memory_mb=128), Function("b", memory_mb=128)
    >>> async_chain(a, b, via="queue").call.via
    'queue'
    """
    call = AsyncCall(
        via=via,
        queue=queue,
        retries=retries,
        retry_delay_ms=retry_delay_ms,
        handoff_ms=handoff_ms,
        delivery_ms=delivery_ms,
        on_failure=on_failure,
        payload_kb=payload_kb,
    )
    checked = _steps("async_chain", steps)
    if on_failure is not None:
        _check_names((*checked, on_failure))
    return AsyncChain(checked, call)


def fan_out(
    *branches: Architecture,
    via: SyncVia | None = None,
    retries: int = 0,
    overhead_ms: float | None = None,
    backoff_ms: float = 100.0,
) -> FanOut:
    """Branches invoked in parallel; whoever waits, waits for the slowest.

    Without ``via`` the branches are invoked the way the enclosing composition invokes
    its steps (a sync chain's call, an async chain's hand-off, a workflow's Parallel
    state); at the top level the client invokes them.

    Args:
        branches: two or more functions or compositions.
        via: invoke each branch synchronously this way (see :func:`sync_chain`).
        retries: with ``via``: retries per branch.
        overhead_ms: with ``via``: latency added per call, ms.
        backoff_ms: with ``via``: sleep before the first retry, ms.

    >>> t = [Function(f"t{i}", memory_mb=1024) for i in range(3)]
    >>> len(fan_out(*t).branches)
    3
    """
    checked = _steps("fan_out", branches, minimum=2)
    if via is None:
        if retries or overhead_ms is not None:
            raise InvalidUsage(
                "fan_out: retries and overhead_ms need via= (how branches are called)"
            )
        return FanOut(checked, None)
    call = SyncCall(via=via, retries=retries, overhead_ms=overhead_ms, backoff_ms=backoff_ms)
    return FanOut(checked, call)


def workflow(
    *steps: Architecture,
    kind: WorkflowKind = "standard",
    retries: int = 0,
    retry_interval_ms: float = 1000.0,
    backoff_rate: float = 2.0,
    transition_ms: float | None = None,
    name: str = "workflow",
    memory_mb: float = 64.0,
) -> Workflow:
    """Steps run in sequence by a workflow service (AWS Step Functions).

    The service invokes each task and waits without billing a function. Standard
    workflows bill every state transition (each task attempt, retries included, and
    each Parallel state); Express workflows bill each execution and its duration at
    the memory the execution uses.

    Args:
        steps: functions or compositions (a :func:`fan_out` step is a Parallel state).
        kind: ``"standard"`` or ``"express"``.
        retries: retries per task (the state's Retry ``MaxAttempts``).
        retry_interval_ms: wait before the first retry (``IntervalSeconds``), ms.
        backoff_rate: growth of the wait per retry (``BackoffRate``).
        transition_ms: latency of one state transition, ms.
        name: the workflow's name (labels express runs).
        memory_mb: memory an Express execution is billed at, MB (64 MB steps).

    >>> a = Function("a", memory_mb=128)
    >>> workflow(a, kind="express").task.kind
    'express'
    """
    task = TaskCall(
        kind=kind,
        retries=retries,
        retry_interval_ms=retry_interval_ms,
        backoff_rate=backoff_rate,
        transition_ms=transition_ms,
    )
    if not isinstance(name, str) or not name:
        raise InvalidUsage(f"name={name!r}: must be a non-empty string")
    memory = _number("memory_mb", memory_mb, strict=True)
    return Workflow(_steps("workflow", steps), task, name, memory)


# ---------------------------------------------------------------------------- usage


@dataclass(frozen=True, slots=True)
class FunctionUsage:
    """Every invocation of one function in a simulation.

    Attributes:
        function: the function (its memory, vCPU, egress).
        billed_ms: run time of each invocation, waiting included, init excluded, ms.
        init_ms: initialization time of each invocation (0 when warm), ms.
        ok: whether each invocation succeeded.
        run_ms: each invocation's own run time (waiting on callees excluded), ms.
    """

    function: Function
    billed_ms: FloatArray
    init_ms: FloatArray
    ok: BoolArray
    run_ms: FloatArray

    @property
    def cpu_ms(self) -> FloatArray | None:
        """CPU time of each invocation, ms (from the function's cpu_ms or cpu_share; None
        when it gives neither)."""
        return self.function.cpu_of(self.run_ms)

    @property
    def invocations(self) -> int:
        """How many invocations the simulation made."""
        return int(self.billed_ms.size)

    def durations_ms(self, *, init_billed: bool) -> FloatArray:
        """The billable duration of each invocation, ms (unrounded)."""
        return self.billed_ms + self.init_ms if init_billed else self.billed_ms

    def gb_seconds(self, *, init_billed: bool) -> float:
        """Unrounded GB-s of all invocations."""
        seconds = float(self.durations_ms(init_billed=init_billed).sum()) / 1000.0
        return self.function.memory_mb / 1024.0 * seconds

    @property
    def egress_kb(self) -> float:
        """Data sent out by the successful invocations, KB."""
        return self.function.egress_kb * float(self.ok.sum())


@dataclass(frozen=True, slots=True)
class ArchitectureUsage:
    """What ``samples`` requests through an architecture used.

    Attributes:
        samples: number of simulated requests.
        functions: per function name, its invocations.
        meters: counts of other billed requests over all samples, keyed by
            (component, kind, payload_kb): ("gateway", "http"|"rest", kb),
            ("queue", "standard"|"fifo", kb), ("storage", "put"|"get", kb),
            ("orchestration", "standard_transitions"|"express_requests"|..., 0).
        express_ms: per (workflow name, memory MB), the duration of each express run, ms.
        latency_ms: end-to-end latency of each request (all work done), ms.
        response_ms: what the client waits for each request, ms.
        complete: whether all the work of each request succeeded.
    """

    samples: int
    functions: dict[str, FunctionUsage]
    meters: dict[Meter, float]
    express_ms: dict[tuple[str, float], FloatArray]
    latency_ms: FloatArray
    response_ms: FloatArray
    complete: BoolArray

    def per_request(self, key: Meter) -> float:
        """Mean count of a meter per request."""
        return self.meters.get(key, 0.0) / self.samples

    def gb_seconds(self, *, init_billed: bool = False) -> float:
        """Unrounded GB-s of all function invocations over all samples."""
        return sum(u.gb_seconds(init_billed=init_billed) for u in self.functions.values())

    @property
    def egress_gb(self) -> float:
        """Data sent out over all samples, GB (1 GB = 1024 * 1024 KB)."""
        return sum(u.egress_kb for u in self.functions.values()) / (1024.0 * 1024.0)


def simulate_usage(
    architecture: Architecture, *, samples: int = 100_000, seed: int = 0
) -> ArchitectureUsage:
    """Run ``samples`` requests through ``architecture`` (seeded, vectorized).

    Args:
        architecture: a :class:`Function` or a composition.
        samples: number of simulated requests.
        seed: seed of the numpy random Generator (same seed, same result).

    >>> f = Function("f", memory_mb=1024, duration=fixed(200))
    >>> u = simulate_usage(sync_chain(f, Function("g", memory_mb=1024, duration=fixed(100))))
    >>> round(u.gb_seconds() / u.samples, 3)  # f waits 100 ms + 15 ms overhead for g
    0.415
    """
    if not isinstance(architecture, _NODES):
        raise InvalidUsage(
            f"architecture={architecture!r}: must be a Function or a composition "
            "(monolith, sync_chain, async_chain, fan_out, workflow)"
        )
    n = _count("samples", samples)
    if n < 1:
        raise InvalidUsage(f"samples={samples!r}: must be an integer >= 1")
    _check_names([architecture])
    rng = np.random.default_rng(seed)
    trace = _run_node(architecture, _Root(), rng, _unlimited(n))
    grouped: dict[str, list[_Calls]] = {}
    for c in trace.calls:
        grouped.setdefault(c.function.name, []).append(c)
    functions = {
        name: FunctionUsage(
            calls[0].function,
            np.concatenate([c.billed_ms for c in calls]),
            np.concatenate([c.init_ms for c in calls]),
            np.concatenate([c.ok for c in calls]),
            np.concatenate([c.run_ms for c in calls]),
        )
        for name, calls in grouped.items()
    }
    express: dict[tuple[str, float], list[FloatArray]] = {}
    for e in trace.express:
        express.setdefault((e.name, e.memory_mb), []).append(e.duration_ms)
    return ArchitectureUsage(
        samples=n,
        functions=functions,
        meters={key: float(values.sum()) for key, values in trace.meters.items()},
        express_ms={key: np.concatenate(parts) for key, parts in express.items()},
        latency_ms=trace.done_ms,
        response_ms=trace.response_ms,
        complete=trace.complete,
    )
