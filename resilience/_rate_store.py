"""Where rate limiters keep their state: in the process, or in Redis for many processes.

Both stores run the same arithmetic, GCRA (the generic cell rate algorithm, a token
bucket told by one number): a limit of ``rate`` cost units per ``per_s`` seconds has an
emission interval ``T = per_s / rate``; each partition keeps its *theoretical arrival
time* ``tat``. A call of cost ``c`` at ``now`` moves it to ``max(tat, now) + c * T`` and
may start once ``now >= new_tat - burst * T``: after an idle spell ``burst`` units pass at
once, then one every ``T``. A call that would have to wait longer than the limiter's wait
is refused and changes nothing; one that may wait reserves its place (so waiters are
served oldest first) and sleeps until its start.

A decision may cover several limits (``a & b``): every limit must admit, and if one
refuses none is consumed. In the process one lock per limiter is taken, in a fixed
order, for all of them; in Redis one Lua script reads and writes all the keys in one
round trip, with the server's ``TIME`` unless the caller passes its clock's time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from ._observe import logger as _observe_logger
from ._redact import redact
from ._validate import positive
from .errors import InvalidUsage, MissingDependency

__all__ = [
    "EPS", "PRUNE_AT", "Ask", "Decision", "LocalState", "RedisRateStore", "decide_local", "gcra",
]  # fmt: skip

_log = _observe_logger("resilience.rate_limit")
EPS = 1e-9  # seconds of float noise tolerated before a call is made to wait
PRUNE_AT = 4096  # partitions kept before idle ones are dropped


@dataclass(frozen=True, slots=True)
class Ask:
    """One limit's share of a decision.

    Attributes:
        interval_s: the limit's emission interval, seconds per cost unit.
        burst: cost units admitted at once after idle.
        key: the partition (``""`` for an unpartitioned limit).
        cost: cost units asked.
    """

    interval_s: float
    burst: int
    key: str
    cost: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What a store decided.

    Attributes:
        admitted: the call may go (after ``wait_s``).
        wait_s: admitted: seconds to wait before starting (0: at once); refused: seconds
            until the same call would be admitted (the retry hint).
        remaining: cost units the tightest limit would still admit at once afterwards.
        tightest: index, among the limits decided, of the one that made the call wait
            longest (the one that refused it).
    """

    admitted: bool
    wait_s: float
    remaining: int
    tightest: int = 0


def gcra(tat: float | None, now: float, ask: Ask) -> tuple[float, float, int]:
    """``(new_tat, wait_s, remaining)`` for ``ask`` at ``now`` on a partition at ``tat``.

    Example:
        >>> ask = Ask(interval_s=0.5, burst=2, key="", cost=1)
        >>> gcra(None, 10.0, ask)  # idle: at once, one more unit left
        (10.5, 0.0, 1)
        >>> gcra(11.0, 10.0, ask)  # the burst is spent: wait half a second
        (11.5, 0.5, 0)
    """
    start = now if tat is None or tat < now else tat
    new_tat = start + ask.cost * ask.interval_s
    wait_s = new_tat - ask.burst * ask.interval_s - now
    left = (now + ask.burst * ask.interval_s - new_tat) / ask.interval_s
    return new_tat, max(0.0, wait_s) if wait_s > EPS else 0.0, max(0, math.floor(left + EPS))


class LocalState:
    """The partitions of one limiter in this process: ``key -> tat``, under one lock."""

    __slots__ = ("lock", "tats")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tats: dict[str, float] = {}

    def prune(self, now: float) -> None:
        """Drop partitions that are idle again (caller holds the lock)."""
        if len(self.tats) > PRUNE_AT:
            self.tats = {k: t for k, t in self.tats.items() if t > now}

    def remaining(self, now: float, ask: Ask) -> int:
        with self.lock:
            return gcra(self.tats.get(ask.key), now, ask)[2]

    def refund(self, ask: Ask) -> None:
        """Give back a reservation that was not used (a waiter cancelled)."""
        with self.lock:
            tat = self.tats.get(ask.key)
            if tat is not None:
                self.tats[ask.key] = tat - ask.cost * ask.interval_s


def decide_local(
    parts: Sequence[tuple[LocalState, Ask]], now: float, max_wait_s: float
) -> Decision:
    """Decide ``parts`` together: all admit within ``max_wait_s`` and are consumed, or none."""
    states = {id(state): state for state, _ in parts}
    with ExitStack() as stack:
        for _, state in sorted(states.items()):
            stack.enter_context(state.lock)
        results = [gcra(state.tats.get(ask.key), now, ask) for state, ask in parts]
        tightest = max(range(len(results)), key=lambda i: results[i][1])
        wait_s = results[tightest][1]
        remaining = min(r[2] for r in results)
        if wait_s > max_wait_s + EPS:
            return Decision(False, wait_s, remaining, tightest)
        for (state, ask), (new_tat, _, _) in zip(parts, results, strict=True):
            state.tats[ask.key] = new_tat
            state.prune(now)
        return Decision(True, wait_s, remaining, tightest)


# One round trip: read every key, decide, write every key (or none). The wait comes back
# in whole microseconds (rounded up): Redis turns a Lua number it returns into an integer.
# A number given to redis.call is written with all its digits (%.17g), a time stays exact.
_SCRIPT = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local max_wait = tonumber(ARGV[2])
local write = ARGV[3] == '1'
local worst, remaining, tightest = 0, -1, 0
local tats = {}
for i = 1, #KEYS do
  local base = 3 + (i - 1) * 3
  local interval = tonumber(ARGV[base + 1])
  local burst = tonumber(ARGV[base + 2])
  local cost = tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  if tat == nil or tat < now then tat = now end
  local new_tat = tat + cost * interval
  local wait = new_tat - burst * interval - now
  if wait > worst then worst, tightest = wait, i - 1 end
  local left = math.floor((now + burst * interval - new_tat) / interval + 1e-9)
  if left < 0 then left = 0 end
  if remaining < 0 or left < remaining then remaining = left end
  tats[i] = new_tat
end
if worst < 1e-9 then worst = 0 end
local wait_us = math.ceil(worst * 1000000 - 1e-3)
if worst > max_wait + 1e-9 then
  return {0, wait_us, remaining, tightest}
end
if write then
  for i = 1, #KEYS do
    local ttl = math.ceil((tats[i] - now) * 1000)
    if ttl < 1 then ttl = 1 end
    redis.call('SET', KEYS[i], tats[i], 'PX', ttl)
  end
end
return {1, wait_us, remaining, tightest}
"""

# One limit, one key: the common decision, with less to send and one integer back: the
# wait in microseconds when admitted, or -(the retry hint in microseconds + 1) when not.
_ONE = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if tat == nil or tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[5]) * interval
local wait = new_tat - burst * interval - now
if wait < 1e-9 then wait = 0 end
local wait_us = math.ceil(wait * 1000000 - 1e-3)
if wait > tonumber(ARGV[2]) + 1e-9 then return -wait_us - 1 end
local ttl = math.ceil((new_tat - now) * 1000)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], new_tat, 'PX', ttl)
return wait_us
"""

_REFUND = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if tat == nil then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], string.format('%.17g', tat - tonumber(ARGV[1])), 'PX', ttl)
return 1
"""

ON_ERROR = ("open", "closed", "local")


class RedisRateStore:
    """Rate limits shared by every process that uses the same Redis server and prefix.

    Each decision is one ``EVALSHA`` of a Lua script that reads, decides and writes
    atomically, with the server's ``TIME`` (so clients with skewed clocks agree), or the
    limiter's clock when one was given (tests). A key lives until its limit is idle again
    (its TTL is the time until the bucket is full).

    Args:
        client: a ``redis.Redis`` client (``pip install 'callwise[redis]'``).
        prefix: put before every key, e.g. one per application.
        on_error: what a decision does when Redis cannot be reached: ``"open"`` (admit:
            the default, as a limit is a courtesy to the downstream), ``"closed"``
            (refuse with :class:`~resilience.RateLimited`) or ``"local"`` (decide in this
            process alone, with the same limit: N processes then admit up to N times
            it). Logged once per outage on the ``resilience.rate_limit`` logger.

    Example:
        >>> RedisRateStore.__name__
        'RedisRateStore'
    """

    def __init__(
        self, client: Any, *, prefix: str = "callwise:rate:", on_error: str = "open"
    ) -> None:
        for method in ("register_script", "get"):
            if not callable(getattr(client, method, None)):
                raise InvalidUsage(
                    f"client={type(client).__name__}: not a redis client (no {method}()); "
                    "give redis.Redis(...)"
                )
        if not isinstance(prefix, str):
            raise InvalidUsage(f"prefix={prefix!r}: must be a string")
        if on_error not in ON_ERROR:
            raise InvalidUsage(
                f"on_error={on_error!r}: must be one of {', '.join(map(repr, ON_ERROR))}"
            )
        try:
            from redis.exceptions import NoScriptError, RedisError
        except ImportError as exc:  # pragma: no cover - redis is what made the client
            raise MissingDependency("redis", "redis") from exc
        self.client = client
        self.prefix = prefix
        self.on_error = on_error
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._no_script: type[BaseException] = NoScriptError
        self._decide = client.register_script(_SCRIPT)
        self._one = client.register_script(_ONE)
        self._refund = client.register_script(_REFUND)
        self._failing = False
        self._lock = threading.Lock()

    def key(self, name: str, partition: str) -> str:
        return f"{self.prefix}{name}:{partition}" if partition else f"{self.prefix}{name}"

    def decide(
        self,
        keys: Sequence[str],
        asks: Sequence[Ask],
        now: float | None,
        max_wait_s: float,
        *,
        write: bool = True,
    ) -> Decision | None:
        """The decision, or None when Redis could not be reached (logged once)."""
        args: list[Any] = [
            "" if now is None else repr(now),
            repr(max_wait_s),
            "1" if write else "0",
        ]
        for ask in asks:
            args += [repr(ask.interval_s), ask.burst, repr(float(ask.cost))]
        try:
            admitted, wait_s, remaining, tightest = self._decide(keys=list(keys), args=args)
        except self._errors as exc:
            self._failed(exc)
            return None
        self._recovered()
        return Decision(admitted == 1, wait_s / 1e6, int(remaining), int(tightest))

    def decide_one(
        self,
        key: str,
        now_arg: str,
        max_wait_arg: str,
        interval_arg: str,
        burst: int,
        cost_arg: str,
    ) -> tuple[bool, float] | None:
        """One limit's decision (the common case: less to send, one integer back), as
        ``(admitted, wait_s)``; None when Redis could not be reached (logged once)."""
        script = self._one
        try:
            try:
                reply = self.client.evalsha(
                    script.sha, 1, key, now_arg, max_wait_arg, interval_arg, burst, cost_arg
                )
            except self._no_script:
                script.sha = self.client.script_load(_ONE)
                return self.decide_one(key, now_arg, max_wait_arg, interval_arg, burst, cost_arg)
        except self._errors as exc:
            self._failed(exc)
            return None
        if self._failing:
            self._recovered()
        return (True, reply / 1e6) if reply >= 0 else (False, (-reply - 1) / 1e6)

    def refund(self, key: str, ask: Ask) -> None:
        try:
            self._refund(keys=[key], args=[repr(ask.cost * ask.interval_s)])
        except self._errors as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first, self._failing = not self._failing, True
        if first:
            _log.warning(
                "rate limit store %s: Redis unreachable (%s: %s); on_error=%r until it answers",
                self.prefix,
                type(exc).__name__,
                redact(str(exc)),
                self.on_error,
            )

    def _recovered(self) -> None:
        if self._failing:
            with self._lock:
                was, self._failing = self._failing, False
            if was:
                _log.warning("rate limit store %s: Redis answers again", self.prefix)

    def __repr__(self) -> str:
        return f"RedisRateStore(prefix={self.prefix!r}, on_error={self.on_error!r})"


def interval_of(rate: float, per_s: float) -> float:
    """The emission interval of ``rate`` units per ``per_s`` seconds (both checked > 0)."""
    rate = positive("rate", rate)
    per_s = positive("per_s", per_s)
    interval = per_s / rate
    if not (math.isfinite(interval) and interval > 0):
        raise InvalidUsage(
            f"rate={rate!r} per per_s={per_s!r}: one unit every {interval!r} s is out of range"
        )
    return interval
