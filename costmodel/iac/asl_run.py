"""Executions of a state machine, drawn by a seeded, vectorized Monte Carlo.

Every execution is a *lane*; a block (the machine, a Parallel branch, a Map's items) moves
all its lanes from state to state at once (one numpy operation per state visit, never a
Python loop over executions). A Map's items and a distributed Map's child executions are
lanes of their own, folded back into the execution that started them.

Counting (see ``docs/costmodel/step-functions.md``): each state entered is one transition;
each retried attempt is one more; a Parallel or Map state is one, plus what its branches or
items run; a distributed Map's children are executions of their own workflow, billed as
such. Express durations add Task runs, Wait states and retry intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..architectures.compositions import Function, FunctionUsage, function_attempts
from ..errors import InvalidUsage
from .asl_graph import Block, Retrier, State
from .asl_usage import StateUsage

__all__ = ["INLINE_MAP_CONCURRENCY", "MAX_VISITS", "Plan", "Tally", "run_block"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Concurrent iterations of an inline Map without MaxConcurrency (AWS: up to 40), used
#: only for an Express execution's duration.
INLINE_MAP_CONCURRENCY = 40
#: Concurrent child executions of a distributed Map without MaxConcurrency (AWS: 10,000).
DISTRIBUTED_MAP_CONCURRENCY = 10_000
#: State visits one block may make before the run is stopped as an unbounded loop.
MAX_VISITS = 100_000

ANY_ERROR = "\0any"  # a failure the state's first Retry and first Catch rules handle


@dataclass(slots=True)
class Child:
    """The child executions a distributed Map started, per parent lane."""

    standard: bool
    executions: FloatArray
    transitions: FloatArray  # summed over the children of each lane


@dataclass(slots=True)
class Tally:
    """What ``n`` lanes used: transitions (also per state), function invocations, child
    executions and their express runs."""

    n: int
    transitions: FloatArray
    per_state: dict[str, FloatArray] = field(default_factory=dict)
    calls: list[tuple[IntArray, FunctionUsage]] = field(default_factory=list)
    children: dict[str, Child] = field(default_factory=dict)
    express: list[tuple[str, IntArray, FloatArray]] = field(default_factory=list)

    @classmethod
    def empty(cls, n: int) -> Tally:
        return cls(n, np.zeros(n))

    def count(self, state: str, lanes: IntArray, by: float = 1.0) -> None:
        np.add.at(self.transitions, lanes, by)
        if state not in self.per_state:
            self.per_state[state] = np.zeros(self.n)
        np.add.at(self.per_state[state], lanes, by)

    def fold(self, sub: Tally, owner: IntArray, *, own: bool = True) -> None:
        """Add ``sub`` (lanes ``owner[i]`` of this tally); ``own=False``: its transitions
        are a child workflow's (kept per state, not added to this machine's)."""
        if own:
            self.transitions += np.bincount(owner, sub.transitions, minlength=self.n)
        for state, values in sub.per_state.items():
            if state not in self.per_state:
                self.per_state[state] = np.zeros(self.n)
            self.per_state[state] += np.bincount(owner, values, minlength=self.n)
        self.calls += [(owner[lanes], usage) for lanes, usage in sub.calls]
        self.express += [(name, owner[lanes], ms) for name, lanes, ms in sub.express]
        for name, child in sub.children.items():
            mine = self.children.setdefault(
                name, Child(child.standard, np.zeros(self.n), np.zeros(self.n))
            )
            mine.executions += np.bincount(owner, child.executions, minlength=self.n)
            mine.transitions += np.bincount(owner, child.transitions, minlength=self.n)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run needs beyond the graph: per-state usage, functions, Choice routes."""

    states: Mapping[str, StateUsage]
    functions: Mapping[str, Function]  # Task state name -> function
    routes: Mapping[str, tuple[tuple[str, ...], FloatArray, BoolArray]]  # Choice
    names: Mapping[str, str]  # distributed Map state -> child workflow name
    count_start: bool = False


@dataclass(slots=True)
class _Run:
    """One block's run over ``n`` lanes."""

    plan: Plan
    block: Block
    rng: np.random.Generator
    tally: Tally
    elapsed_ms: FloatArray
    error: npt.NDArray[np.object_]  # None while a lane has not failed
    loops: dict[str, FloatArray] = field(default_factory=dict)
    limits: dict[str, FloatArray] = field(default_factory=dict)


Moves = list[tuple[str | None, IntArray]]  # (next state or None: the block ends, lanes)


def run_block(
    plan: Plan, block: Block, n: int, rng: np.random.Generator
) -> tuple[Tally, FloatArray, npt.NDArray[np.object_]]:
    """Run ``n`` lanes through ``block``: their tally, elapsed time (ms) and error (None
    for a lane that ended without one)."""
    run = _Run(plan, block, rng, Tally.empty(n), np.zeros(n), np.full(n, None, dtype=object))
    for name, state in block.states.items():
        usage = plan.states.get(name)
        if state.type == "Choice" and usage is not None and usage.iterations is not None:
            run.loops[name] = np.zeros(n)
            run.limits[name] = np.rint(usage.iterations.sample(rng, n))
    pending: dict[str, list[IntArray]] = {block.start: [np.arange(n)]}
    visits = 0
    while pending:
        name = next(iter(pending))
        lanes = np.concatenate(pending.pop(name))
        for target, moved in _VISIT[block.states[name].type](run, block.states[name], lanes):
            if target is not None and moved.size:
                pending.setdefault(target, []).append(moved)
        visits += 1
        if visits > MAX_VISITS:
            raise InvalidUsage(
                f"{block.where}: executions still running after {MAX_VISITS} state visits "
                f"(at {name!r}): bound the loop with an iterations usage on its Choice"
            )
    return run.tally, run.elapsed_ms, run.error


# ---------------------------------------------------------------------------- visits


def _simple(run: _Run, state: State, lanes: IntArray) -> Moves:
    run.tally.count(state.name, lanes)
    if state.type == "Wait":
        run.elapsed_ms[lanes] += _wait_ms(run, state, lanes.size)
    if state.type == "Fail":
        run.error[lanes] = state.error
    return [(state.next, lanes)]


def _wait_ms(run: _Run, state: State, size: int) -> FloatArray | float:
    usage = run.plan.states.get(state.name)
    if usage is not None and usage.duration_ms is not None:
        return usage.duration_ms.sample(run.rng, size)
    return 1000.0 * (state.wait_s or 0.0)  # from_asl checked an Express run has one


def _choice(run: _Run, state: State, lanes: IntArray) -> Moves:
    run.tally.count(state.name, lanes)
    targets, probs, loop = run.plan.routes[state.name]
    if state.name not in run.loops:
        return _pick(run.rng, targets, probs, lanes)
    again = run.loops[state.name][lanes] < run.limits[state.name][lanes]
    run.loops[state.name][lanes[again]] += 1
    moves = _pick(run.rng, targets, _within(probs, loop), lanes[again])
    return moves + _pick(run.rng, targets, _within(probs, ~loop), lanes[~again])


def _within(probs: FloatArray, group: BoolArray) -> FloatArray:
    """The probabilities of the targets in ``group`` (an equal split when all are 0)."""
    weights = np.where(group, probs, 0.0)
    return weights if weights.sum() > 0 else group.astype(float)


def _pick(
    rng: np.random.Generator, targets: tuple[str, ...], weights: FloatArray, lanes: IntArray
) -> Moves:
    if lanes.size == 0:
        return []
    cumulative = np.cumsum(weights / weights.sum())
    which = np.minimum(
        np.searchsorted(cumulative, rng.random(lanes.size), side="right"), len(targets) - 1
    )
    return [(t, lanes[which == i]) for i, t in enumerate(targets)]


Body = Callable[[_Run, State, IntArray], tuple[BoolArray, npt.NDArray[np.object_]]]


def _with_retries(body: Body) -> Callable[[_Run, State, IntArray], Moves]:
    """A state whose attempts may fail: Retry re-runs an attempt (one more transition,
    after its interval), Catch routes an exhausted failure, else the block fails."""

    def visit(run: _Run, state: State, lanes: IntArray) -> Moves:
        run.tally.count(state.name, lanes)
        moves: Moves = []
        retried = np.zeros((max(len(state.retry), 1), lanes.size), dtype=np.int64)
        pos = np.arange(lanes.size)
        while pos.size:
            failed, error = body(run, state, lanes[pos])
            moves.append((state.next, lanes[pos[~failed]]))
            pos, error = pos[failed], error[failed]
            rule = np.array([_first(state.retry, e) for e in error], dtype=np.int64)
            limit = np.array([state.retry[r].max_attempts if r >= 0 else 0 for r in rule])
            used = retried[np.maximum(rule, 0), pos]
            again = (rule >= 0) & (used < limit)
            moves += _caught(run, state, lanes[pos[~again]], error[~again])
            pos, rule, used = pos[again], rule[again], used[again]
            retried[rule, pos] += 1
            run.tally.count(state.name, lanes[pos])
            run.elapsed_ms[lanes[pos]] += _intervals(run.rng, state.retry, rule, used)
        return moves

    return visit


def _matches(patterns: tuple[str, ...], error: str) -> bool:
    if error == ANY_ERROR or "States.ALL" in patterns or error in patterns:
        return True
    return "States.TaskFailed" in patterns and error != "States.Timeout"


def _first(rules: tuple[Retrier, ...], error: str) -> int:
    return next((i for i, r in enumerate(rules) if _matches(r.errors, error)), -1)


def _caught(run: _Run, state: State, lanes: IntArray, error: npt.NDArray[np.object_]) -> Moves:
    moves: Moves = []
    catcher = np.array(
        [next((i for i, c in enumerate(state.catch) if _matches(c.errors, e)), -1) for e in error],
        dtype=np.int64,
    )
    for i, c in enumerate(state.catch):
        moves.append((c.next, lanes[catcher == i]))
    lost = catcher < 0
    run.error[lanes[lost]] = [("States.TaskFailed" if e == ANY_ERROR else e) for e in error[lost]]
    return moves


def _intervals(
    rng: np.random.Generator, rules: tuple[Retrier, ...], rule: IntArray, used: IntArray
) -> FloatArray:
    """The wait before each retry, ms: IntervalSeconds x BackoffRate^k, capped at
    MaxDelaySeconds; FULL jitter draws it uniformly between 0 and that."""
    if rule.size == 0:
        return np.zeros(0)
    interval = np.array([rules[r].interval_s for r in rule])
    backoff = np.array([rules[r].backoff_rate for r in rule])
    cap = np.array([rules[r].max_delay_s or np.inf for r in rule])
    wait_ms = 1000.0 * np.minimum(interval * backoff**used, cap)
    jitter = np.array([rules[r].full_jitter for r in rule])
    drawn: FloatArray = np.where(jitter, wait_ms * rng.random(rule.size), wait_ms)
    return drawn


def _task(run: _Run, state: State, lanes: IntArray) -> tuple[BoolArray, npt.NDArray[np.object_]]:
    usage = run.plan.states.get(state.name) or StateUsage()
    function = run.plan.functions.get(state.name)
    n = lanes.size
    failed = np.zeros(n, bool)
    took_ms: FloatArray = np.zeros(n)
    if function is not None:
        calls, took_ms = function_attempts(function, run.rng, n)
        run.tally.calls.append((lanes, calls))
        if usage.failure_probability is None:
            failed = ~calls.ok
    if usage.failure_probability is not None:
        failed = run.rng.random(n) < usage.failure_probability
    if usage.duration_ms is not None:
        took_ms = usage.duration_ms.sample(run.rng, n)
    run.elapsed_ms[lanes] += took_ms
    error = np.full(n, usage.error or ANY_ERROR, dtype=object)
    return failed, error


def _parallel(
    run: _Run, state: State, lanes: IntArray
) -> tuple[BoolArray, npt.NDArray[np.object_]]:
    longest = np.zeros(lanes.size)
    error = np.full(lanes.size, None, dtype=object)
    for branch in state.branches:
        tally, elapsed, branch_error = run_block(run.plan, branch, lanes.size, run.rng)
        run.tally.fold(tally, lanes)
        np.maximum(longest, elapsed, out=longest)
        first = (error == None) & (branch_error != None)  # noqa: E711 (object arrays)
        error[first] = branch_error[first]
    run.elapsed_ms[lanes] += longest
    return error != None, error  # noqa: E711


def _map(run: _Run, state: State, lanes: IntArray) -> tuple[BoolArray, npt.NDArray[np.object_]]:
    usage = run.plan.states[state.name]
    assert usage.items is not None and state.processor is not None  # checked by from_asl
    items = np.maximum(np.rint(usage.items.sample(run.rng, lanes.size)), 0).astype(np.int64)
    if state.distributed and state.batch_items:
        items = np.ceil(items / state.batch_items).astype(np.int64)
    owner = np.repeat(np.arange(lanes.size), items)
    tally, elapsed, item_error = run_block(run.plan, state.processor, owner.size, run.rng)
    if state.distributed:
        _children(run, state, lanes, owner, tally, elapsed)
    else:
        run.tally.fold(tally, lanes[owner])
    limit = state.max_concurrency or (
        DISTRIBUTED_MAP_CONCURRENCY if state.distributed else INLINE_MAP_CONCURRENCY
    )
    longest = np.zeros(lanes.size)
    np.maximum.at(longest, owner, elapsed)
    total = np.bincount(owner, elapsed, minlength=lanes.size)
    run.elapsed_ms[lanes] += np.maximum(longest, total / limit)
    return _tolerated(state, items, owner, item_error, lanes.size)


def _children(
    run: _Run, state: State, lanes: IntArray, owner: IntArray, tally: Tally, elapsed: FloatArray
) -> None:
    """Child executions of a distributed Map: their own workflow's transitions, express
    runs, and calls, folded into the parent lanes that started them."""
    name = run.plan.names[state.name]
    standard = state.execution_type == "STANDARD"
    start = 1.0 if run.plan.count_start else 0.0
    child = Tally.empty(owner.size)
    child.fold(tally, np.arange(owner.size), own=False)
    if not standard:
        child.express.append((name, np.arange(owner.size), elapsed))
    child.children[name] = Child(standard, np.ones(owner.size), tally.transitions + start)
    run.tally.fold(child, lanes[owner])


def _tolerated(
    state: State, items: IntArray, owner: IntArray, item_error: npt.NDArray[np.object_], n: int
) -> tuple[BoolArray, npt.NDArray[np.object_]]:
    """A Map fails when more of its items fail than ToleratedFailureCount/Percentage allow
    (0 by default), with the error of one failed item."""
    bad = item_error != None  # noqa: E711
    failures = np.bincount(owner, bad.astype(float), minlength=n)
    allowed = np.zeros(n)
    if state.tolerated_count is not None:
        allowed = np.maximum(allowed, float(state.tolerated_count))
    if state.tolerated_percent is not None:
        allowed = np.maximum(allowed, items * state.tolerated_percent / 100.0)
    failed = failures > allowed
    error = np.full(n, None, dtype=object)
    error[owner[bad]] = item_error[bad]
    error[failed & (error == None)] = "States.ExceedToleratedFailureThreshold"  # noqa: E711
    error[~failed] = None
    return failed, error


_VISIT: dict[str, Callable[[_Run, State, IntArray], Moves]] = {
    "Pass": _simple,
    "Wait": _simple,
    "Succeed": _simple,
    "Fail": _simple,
    "Choice": _choice,
    "Task": _with_retries(_task),
    "Parallel": _with_retries(_parallel),
    "Map": _with_retries(_map),
}
