"""A ledger of every call and every attempt made through callwise.

A :class:`Ledger` is what turns resilience into a bill: ``costmodel`` can price it.
It records, per row, the function name, whether the row is a logical ``call`` or one
``attempt`` of it, the start time (from the clock), the duration, the outcome, the
attempt number, the error type, and request/response sizes when an invoker knows
them. It never records arguments, results or credentials.

Invokers report sizes with :func:`report_sizes`; whoever records the attempt collects
them with :func:`collect_sizes`. The collector is carried by a context variable
holding a mutable object, so a worker thread started with
``contextvars.copy_context().run`` reports into the same collector.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._validate import positive_int
from .errors import InvalidUsage

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HEDGE_RESULTS",
    "INJECTED",
    "KINDS",
    "OUTCOMES",
    "Ledger",
    "Outcome",
    "Record",
    "Sizes",
    "collect_sizes",
    "report_sizes",
]

Outcome = Literal[
    "ok", "error", "timeout", "cancelled", "rejected", "rate_limited", "bulkhead_full",
    "fallback", "cache_hit",
]  # fmt: skip
#: The closed set of outcomes. ``cancelled``: the caller gave up (a task cancelled, a
#: ``KeyboardInterrupt``): the time was spent, so it is billed like an error.
#: ``rejected``: an open breaker refused the attempt; ``rate_limited``: our rate limiter
#: did; ``bulkhead_full``: no concurrency slot was free. A downstream's own throttling
#: (an HTTP 429) is an ``error`` that :func:`resilience.throttle_info` recognises.
OUTCOMES: tuple[str, ...] = (
    "ok", "error", "timeout", "cancelled", "rejected", "rate_limited", "bulkhead_full",
    "fallback", "cache_hit",
)  # fmt: skip
Kind = Literal["call", "attempt", "probe"]
#: Row kinds: ``call`` (what the caller asked for), ``attempt`` (each try of it, hedged
#: attempts included), ``probe`` (a scheduled warm-up or reachability ping).
KINDS: tuple[str, ...] = ("call", "attempt", "probe")
#: ``hedge_result`` of an attempt in a hedged group: the first success ``won``, every
#: other attempt of the group ``lost`` (a loser still ran, so a bill charges it).
HEDGE_RESULTS: tuple[str, ...] = ("won", "lost")
#: ``injected`` on a row a chaos layer touched: ``latency`` (a delay was added before
#: the call), ``fault`` (an exception was raised instead of the call), ``outcome`` (a
#: canned result was returned instead of the call).
INJECTED: tuple[str, ...] = ("latency", "fault", "outcome")


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the ledger.

    Attributes:
        function: name of the function (or of the Policy when it has one).
        kind: ``"call"`` for the logical call the caller made, ``"attempt"`` for each
            time the function itself was tried (or rejected before being tried).
        start_s: start time on the clock, seconds.
        duration_s: how long it took, seconds.
        outcome: one of :data:`OUTCOMES`.
        attempt: on attempt rows, 1 for the first attempt, 2 for the first retry, ...;
            on call rows, the number of attempts the call made, rejected ones
            included (0 for a cache hit).
        error_type: qualified name of the exception class, or None.
        request_bytes: request size when an invoker knows it, else None.
        response_bytes: response size when an invoker knows it, else None.
        hedge: on attempt rows of a hedged call, 0 for the primary, 1, 2, ... for the
            hedges; None where no hedge was involved.
        hedge_result: ``won`` or ``lost`` on the attempts of a hedged group, else None.
        injected: ``latency``, ``fault`` or ``outcome`` where a chaos layer injected
            something into this attempt, else None.
    """

    function: str
    kind: Kind
    start_s: float
    duration_s: float
    outcome: str
    attempt: int = 0
    error_type: str | None = None
    request_bytes: int | None = None
    response_bytes: int | None = None
    hedge: int | None = None
    hedge_result: str | None = None
    injected: str | None = None


_OUTCOME_SET = frozenset(OUTCOMES)
_KIND_SET = frozenset(KINDS)


@dataclass(slots=True)
class _Total:
    count: int = 0
    duration_s: float = 0.0
    request_bytes: int = 0
    response_bytes: int = 0


COLUMNS = (
    "function",
    "kind",
    "start_s",
    "duration_ms",
    "outcome",
    "attempt",
    "error_type",
    "request_bytes",
    "response_bytes",
    "hedge",
    "hedge_result",
    "injected",
)


class Ledger:
    """Thread-safe and task-safe record of calls and attempts.

    Args:
        max_records: keep only the newest N rows (``None``: keep all; ``0``: keep
            none and only aggregate). Totals by function, kind and outcome are always
            kept, whatever the bound, so nothing is lost from :meth:`totals`.

    Example:
        >>> ledger = Ledger()
        >>> ledger.record(function="f", kind="call", start_s=0.0, duration_s=0.25, outcome="ok")
        >>> ledger.to_frame()[["function", "duration_ms", "outcome"]].to_dict("records")
        [{'function': 'f', 'duration_ms': 250.0, 'outcome': 'ok'}]
    """

    def __init__(self, *, max_records: int | None = None) -> None:
        if max_records is not None:
            positive_int("max_records", max_records, allow_zero=True)
        self.max_records = max_records
        # Rows are kept as plain tuples (a Record's fields, in order) and made Records
        # when read: a frozen dataclass costs a setattr per field to build.
        self._rows: deque[tuple[Any, ...]] = deque(maxlen=max_records)
        # Totals are counted row by row only when rows may be dropped; a ledger that
        # keeps every row sums them from the rows when asked (the same sums, in order).
        self._counted = max_records is not None
        self._totals: dict[tuple[str, str, str], _Total] = {}
        self._lock = threading.Lock()
        self._recorded = 0

    def record(
        self,
        *,
        function: str,
        kind: Kind,
        start_s: float,
        duration_s: float,
        outcome: str,
        attempt: int = 0,
        error_type: str | None = None,
        request_bytes: int | None = None,
        response_bytes: int | None = None,
        hedge: int | None = None,
        hedge_result: str | None = None,
        injected: str | None = None,
    ) -> None:
        """Add one row (see :class:`Record` for the fields)."""
        if outcome not in _OUTCOME_SET or kind not in _KIND_SET:
            _refuse(outcome=outcome, kind=kind)
        if hedge_result is not None and hedge_result not in HEDGE_RESULTS:
            raise InvalidUsage(f"hedge_result={hedge_result!r}: must be one of {HEDGE_RESULTS}")
        if injected is not None and injected not in INJECTED:
            raise InvalidUsage(f"injected={injected!r}: must be one of {INJECTED} or None")
        row = (
            function,
            kind,
            start_s,
            duration_s,
            outcome,
            attempt,
            error_type,
            request_bytes,
            response_bytes,
            hedge,
            hedge_result,
            injected,
        )
        with self._lock:
            self._recorded += 1
            if self.max_records != 0:
                self._rows.append(row)
            if self._counted:
                _count(self._totals, row)

    def __len__(self) -> int:
        """Rows currently held (at most ``max_records``)."""
        return len(self._rows)

    @property
    def recorded(self) -> int:
        """Rows ever recorded, including those dropped by ``max_records``."""
        return self._recorded

    def records(self) -> list[Record]:
        """A snapshot of the rows held, oldest first."""
        with self._lock:
            rows = list(self._rows)
        return [Record(*row) for row in rows]

    def clear(self) -> None:
        """Forget every row and every total."""
        with self._lock:
            self._rows.clear()
            self._totals.clear()
            self._recorded = 0

    def to_frame(self) -> pd.DataFrame:
        """The rows held as a DataFrame, one row per record.

        Columns: ``function``, ``kind``, ``start_s``, ``duration_ms``, ``outcome``,
        ``attempt``, ``error_type``, ``request_bytes``, ``response_bytes`` (sizes are
        nullable integers: missing where no invoker measured them), ``hedge``
        (nullable integer), ``hedge_result`` and ``injected`` (missing where no hedge or
        chaos layer was involved).
        """
        import numpy as np
        import pandas as pd

        with self._lock:
            rows = list(self._rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
        data = dict(zip(COLUMNS, columns, strict=True))
        # duration_s * 1000.0 per row, as floats (numpy multiplies each the same way)
        duration_ms = np.asarray(data["duration_ms"], dtype="float64") * 1000.0
        dtypes = {"start_s": "float64", "attempt": "int64"}
        for name in ("request_bytes", "response_bytes", "hedge"):
            dtypes[name] = "Int64"
        frame = pd.DataFrame(
            {
                name: (
                    pd.Series(duration_ms, dtype="float64")
                    if name == "duration_ms"
                    else pd.Series(list(data[name]), dtype=dtypes.get(name, "string"))
                )
                for name in COLUMNS
            }
        )
        return frame

    def totals(self) -> pd.DataFrame:
        """Aggregates over every row ever recorded, by function, kind and outcome.

        Columns: ``function``, ``kind``, ``outcome``, ``count``, ``duration_ms``
        (summed), ``request_bytes``, ``response_bytes`` (summed, 0 where unknown).
        """
        import pandas as pd

        with self._lock:
            if self._counted:
                items = sorted(self._totals.items())
            else:
                totals: dict[tuple[str, str, str], _Total] = {}
                for row in self._rows:
                    _count(totals, row)
                items = sorted(totals.items())
        return pd.DataFrame(
            {
                "function": pd.Series([k[0] for k, _ in items], dtype="string"),
                "kind": pd.Series([k[1] for k, _ in items], dtype="string"),
                "outcome": pd.Series([k[2] for k, _ in items], dtype="string"),
                "count": pd.Series([t.count for _, t in items], dtype="int64"),
                "duration_ms": pd.Series([t.duration_s * 1000 for _, t in items], dtype="float64"),
                "request_bytes": pd.Series([t.request_bytes for _, t in items], dtype="int64"),
                "response_bytes": pd.Series([t.response_bytes for _, t in items], dtype="int64"),
            }
        )

    def __repr__(self) -> str:
        return (
            f"Ledger(rows={len(self)}, recorded={self._recorded}, max_records={self.max_records})"
        )


def _count(totals: dict[tuple[str, str, str], _Total], row: tuple[Any, ...]) -> None:
    """Add one row (a Record's fields, in order) to ``totals``."""
    function, kind, _, duration_s, outcome, _, _, request_bytes, response_bytes = row[:9]
    key = (function, kind, outcome)
    total = totals.get(key)
    if total is None:
        total = totals[key] = _Total()
    total.count += 1
    total.duration_s += duration_s
    total.request_bytes += request_bytes or 0
    total.response_bytes += response_bytes or 0


def _refuse(*, outcome: str, kind: str) -> None:
    """Raise for an outcome or kind outside the closed sets."""
    if outcome not in OUTCOMES:
        raise InvalidUsage(f"outcome={outcome!r}: must be one of {OUTCOMES}")
    raise InvalidUsage(f"kind={kind!r}: must be one of {KINDS}")


@dataclass(slots=True)
class Sizes:
    """Request and response sizes reported by an invoker during one attempt."""

    request_bytes: int | None = None
    response_bytes: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


_sizes: contextvars.ContextVar[Sizes | None] = contextvars.ContextVar(
    "callwise_sizes", default=None
)


def report_sizes(*, request_bytes: int | None = None, response_bytes: int | None = None) -> None:
    """Tell the attempt being recorded how many bytes went out and came back.

    Called by invokers; does nothing when no one is collecting.
    """
    sizes = _sizes.get()
    if sizes is None:
        return
    if request_bytes is not None:
        sizes.request_bytes = request_bytes
    if response_bytes is not None:
        sizes.response_bytes = response_bytes


class collect_sizes:
    """Collect what :func:`report_sizes` reports inside the ``with`` block.

    A class rather than a generator-based context manager: it runs around every recorded
    attempt and ping, and costs about 40% of one (1.1 µs against 2.8 µs, loaded machine).
    """

    __slots__ = ("_token", "sizes")

    def __init__(self) -> None:
        self.sizes = Sizes()

    def __enter__(self) -> Sizes:
        self._token = _sizes.set(self.sizes)
        return self.sizes

    def __exit__(self, *exc_info: object) -> None:
        _sizes.reset(self._token)


def check_ledger(name: str, value: Ledger | None) -> Ledger | None:
    """``value`` if it is a :class:`Ledger` or None; else InvalidUsage naming ``name``."""
    if value is not None and not isinstance(value, Ledger):
        raise InvalidUsage(f"{name}={value!r}: must be a resilience.Ledger or None")
    return value
