"""Step Functions state machines from Amazon States Language: transitions and cost.

:func:`from_asl` reads a definition (a ``.json``/``.asl.json`` file, a JSON string or a
mapping, JSONPath or JSONata) and a usage mapping (see :mod:`costmodel.iac.asl_usage`)
into a :class:`StateMachine`. It is an architecture: :func:`costmodel.compare`,
:func:`costmodel.sweep` and :func:`costmodel.architectures.compositions.simulate_usage`
take it, and bill the Lambda functions its Tasks invoke when ``functions=`` maps them.

Counting rule (per execution, a seeded Monte Carlo): every state entered is one state
transition (Task, Pass, Wait, Choice, Succeed, Fail, Parallel, Map); every retried attempt
is one more; a Parallel runs all its branches, a Map its items; a Choice follows the
usage's probabilities (without them: its ``Default``, or an equal split when it has none);
a loop is bounded by ``iterations``. The execution's start is **not** counted by default
(an assumption: nothing AWS publishes settles it; ``count_start=True`` adds one per
execution, as AWS Lambda Power Tuning's cost formula does).

>>> sm = from_asl({"StartAt": "A", "States": {
...     "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a",
...           "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}], "Next": "B"},
...     "B": {"Type": "Succeed"}}},
...     usage={"states": {"A": {"failure_probability": 0.5}}})
>>> # A: 1 + 0.5 + 0.25 (retries); B: 0.875 (A fails all 3 attempts 1/8 of the time)
>>> round(float(sm.transitions(samples=20_000, seed=1).mean()), 2)
2.63
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from resilience._validate import Number, number

from ..architectures.compositions import (
    DefinedWorkflow,
    Function,
    TaskInvocations,
    WorkflowRun,
)
from ..errors import InvalidFile, InvalidUsage
from .asl_graph import Block, Graph, State, read_graph
from .asl_run import FloatArray, IntArray, Plan, Tally, run_block
from .asl_usage import STATE_KEYS, StateMachineUsage, StateUsage, state_machine_usage

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Executions", "StateMachine", "from_asl", "task_resources", "usage_skeleton"]

Kind = Literal["standard", "express"]
_STANDARD = ("orchestration", "standard_transitions", 0.0)
_EXECUTIONS = ("orchestration", "standard_executions", 0.0)
_EXPRESS = ("orchestration", "express_requests", 0.0)


@dataclass(frozen=True, slots=True)
class Executions:
    """``n`` executions of a state machine.

    Attributes:
        transitions: the machine's own state transitions per execution.
        duration_ms: each execution's duration, start to end, ms (Task runs, Waits and
            retry intervals; ``workflow_duration_ms`` when the usage gives it).
        ok: whether each execution succeeded.
        children: per child workflow (a distributed Map's ItemProcessor), the child
            executions each execution started.
        child_transitions: per child workflow, their transitions per execution (summed
            over the children of that execution).
        per_state: transitions per execution attributed to each state (retries included),
            child workflows' states included.
        tally: everything drawn, as the run keeps it (``tally.calls``: the function
            invocations of the Task attempts, with the execution of each).
    """

    transitions: FloatArray
    duration_ms: FloatArray
    ok: np.ndarray[Any, np.dtype[np.bool_]]
    children: dict[str, FloatArray]
    child_transitions: dict[str, FloatArray]
    per_state: dict[str, FloatArray]
    tally: Tally = field(repr=False)


@dataclass(frozen=True, slots=True)
class StateMachine(DefinedWorkflow):
    """A state machine read by :func:`from_asl` (build it with that function).

    Attributes:
        name: labels the machine (its express runs, its child workflows).
        kind: ``"standard"`` (billed per transition) or ``"express"`` (per request and
            GB-s of the run at ``usage.memory_mb``).
        graph: the parsed definition.
        usage: its usage.
        functions: Task state name -> the function it invokes.
        plan: what a run needs beyond the graph (Choice routes, per-state usage).
        count_start: count the execution's start as one more transition.
        notes: per state, the assumption made where the usage said nothing.
    """

    name: str
    kind: Kind
    graph: Graph = field(repr=False)
    usage: StateMachineUsage = field(repr=False)
    functions: dict[str, Function] = field(repr=False)
    plan: Plan = field(repr=False)
    count_start: bool = False
    notes: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def unresolved(self) -> tuple[tuple[str, str], ...]:
        """``(field, placeholder)`` of each ``${Var}`` the substitutions left open."""
        return self.graph.unresolved

    def executions(self, samples: int, rng: np.random.Generator) -> Executions:
        """``samples`` executions drawn with ``rng``."""
        n = _samples(samples)
        tally, elapsed, error = run_block(self.plan, self.graph.root, n, rng)
        transitions = tally.transitions + (1.0 if self.count_start else 0.0)
        if self.usage.monthly_transitions is not None and self.usage.monthly_requests:
            transitions = np.full(n, self.usage.monthly_transitions / self.usage.monthly_requests)
        if self.usage.workflow_duration_ms is not None:
            elapsed = self.usage.workflow_duration_ms.sample(rng, n)
        return Executions(
            transitions=transitions,
            duration_ms=elapsed,
            ok=np.array([e is None for e in error], dtype=bool),
            children={k: c.executions for k, c in tally.children.items()},
            child_transitions={k: c.transitions for k, c in tally.children.items()},
            per_state=tally.per_state,
            tally=tally,
        )

    def transitions(self, samples: int = 10_000, seed: int = 0) -> FloatArray:
        """This machine's state transitions per execution (``samples`` draws, seeded)."""
        return self.executions(samples, np.random.default_rng(seed)).transitions

    def explain(self, samples: int = 10_000, seed: int = 0) -> pd.DataFrame:
        """Per state: its type, the workflow it is billed in, mean transitions per
        execution, its share of that workflow's transitions, and the assumption made."""
        import pandas as pd

        runs = self.executions(samples, np.random.default_rng(seed))
        workflow = {s: self.name for s in self.graph.root.states}
        for map_state, child in self.plan.names.items():
            processor = self.graph.state(map_state).processor
            workflow.update(dict.fromkeys(_names(processor), child))
        rows = []
        for block in self.graph.blocks():
            for name, state in block.states.items():
                mean = float(runs.per_state.get(name, np.zeros(1)).mean())
                wf = workflow.get(name, self.name)
                rows.append([name, state.type, wf, mean, self.notes.get(name, "")])
        if self.count_start:
            rows.insert(0, ["(execution start)", "start", self.name, 1.0, "count_start=True"])
        frame = pd.DataFrame(
            rows, columns=["state", "type", "workflow", "mean_transitions", "assumption"]
        )
        totals = frame.groupby("workflow")["mean_transitions"].transform("sum")
        frame.insert(4, "share", (frame["mean_transitions"] / totals.where(totals > 0, 1.0)))
        return frame

    # ------------------------------------------------------------ as an architecture

    def run_workflow(self, rng: np.random.Generator, n: int) -> WorkflowRun:
        """``n`` executions as the usage :func:`costmodel.compare` prices."""
        runs = self.executions(n, rng)
        meters: dict[tuple[str, str, float], FloatArray] = {}
        express: list[tuple[str, float, IntArray, FloatArray]] = []
        memory = self.usage.memory_mb
        if self.kind == "standard":
            meters[_STANDARD] = runs.transitions.copy()
            meters[_EXECUTIONS] = np.ones(n)
        else:
            meters[_EXPRESS] = np.ones(n)
            express.append((self.name, memory, np.arange(n), runs.duration_ms))
        for child in runs.tally.children.values():
            if child.standard:
                meters[_STANDARD] = meters.get(_STANDARD, np.zeros(n)) + child.transitions
                meters[_EXECUTIONS] = meters.get(_EXECUTIONS, np.zeros(n)) + child.executions
            else:
                meters[_EXPRESS] = meters.get(_EXPRESS, np.zeros(n)) + child.executions
        express += [(name, memory, lanes, ms) for name, lanes, ms in runs.tally.express]
        calls = [TaskInvocations(lanes, usage) for lanes, usage in runs.tally.calls]
        return WorkflowRun(runs.duration_ms, runs.ok, meters, express, calls)

    def task_functions(self) -> tuple[Function, ...]:
        """The functions the Task states invoke (each once)."""
        return tuple({id(f): f for f in self.functions.values()}.values())

    def with_functions(self, change: Callable[[Function], Function]) -> StateMachine:
        """A copy whose Tasks invoke ``change(function)``."""
        changed = {id(f): change(f) for f in self.task_functions()}
        functions = {state: changed[id(f)] for state, f in self.functions.items()}
        return replace(self, functions=functions, plan=replace(self.plan, functions=functions))


_SAMPLES = Number(low=1, integral=True, types=(int, np.integer), allowed="an integer >= 1")


def _samples(samples: object) -> int:
    return int(number("samples", samples, _SAMPLES, error=InvalidUsage))


def _names(block: Block | None) -> list[str]:
    if block is None:
        return []
    out = list(block.states)
    for state in block.states.values():
        for child in (*state.branches, state.processor):
            out += _names(child)
    return out


# ---------------------------------------------------------------------------- from_asl


def from_asl(
    definition: str | os.PathLike[str] | Mapping[str, Any],
    *,
    name: str | None = None,
    kind: Kind = "standard",
    usage: Mapping[str, Any] | StateMachineUsage | None = None,
    substitutions: Mapping[str, str] | None = None,
    functions: Mapping[str, Function] | None = None,
    source: str | None = None,
    count_start: bool = False,
) -> StateMachine:
    """A state machine from an Amazon States Language definition.

    Args:
        definition: a path to a ``.json``/``.asl.json`` file, a JSON string or a mapping.
        name: the machine's name (default: the file's stem, or ``"state_machine"``).
        kind: ``"standard"`` or ``"express"``.
        usage: the machine's usage mapping (see :mod:`costmodel.iac.asl_usage`).
        substitutions: ``DefinitionSubstitutions``: ``${Var}`` -> value.
        functions: Task resource (an ARN, a function name, or the ``FunctionName`` of a
            ``lambda:invoke`` Task) -> the :class:`costmodel.Function` it invokes; each
            attempt is one invocation.
        source: the label errors name (default: the file, or ``"definition"``).
        count_start: count the execution's start as a transition (default False: an
            assumption, see the module docstring).

    Raises:
        InvalidFile: malformed JSON (line, column), an unknown state type, a missing
            ``Next`` target, a loop without an ``iterations`` bound, a usage key that is
            unknown or names no state, a Map without ``items``.
    """
    if kind not in ("standard", "express"):
        raise InvalidUsage(f"kind={kind!r}: must be 'standard' or 'express'")
    if not isinstance(count_start, bool):
        raise InvalidUsage(f"count_start={count_start!r}: must be True or False")
    graph = read_graph(definition, substitutions=substitutions, source=source)
    used = (
        usage if isinstance(usage, StateMachineUsage) else state_machine_usage(usage, source=source)
    )
    label = name if name is not None else _default_name(definition)
    if not isinstance(label, str) or not label:
        raise InvalidUsage(f"name={name!r}: must be a non-empty string")
    _check_usage(graph, used)
    tasks = _tasks(graph, functions or {}, graph.source)
    notes: dict[str, str] = {}
    routes = {
        n: r for b in graph.blocks() for n, r in _routes(b, used, notes, graph.source).items()
    }
    _check_needs(graph, used, tasks, kind)
    children = {
        s.name: f"{label}/{s.name}"
        for b in graph.blocks()
        for s in b.states.values()
        if s.distributed
    }
    plan = Plan(used.states, tasks, routes, children, count_start)
    return StateMachine(label, kind, graph, used, tasks, plan, count_start, notes)


def _default_name(definition: object) -> str:
    if isinstance(definition, os.PathLike) or (
        isinstance(definition, str) and not definition.lstrip().startswith("{")
    ):
        stem = os.path.basename(os.fspath(definition)).split(".")[0]
        return stem or "state_machine"
    return "state_machine"


def _check_usage(graph: Graph, usage: StateMachineUsage) -> None:
    """Every state the usage names exists, and takes the keys given."""
    types = {n: s.type for b in graph.blocks() for n, s in b.states.items()}
    for state, given in usage.states.items():
        if state not in types:
            raise InvalidFile(
                usage.source,
                f"states.{state}",
                f"no state {state!r} in {graph.source}; states: {', '.join(map(repr, types))}",
            )
        for key, (allowed, _) in STATE_KEYS.items():
            if getattr(given, key) is not None and types[state] not in allowed:
                raise InvalidFile(
                    usage.source,
                    f"states.{state}.{key}",
                    f"{state!r} is a {types[state]} state; {key} is for {'/'.join(allowed)} states",
                )
    if usage.monthly_transitions is not None and not usage.monthly_requests:
        raise InvalidFile(
            usage.source,
            "monthly_transitions",
            "needs monthly_requests > 0 (executions a month) to give transitions per execution",
        )


def task_resources(
    definition: str | os.PathLike[str] | Mapping[str, Any],
    *,
    substitutions: Mapping[str, str] | None = None,
    source: str | None = None,
) -> frozenset[str]:
    """Every key ``functions=`` may map for the Task states of ``definition``: each Task's
    resource (an ARN), its ``FunctionName``, and the function name inside a Lambda ARN.

    A template reader offers all its functions; this says which a machine invokes.

    >>> sorted(task_resources({"StartAt": "A", "States": {"A": {"Type": "Task",
    ...     "Resource": "arn:aws:lambda:us-east-1:1:function:orders", "End": True}}}))
    ['arn:aws:lambda:us-east-1:1:function:orders', 'orders']
    """
    graph = read_graph(definition, substitutions=substitutions, source=source)
    return frozenset(
        key
        for block in graph.blocks()
        for state in block.states.values()
        if state.type == "Task"
        for key in _task_keys(state)
    )


def _task_keys(state: State) -> list[str]:
    keys = [k for k in (state.function_name, state.resource) if k]
    for key in list(keys):
        if ":function:" in key:
            keys.append(key.split(":function:", 1)[1].split(":")[0])
    return keys


def _tasks(graph: Graph, functions: Mapping[str, Function], source: str) -> dict[str, Function]:
    """Task state name -> the function its resource names in ``functions``."""
    if not isinstance(functions, Mapping):
        raise InvalidUsage(f"functions={functions!r}: must map Task resources to Functions")
    for key, fn in functions.items():
        if not isinstance(fn, Function):
            raise InvalidUsage(f"functions[{key!r}]={fn!r}: must be a costmodel.Function")
    out: dict[str, Function] = {}
    used: set[str] = set()
    resources: list[str] = []
    for block in graph.blocks():
        for state in block.states.values():
            if state.type != "Task":
                continue
            keys = _task_keys(state)
            resources += keys[:1]
            match = next((k for k in keys if k in functions), None)
            if match is not None:
                out[state.name] = functions[match]
                used.update(k for k in keys if k in functions)  # its aliases are used too
    for key in functions:
        if key not in used:
            raise InvalidUsage(
                f"functions[{key!r}]: no Task of {source} invokes it; "
                f"Task resources: {', '.join(map(repr, dict.fromkeys(resources)))}"
            )
    return out


def _routes(
    block: Block, usage: StateMachineUsage, notes: dict[str, str], source: str
) -> dict[str, tuple[tuple[str, ...], FloatArray, np.ndarray[Any, np.dtype[np.bool_]]]]:
    """Each Choice's targets, their probabilities, and which of them loop back."""
    loops = _cycles(block)
    out = {}
    for name, state in block.states.items():
        if state.type != "Choice":
            continue
        given = usage.states.get(name, StateUsage())
        targets = tuple(dict.fromkeys([*state.rules, *((state.default,) if state.default else ())]))
        probs = _probabilities(state, targets, given, notes, usage.source)
        cycle = next((c for c in loops if name in c), set())
        loop = np.array([t in cycle for t in targets], dtype=bool)
        if given.iterations is not None:
            if not loop.any():
                raise InvalidFile(
                    usage.source, f"states.{name}.iterations", f"{name!r} is not in a loop"
                )
            if loop.all():
                raise InvalidFile(
                    source,
                    f"{block.where}.{name}",
                    "every branch loops back: the loop has no way out",
                )
        out[name] = (targets, probs, loop)
    for cycle in loops:
        bounded = [
            s for s in cycle if (u := usage.states.get(s)) is not None and u.iterations is not None
        ]
        if not bounded:
            order = [s for s in block.states if s in cycle]
            choices = [s for s in order if block.states[s].type == "Choice"]
            hint = (
                f"give states.{choices[0]}.iterations in the usage"
                if choices
                else "it has no Choice state to bound"
            )
            raise InvalidFile(
                source, block.where, f"a loop without a bound: {' -> '.join(order)}; {hint}"
            )
    return out


def _probabilities(
    state: State, targets: tuple[str, ...], given: StateUsage, notes: dict[str, str], source: str
) -> FloatArray:
    choices = dict(given.choices or {})
    for target in choices:
        if target not in targets:
            raise InvalidFile(
                source,
                f"states.{state.name}.choices.{target}",
                f"not a branch of {state.name!r}; branches: {', '.join(map(repr, targets))}",
            )
    rest = [t for t in targets if t not in choices]
    left = 1.0 - sum(choices.values())
    if not rest and left > 1e-9:
        raise InvalidFile(source, f"states.{state.name}.choices", "the probabilities must sum to 1")
    if rest and state.default in rest:
        choices.update(dict.fromkeys(rest, 0.0))
        choices[state.default] = left
        notes[state.name] = f"{left:g} to Default {state.default!r} (not given)"
    elif rest:
        choices.update(dict.fromkeys(rest, left / len(rest)))
        notes[state.name] = f"equal split of {left:g} over {', '.join(rest)} (not given)"
    return np.array([choices[t] for t in targets], dtype=float)


def _cycles(block: Block) -> list[set[str]]:
    """The loops of a block: its strongly connected components with a cycle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in block.states[v].targets:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in block.states[v].targets:
                found.append(component)

    for v in block.states:
        if v not in index:
            visit(v)
    return found


_WHY = {
    "items": "Map item count",
    "duration_ms": "a Task's run (or map its function in functions=), a Wait without Seconds",
}


def _check_needs(
    graph: Graph, usage: StateMachineUsage, tasks: Mapping[str, Function], kind: str
) -> None:
    """What the run cannot do without: every Map's items; where a duration is billed (an
    Express machine without workflow_duration_ms, an EXPRESS distributed Map's children)
    every Task's and Wait's duration."""
    timed = kind == "express" and usage.workflow_duration_ms is None
    missing = [
        f"states.{name}.{key} ({_WHY[key]})"
        for name, key in _needs(graph.root, timed)
        if getattr(usage.states.get(name, StateUsage()), key) is None
        and not (key == "duration_ms" and name in tasks)
    ]
    if missing:
        raise InvalidFile(usage.source, "states", f"{graph.source} needs: {'; '.join(missing)}")


def _needs(block: Block, timed: bool) -> Iterator[tuple[str, str]]:
    """(state, key) of every quantity a run of ``block`` needs from the usage."""
    for name, state in block.states.items():
        if state.type == "Map":
            yield name, "items"
        if timed and (state.type == "Task" or (state.type == "Wait" and state.wait_s is None)):
            yield name, "duration_ms"
        for branch in state.branches:
            yield from _needs(branch, timed)
        if state.processor is not None:
            express_children = state.distributed and state.execution_type == "EXPRESS"
            yield from _needs(
                state.processor, express_children or (timed and not state.distributed)
            )


def usage_skeleton(
    definition: str | os.PathLike[str] | Mapping[str, Any],
    *,
    kind: Kind = "standard",
    substitutions: Mapping[str, str] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """The usage a definition needs, with ``None`` where a value must be given (for a
    usage file skeleton): Infracost's keys of its kind, ``items`` of every Map,
    ``iterations`` of one Choice per loop, and for an Express run the ``duration_ms`` of
    every Task and of every Wait without a literal ``Seconds``.

    >>> usage_skeleton({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True,
    ...     "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}})
    {'monthly_requests': None, 'states': {'M': {'items': None}}}
    """
    if kind not in ("standard", "express"):
        raise InvalidUsage(f"kind={kind!r}: must be 'standard' or 'express'")
    graph = read_graph(definition, substitutions=substitutions, source=source)
    states: dict[str, dict[str, Any]] = {}
    for block in graph.blocks():
        for cycle in _cycles(block):
            order = [n for n in block.states if n in cycle and block.states[n].type == "Choice"]
            if order:
                states.setdefault(order[0], {})["iterations"] = None
    for name, key in _needs(graph.root, kind == "express"):
        states.setdefault(name, {})[key] = None
    timed = kind == "express"
    top: dict[str, Any] = {"monthly_requests": None}
    if timed:
        top["memory_mb"] = 64
    return {**top, "states": states} if states else top
