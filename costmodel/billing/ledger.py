"""Bill a :class:`resilience.Ledger`: what the calls it recorded cost, and what resilience saved.

A ledger is a bill waiting to happen. :func:`bill_ledger` reads one (the
:class:`resilience.Ledger` itself, its ``to_frame()``, or a frame read back from CSV
or parquet with the same columns) and bills it on any function platform of the
catalog, with the provider's rounding rules applied to each recorded duration:

- the **callee** (the guarded function) is billed for every attempt that actually ran
  it: attempt rows with outcome ``ok``, ``error`` or ``timeout``, each on its
  recorded duration;
- the **caller** (a function calling the callee synchronously), when its memory is
  given, is billed for every call row: it waits for the whole call, every attempt and
  every backoff sleep included, plus its own work (``caller_work_ms``);
- **hedged** attempts: every attempt of a hedged group, winner and losers, is an
  invocation; a loser the caller *cancelled* has only the caller's side of its duration,
  so under ``loser_billing="run_to_completion"`` (the platform ran it to its end) it is
  billed on a **stated estimate** (``loser_estimate``), counted in
  :attr:`LedgerBill.estimated_executions` and described in :attr:`LedgerBill.notes`;
- **chaos** rows: an injected fault or outcome made no downstream call and bills nothing
  downstream; an injected latency is the caller's wait, not the callee's run;
- what resilience **avoided**: callee executions that never happened because the cache
  answered, because the breaker, the rate limit or a full bulkhead refused the attempt,
  or because a fallback answered without any attempt; and an estimate of the money that
  saved.

The same ledger billed on ``"aws-lambda"`` and on ``"alibaba-fc3"`` answers "what did
the breaker save us during last night's outage, on AWS and on Alibaba FC?".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from resilience import Ledger
from resilience._validate import Number, number
from resilience.ledger import OUTCOMES

from ..catalog.sheets import PriceSheet, price_sheet
from ..errors import InvalidUsage
from .engine import Bill, FreeTier, estimate

__all__ = [
    "EXECUTED_OUTCOMES",
    "LOSER_ESTIMATES",
    "REQUIRED_COLUMNS",
    "LedgerBill",
    "bill_ledger",
]

#: Columns a ledger frame must have (``Ledger.to_frame()`` has them all).
REQUIRED_COLUMNS: tuple[str, ...] = ("kind", "start_s", "duration_ms", "outcome", "attempt")
#: Attempt outcomes that ran the callee (and are billed).
EXECUTED_OUTCOMES: tuple[str, ...] = ("ok", "error", "timeout", "cancelled")
_OUTCOMES = OUTCOMES
#: How a cancelled hedge loser's unknown remote duration is estimated under
#: ``loser_billing="run_to_completion"``: ``median`` (the median successful attempt of
#: its function in the ledger, at least what the caller saw) or ``timeout`` (the
#: callee's timeout, ``callee_timeout_s``: an upper bound).
LOSER_ESTIMATES: tuple[str, ...] = ("median", "timeout")
_LOSER_BILLING: tuple[str, ...] = ("run_to_completion", "until_cancel")
#: ``injected`` values whose row made no downstream call.
_NOT_CALLED = ("fault", "outcome")
_KINDS = ("call", "attempt", "probe")
#: Bytes in the GB that data transfer is billed by (AWS: 2^30 bytes).
BYTES_PER_GB = 1024**3


@dataclass(frozen=True, slots=True)
class LedgerBill:
    """What a ledger's calls cost on one provider, and what resilience saved.

    Attributes:
        provider: key of the price sheet billed.
        callee_bill: the callee's :class:`~costmodel.Bill`: one invocation per executed
            attempt, on its recorded duration.
        caller_bill: the caller's bill (one invocation per call, on what it waited plus
            ``caller_work_ms``), or None when no ``caller_memory_mb`` was given.
        calls: call rows billed (logical calls).
        executions: callee executions billed (attempt rows ``ok``/``error``/``timeout``).
        calls_by_outcome: call rows per outcome (every outcome present, 0 if none).
        attempts_by_outcome: attempt rows per outcome (``fallback`` and ``cache_hit``
            never occur on attempt rows; listed as 0).
        avoided: callee executions avoided, per reason: ``cache_hit`` (call rows answered
            by the cache without any attempt), ``rejected`` (attempt rows rejected by an
            open breaker), ``rate_limited`` (attempt rows our rate limiter refused),
            ``bulkhead_full`` (attempt rows a full bulkhead refused), ``fallback`` (call
            rows a fallback answered without any attempt).
        request_bytes: bytes sent to the callee over the executed attempts (0 where the
            ledger has no size).
        response_bytes: bytes the callee answered, same rows.
        estimated_executions: executions billed on an estimate, not a measurement
            (cancelled hedge losers under ``run_to_completion``; see :attr:`notes`).
        not_called: attempt rows a chaos layer answered without calling the callee
            (``injected="fault"`` or ``"outcome"``): not billed.
        notes: what in the bill is an estimate or an assumption, in words.
        probes: executions that were warm-up pings (``probe`` rows, e.g. of
            :func:`resilience.keep_warm`), included in ``executions``.
    """

    provider: str
    callee_bill: Bill = field(repr=False)
    caller_bill: Bill | None = field(repr=False)
    calls: int
    executions: int
    calls_by_outcome: Mapping[str, int] = field(repr=False)
    attempts_by_outcome: Mapping[str, int] = field(repr=False)
    avoided: Mapping[str, int] = field(repr=False)
    request_bytes: int = field(default=0, repr=False)
    response_bytes: int = field(default=0, repr=False)
    estimated_executions: int = 0
    not_called: int = field(default=0, repr=False)
    notes: tuple[str, ...] = field(default=(), repr=False)
    probes: int = 0
    _pooled: Bill | None = field(default=None, init=False, repr=False)

    @property
    def bill(self) -> Bill:
        """Caller and callee together, their usage pooled so that tiers and a free tier
        apply once (the callee's bill alone without a caller)."""
        if self._pooled is None:
            pooled = self.callee_bill
            if self.caller_bill is not None:
                pooled = self.caller_bill + self.callee_bill
            object.__setattr__(self, "_pooled", pooled)
            return pooled
        return self._pooled

    @property
    def total(self) -> float:
        """What the calls cost, caller and callee, in :attr:`currency`."""
        return self.bill.total

    @property
    def currency(self) -> str:
        """ISO currency of every amount."""
        return self.callee_bill.currency

    @property
    def lines(self) -> pd.DataFrame:
        """The pooled bill's lines (provider, component, item, quantity, unit, unit_price,
        cost)."""
        return self.bill.lines

    def by_component(self) -> pd.Series:
        """Cost per component of the pooled bill (every component, 0.0 if unused)."""
        return self.bill.by_component()

    @property
    def avoided_executions(self) -> int:
        """Callee executions avoided, all reasons together."""
        return int(sum(self.avoided.values()))

    @property
    def mean_execution_cost(self) -> float:
        """The callee bill divided by the executions it billed (NaN without any)."""
        if self.executions == 0:
            return math.nan
        return self.callee_bill.total / self.executions

    @property
    def saved_estimate(self) -> float:
        """Estimated callee cost avoided: :attr:`avoided_executions` x
        :attr:`mean_execution_cost` (0.0 if nothing was avoided, NaN if something was
        but no execution was billed to price it). See :func:`bill_ledger` for the
        assumption behind it."""
        if self.avoided_executions == 0:
            return 0.0
        return self.avoided_executions * self.mean_execution_cost

    def summary(self) -> dict[str, Any]:
        """The headline figures as one flat row (for a table over providers)."""
        caller = self.caller_bill
        return {
            "provider": self.provider,
            "currency": self.currency,
            "calls": self.calls,
            "executions": self.executions,
            "caller_cost": 0.0 if caller is None else caller.total,
            "callee_cost": self.callee_bill.total,
            "total_cost": self.total,
            "caller_gb_s": 0.0 if caller is None else float(caller.usage.get("gb_seconds", 0.0)),
            "callee_gb_s": float(self.callee_bill.usage.get("gb_seconds", 0.0)),
            "avoided_cache_hit": self.avoided["cache_hit"],
            "avoided_rejected": self.avoided["rejected"],
            "avoided_rate_limited": self.avoided["rate_limited"],
            "avoided_bulkhead_full": self.avoided["bulkhead_full"],
            "avoided_fallback": self.avoided["fallback"],
            "saved_estimate": self.saved_estimate,
            "estimated_executions": self.estimated_executions,
            "not_called": self.not_called,
        }

    def __repr__(self) -> str:
        return (
            f"LedgerBill(provider={self.provider!r}, calls={self.calls}, "
            f"executions={self.executions}, avoided={self.avoided_executions}, "
            + (f"estimated={self.estimated_executions}, " if self.estimated_executions else "")
            + f"total={self.total:.6g} {self.currency}, saved~{self.saved_estimate:.6g})"
        )


def bill_ledger(
    source: Ledger | pd.DataFrame,
    *,
    callee_memory_mb: float,
    provider: str | PriceSheet = "aws-lambda",
    caller_memory_mb: float | None = None,
    caller_work_ms: float = 0.0,
    free_tier: FreeTier = False,
    function: str | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    response_egress: bool = False,
    caller_options: Mapping[str, Any] | None = None,
    region: str | None = None,
    loser_billing: str = "run_to_completion",
    loser_estimate: str = "median",
    callee_timeout_s: float | None = None,
    injected_latency_ms: float | None = None,
    **options: Any,
) -> LedgerBill:
    """Bill the calls and attempts a ledger recorded, and estimate what resilience saved.

    Callee: every attempt row, and every ``probe`` row (a warm-up ping of
    :func:`resilience.keep_warm`), with outcome ``ok``, ``error``, ``timeout`` or
    ``cancelled`` is one
    invocation billed on its recorded ``duration_ms``, rounded up by the provider's rules
    (:func:`costmodel.estimate`). The duration is the one the caller's clock measured
    around the attempt: for a timed-out attempt that is the timeout, although the
    platform may keep running (and billing) the abandoned execution longer, so the
    callee bill is then a lower bound; a wait for a bulkhead slot counts too.
    Caller (with ``caller_memory_mb``): every call row is one invocation billed on its
    ``duration_ms`` (the whole call: attempts and backoff sleeps) plus ``caller_work_ms``.

    Hedged attempts (rows with ``hedge`` set): each one, winner and losers, is an
    invocation. A loser the caller **cancelled** (outcome ``cancelled``,
    ``hedge_result="lost"``) was timed by the caller only until its cancellation. Under
    ``loser_billing="run_to_completion"`` (default, every provider: AWS Lambda and
    Alibaba FC run an abandoned invocation to its end) its remote duration is unknown, so
    it is billed on a **stated estimate**, ``loser_estimate``: ``"median"`` (default: the
    median duration of the successful attempts of its function in the rows billed, or
    what the caller saw if longer) or ``"timeout"`` (``callee_timeout_s``, an upper
    bound). :attr:`LedgerBill.estimated_executions` counts those rows and
    :attr:`LedgerBill.notes` says how they were billed. Under ``"until_cancel"`` (an
    assumption you opt into: a closed connection ends billing, e.g. Cloud Run) the
    caller's side is what is billed. A loser that ran to its end (``detach``) has its
    own measured duration.

    Chaos rows (``injected``): an attempt with ``injected="fault"`` or ``"outcome"`` made
    no downstream call and bills no invocation (:attr:`LedgerBill.not_called`); with
    ``injected="latency"`` the ledger's duration includes the injected delay, which is
    the caller's wait, not the callee's run: the callee is billed on the recorded
    duration (an upper bound, said in the notes) unless ``injected_latency_ms`` gives
    the delay to take off. The caller's call rows include the delay either way.

    Avoided executions: a ``cache_hit`` call with no attempt, a ``rejected`` (open
    breaker), ``rate_limited`` or ``bulkhead_full`` attempt, a ``fallback`` call with no
    attempt. **Assumption**
    behind :attr:`LedgerBill.saved_estimate`: each avoided execution would have cost
    what an executed one cost on average in this ledger (callee bill / executions). It
    is an estimate, not a counterfactual: during an outage the avoided attempts might
    have hung until a timeout (costlier) or failed fast (cheaper), and the caller's
    wait they spared is not included.

    Args:
        source: a :class:`resilience.Ledger` holding every row it recorded, or a frame
            with at least the columns of :data:`REQUIRED_COLUMNS` (``to_frame()``, or
            the same read back from CSV/parquet); ``function``, ``request_bytes`` and
            ``response_bytes`` are used when present.
        callee_memory_mb: memory of the guarded (called) function, MB.
        provider: function platform key (``"aws-lambda"``, ``"alibaba-fc3"`` ...) or a
            :class:`~costmodel.PriceSheet`.
        region: the provider's region (default: its sheet's own; unknown regions raise
            InvalidUsage listing the known ones).
        caller_memory_mb: memory of the calling function, MB; None: no caller bill.
        caller_work_ms: the caller's own work per call, ms, added to each call.
        free_tier: the free offers to apply, ``"none"`` (default, as ``False``),
            ``"always"`` (as ``True``) or ``"legacy-12-month"`` (see
            :func:`costmodel.estimate`); once, to the pooled bill :attr:`LedgerBill.bill`
            (the separate caller and callee bills each get it).
        function: bill only the rows of this function (needs a ``function`` column).
        start_s: bill only rows that started at or after this clock time, seconds.
        end_s: bill only rows that started before this clock time, seconds.
        response_egress: the callee's responses leave the provider's network (a caller
            outside the cloud): bill the executed attempts' ``response_bytes`` as data
            transfer out on the callee's bill (``egress_gb``, GB of 2^30 bytes; the
            provider must bill egress).
        caller_options: provider options for the caller's bill only, over ``options``
            (e.g. ``{"vcpu": 0.25}`` when the caller is smaller).
        loser_billing: ``"run_to_completion"`` (default) or ``"until_cancel"``: how the
            callee's platform bills a cancelled hedge loser (see above).
        loser_estimate: ``"median"`` (default) or ``"timeout"``: the estimate of a
            cancelled loser's duration under ``run_to_completion``.
        callee_timeout_s: the callee's timeout, s (needed by ``loser_estimate="timeout"``).
        injected_latency_ms: the latency a chaos layer injected per ``injected="latency"``
            row, ms, taken off the callee's duration (default: not taken off).
        **options: provider options for both bills (``vcpu`` for alibaba-fc3, ``arch``
            ...); ``egress_gb`` goes on the callee's bill only.

    Returns:
        A :class:`LedgerBill`.

    Raises:
        InvalidUsage: ``source`` is neither a Ledger nor a frame, misses columns (all
            named), holds an unknown kind or outcome, or a bad duration; a Ledger that
            dropped rows (``max_records``); a memory size or option the provider
            refuses (the message names ``callee_memory_mb``/``caller_memory_mb``).
        UnknownProvider: unknown provider key.

    Example:
        >>> from resilience import Ledger
        >>> ledger = Ledger()
        >>> for start, outcome in ((0.0, "error"), (1.0, "ok")):
        ...     ledger.record(function="quote", kind="attempt", start_s=start,
        ...                   duration_s=0.1204, outcome=outcome, attempt=int(start) + 1)
        >>> ledger.record(function="quote", kind="call", start_s=0.0, duration_s=1.1204,
        ...               outcome="ok", attempt=2)
        >>> ledger.record(function="quote", kind="call", start_s=5.0, duration_s=0.0,
        ...               outcome="cache_hit")
        >>> result = bill_ledger(ledger, callee_memory_mb=1024, caller_memory_mb=512)
        >>> result.executions, result.callee_bill.usage["gb_seconds"]  # 2 x 1 GB x 0.121 s
        (2, 0.242)
        >>> result.saved_estimate == result.mean_execution_cost
        True
        >>> {reason: n for reason, n in result.avoided.items() if n}
        {'cache_hit': 1}
        >>> on_fc = bill_ledger(ledger, provider="alibaba-fc3", callee_memory_mb=1024,
        ...                     vcpu=0.5)
        >>> on_fc.provider, on_fc.callee_bill.usage["gb_seconds"]  # same usage, FC's prices
        ('alibaba-fc3', 0.242)
    """
    if region is not None:
        provider = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
        provider = provider.in_region(region)
    frame = _frame_of(source)
    frame = _select(frame, function=function, start_s=start_s, end_s=end_s)
    kinds = frame["kind"].to_numpy(dtype=object)
    outcomes = frame["outcome"].to_numpy(dtype=object)
    durations = frame["duration_ms"].to_numpy(dtype=np.float64)
    attempts = frame["attempt"].to_numpy(dtype=np.int64)
    is_call = kinds == "call"
    is_attempt = kinds == "attempt"
    is_probe = kinds == "probe"  # a warm-up ping runs the callee: billed like an attempt
    not_called = is_attempt & np.isin(_text(frame, "injected"), _NOT_CALLED)
    executed = (is_attempt | is_probe) & np.isin(outcomes, EXECUTED_OUTCOMES) & ~not_called
    no_attempt = is_call & (attempts == 0)
    avoided = {
        "cache_hit": int((no_attempt & (outcomes == "cache_hit")).sum()),
        "rejected": int((is_attempt & (outcomes == "rejected")).sum()),
        "rate_limited": int((is_attempt & (outcomes == "rate_limited")).sum()),
        "bulkhead_full": int((is_attempt & (outcomes == "bulkhead_full")).sum()),
        "fallback": int((no_attempt & (outcomes == "fallback")).sum()),
    }
    request_bytes = _bytes(frame, "request_bytes", executed)
    response_bytes = _bytes(frame, "response_bytes", executed)

    callee_options = dict(options)
    if response_egress:
        if "response_bytes" not in frame.columns:
            raise InvalidUsage(
                "response_egress=True: the ledger frame has no response_bytes column"
            )
        if "egress_gb" in callee_options:
            raise InvalidUsage(
                "response_egress=True and egress_gb=...: give one (response_egress "
                "computes egress_gb from the response_bytes column)"
            )
        callee_options["egress_gb"] = response_bytes / BYTES_PER_GB
    sheet_key = provider.key if isinstance(provider, PriceSheet) else str(provider)
    callee_ms, estimated, notes = _callee_durations(
        frame,
        durations,
        executed,
        _Losers(loser_billing, loser_estimate, callee_timeout_s, injected_latency_ms),
    )
    callee_bill = _bill(
        provider,
        callee_ms,
        memory_mb=callee_memory_mb,
        field_name="callee_memory_mb",
        free_tier=free_tier,
        options=callee_options,
    )
    caller_bill = None
    if caller_memory_mb is None:
        if caller_options is not None or caller_work_ms != 0.0:
            raise InvalidUsage(
                "caller_options/caller_work_ms: given without caller_memory_mb; "
                "give the caller's memory to bill the caller"
            )
    else:
        work = _work_ms(caller_work_ms)
        if caller_options is not None and not isinstance(caller_options, Mapping):
            raise InvalidUsage(f"caller_options={caller_options!r}: must be a mapping or None")
        shared = {k: v for k, v in options.items() if k != "egress_gb"}
        caller_bill = _bill(
            provider,
            durations[is_call] + work,
            memory_mb=caller_memory_mb,
            field_name="caller_memory_mb",
            free_tier=free_tier,
            options={**shared, **(caller_options or {})},
        )
    return LedgerBill(
        provider=sheet_key,
        callee_bill=callee_bill,
        caller_bill=caller_bill,
        calls=int(is_call.sum()),
        executions=int(executed.sum()),
        probes=int((executed & is_probe).sum()),
        calls_by_outcome=_counts(outcomes[is_call]),
        attempts_by_outcome=_counts(outcomes[is_attempt]),
        avoided=MappingProxyType(avoided),
        request_bytes=request_bytes,
        response_bytes=response_bytes,
        estimated_executions=estimated,
        not_called=int(not_called.sum()),
        notes=notes,
    )


# ---------------------------------------------------------------------------- hedges, chaos

_TIMEOUT_S = Number(low=0, low_open=True, types=(int, float, np.integer, np.floating))
_DELAY_MS = Number(low=0, types=(int, float, np.integer, np.floating))


@dataclass(frozen=True, slots=True)
class _Losers:
    """How cancelled hedge losers and injected latency are billed (checked)."""

    billing: str
    estimate: str
    timeout_s: float | None
    injected_latency_ms: float | None

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("loser_billing", self.billing, _LOSER_BILLING),
            ("loser_estimate", self.estimate, LOSER_ESTIMATES),
        ):
            if value not in allowed:
                raise InvalidUsage(
                    f"{name}={value!r}: must be one of {', '.join(map(repr, allowed))}"
                )
        if self.timeout_s is not None:
            number("callee_timeout_s", self.timeout_s, _TIMEOUT_S, error=InvalidUsage)
        elif self.estimate == "timeout" and self.billing == "run_to_completion":
            raise InvalidUsage(
                "loser_estimate='timeout': give callee_timeout_s= (the callee's timeout, s)"
            )
        if self.injected_latency_ms is not None:
            number("injected_latency_ms", self.injected_latency_ms, _DELAY_MS, error=InvalidUsage)


def _text(frame: pd.DataFrame, column: str) -> np.ndarray[Any, Any]:
    """A nullable text column as an object array, missing values (or column) as ``""``."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].astype("string").fillna("").to_numpy(dtype=object)


def _callee_durations(
    frame: pd.DataFrame,
    durations: np.ndarray[Any, Any],
    executed: np.ndarray[Any, Any],
    losers: _Losers,
) -> tuple[np.ndarray[Any, Any], int, tuple[str, ...]]:
    """The callee duration of each executed attempt, ms; how many are estimates; notes."""
    ms = durations.astype(np.float64, copy=True)
    notes: list[str] = []
    delayed = executed & (_text(frame, "injected") == "latency")
    if delayed.any():
        count = int(delayed.sum())
        if losers.injected_latency_ms is None:
            notes.append(
                f"{count} attempt(s) with injected latency billed on their recorded duration, "
                "which includes the injected delay (the caller's wait): an upper bound; "
                "give injected_latency_ms= to take it off"
            )
        else:
            ms[delayed] = np.maximum(ms[delayed] - losers.injected_latency_ms, 0.0)
            notes.append(
                f"{count} attempt(s) with injected latency: {losers.injected_latency_ms:g} ms "
                "of injected delay taken off each callee duration"
            )
    cancelled = executed & (frame["outcome"].to_numpy(dtype=object) == "cancelled")
    lost = cancelled & (_text(frame, "hedge_result") == "lost")
    if not lost.any():
        return ms[executed], 0, tuple(notes)
    count = int(lost.sum())
    if losers.billing == "until_cancel":
        notes.append(
            f"{count} cancelled hedge loser(s) billed until their cancellation "
            "(loser_billing='until_cancel': the assumption that a closed connection ends "
            "billing)"
        )
        return ms[executed], 0, tuple(notes)
    estimate, note = _loser_estimate(frame, ms, executed, lost, losers)
    ms[lost] = np.maximum(ms[lost], estimate)
    notes.append(
        f"{count} cancelled hedge loser(s) billed on an ESTIMATE of their remote duration "
        f"(loser_billing='run_to_completion': the platform ran them to their end; {note})"
    )
    return ms[executed], count, tuple(notes)


def _loser_estimate(
    frame: pd.DataFrame,
    ms: np.ndarray[Any, Any],
    executed: np.ndarray[Any, Any],
    lost: np.ndarray[Any, Any],
    losers: _Losers,
) -> tuple[np.ndarray[Any, Any], str]:
    """The estimated duration of each cancelled loser (``lost`` rows), ms, and its words."""
    if losers.estimate == "timeout":
        assert losers.timeout_s is not None
        timeout_ms = losers.timeout_s * 1000.0
        return np.full(int(lost.sum()), timeout_ms), (
            f"loser_estimate='timeout': the callee's timeout, {timeout_ms:g} ms, an upper bound"
        )
    names = _text(frame, "function")
    ok = executed & (frame["outcome"].to_numpy(dtype=object) == "ok")
    estimate = ms[lost].copy()  # without a median: what the caller saw (a lower bound)
    lost_names = names[lost]
    missing: list[str] = []
    for name in dict.fromkeys(lost_names):
        pool = ms[ok & (names == name)]
        if pool.size:
            estimate[lost_names == name] = float(np.median(pool))
        else:
            missing.append(str(name) or "(no function)")
    words = "loser_estimate='median': the median successful attempt of its function"
    if missing:
        words += (
            f"; {', '.join(missing)} had no successful attempt: billed on what the caller "
            "saw, a lower bound"
        )
    return estimate, words


# ---------------------------------------------------------------------------- helpers


def _frame_of(source: object) -> pd.DataFrame:
    if isinstance(source, Ledger):
        if source.recorded > len(source):
            raise InvalidUsage(
                f"source: the ledger holds {len(source)} of the {source.recorded} rows it "
                f"recorded (max_records={source.max_records}), so a bill would miss the "
                "rest; use Ledger(max_records=None), or bill ledger.to_frame() to bill "
                "only the rows held"
            )
        return source.to_frame()
    if not isinstance(source, pd.DataFrame):
        raise InvalidUsage(
            f"source={type(source).__name__}: must be a resilience.Ledger or its "
            "to_frame() (a pandas DataFrame)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in source.columns]
    if missing:
        raise InvalidUsage(
            f"source: the ledger frame misses column(s) {', '.join(missing)}; "
            f"a ledger frame has {', '.join(REQUIRED_COLUMNS)} (see Ledger.to_frame())"
        )
    for column, allowed in (("kind", _KINDS), ("outcome", _OUTCOMES)):
        values = source[column].astype("string")
        bad = ~values.isin(allowed).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidUsage(
                f"source: row {row} has {column}={_shown(source[column].iloc[row])!r}; "
                f"must be one of {', '.join(allowed)} ({int(bad.sum())} such row(s))"
            )
    for column in ("start_s", "duration_ms", "attempt"):
        numbers = pd.to_numeric(source[column], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        bad = ~np.isfinite(numbers) | ((numbers < 0) if column != "start_s" else False)
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidUsage(
                f"source: row {row} has {column}={_shown(source[column].iloc[row])!r}; "
                "must be a finite number" + (" >= 0" if column != "start_s" else "")
            )
    return source


def _shown(value: object) -> object:
    """A cell as plain Python for a message (``-1.0``, not ``np.float64(-1.0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _select(
    frame: pd.DataFrame, *, function: str | None, start_s: float | None, end_s: float | None
) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    if function is not None:
        if "function" not in frame.columns:
            raise InvalidUsage(f"function={function!r}: the ledger frame has no function column")
        names = frame["function"].astype("string")
        keep &= (names == function).fillna(False).to_numpy(dtype=bool)
        if not keep.any():
            known = sorted(str(n) for n in names.dropna().unique())
            raise InvalidUsage(
                f"function={function!r}: no row of that function; the ledger has "
                f"{', '.join(map(repr, known)) or 'no function'}"
            )
    for name, value in (("start_s", start_s), ("end_s", end_s)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise InvalidUsage(f"{name}={value!r}: must be a finite number of seconds or None")
    if start_s is not None and end_s is not None and not start_s < end_s:
        raise InvalidUsage(f"start_s={start_s!r}, end_s={end_s!r}: start must be before end")
    starts = pd.to_numeric(frame["start_s"]).to_numpy(dtype=np.float64)
    if start_s is not None:
        keep &= starts >= start_s
    if end_s is not None:
        keep &= starts < end_s
    return frame if keep.all() else frame[keep]


def _work_ms(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidUsage(f"caller_work_ms={value!r}: must be a finite number of ms >= 0")
    return float(value)


def _bytes(frame: pd.DataFrame, column: str, rows: np.ndarray[Any, Any]) -> int:
    if column not in frame.columns:
        return 0
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )[rows]
    return int(np.nansum(values))


def _counts(values: np.ndarray[Any, Any]) -> Mapping[str, int]:
    found = pd.Series(values, dtype=object).value_counts()
    return MappingProxyType({o: int(found.get(o, 0)) for o in _OUTCOMES})


def _bill(
    provider: str | PriceSheet,
    durations_ms: np.ndarray[Any, Any],
    *,
    memory_mb: float,
    field_name: str,
    free_tier: FreeTier,
    options: Mapping[str, Any],
) -> Bill:
    """One invocation per duration, each rounded up by the provider's rules."""
    try:
        if durations_ms.size == 0:
            return estimate(
                provider,
                invocations=0,
                duration_ms=1.0,
                memory_mb=memory_mb,
                free_tier=free_tier,
                **options,
            )
        return estimate(
            provider,
            invocations=durations_ms.size,
            duration_ms=durations_ms,
            memory_mb=memory_mb,
            free_tier=free_tier,
            **options,
        )
    except InvalidUsage as exc:
        message = str(exc)
        if message.startswith("memory_mb"):
            raise InvalidUsage(field_name + message[len("memory_mb") :]) from exc
        side = field_name.split("_")[0]
        raise InvalidUsage(f"{side} bill ({field_name}={memory_mb!r}): {message}") from exc
