"""An Amazon States Language definition read into a graph of states, and checked.

The definition is JSON (a file, a string or a parsed mapping), in either query language
(JSONPath or JSONata: neither changes how many states run). ``${Var}`` placeholders
(CloudFormation's ``DefinitionSubstitutions``) are replaced before the JSON is parsed, so a
placeholder outside quotes (``"TimeoutSeconds": ${timeout}``) works; one left without a
value stays as it is and is listed in :attr:`Graph.unresolved`, never guessed.

Checks (each error names the file, the state and the field): valid JSON (line and
column), ``StartAt`` and every ``Next``, ``Default`` and ``Catch`` target exist in the
same block, a known ``Type``, ``Next`` or ``End`` where the type needs one, state names
unique over the whole machine (usage is keyed by them), and a distributed Map's
``ExecutionType``.

>>> g = read_graph('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}')
>>> g.root.start, g.root.states["A"].type
('A', 'Pass')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidFile

__all__ = ["STATE_TYPES", "Block", "Catcher", "Graph", "Retrier", "State", "read_graph"]

#: The state types of the Amazon States Language, and whether each ends its block itself
#: (Succeed and Fail take neither Next nor End; Choice routes with its rules).
STATE_TYPES: dict[str, str] = {
    "Task": "next",
    "Pass": "next",
    "Wait": "next",
    "Parallel": "next",
    "Map": "next",
    "Choice": "choice",
    "Succeed": "terminal",
    "Fail": "terminal",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


@dataclass(frozen=True, slots=True)
class Retrier:
    """One rule of a state's ``Retry`` (defaults of the ASL specification)."""

    errors: tuple[str, ...]
    interval_s: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_s: float | None = None
    full_jitter: bool = False


@dataclass(frozen=True, slots=True)
class Catcher:
    """One rule of a state's ``Catch``: the errors it catches and the state it goes to."""

    errors: tuple[str, ...]
    next: str


@dataclass(frozen=True, slots=True)
class State:
    """One state: what the simulation needs of it."""

    name: str
    type: str
    next: str | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    rules: tuple[str, ...] = ()  # a Choice's rule targets, in order
    default: str | None = None  # a Choice's Default
    branches: tuple[Block, ...] = ()  # a Parallel's branches
    processor: Block | None = None  # a Map's ItemProcessor (or Iterator)
    distributed: bool = False
    execution_type: str = "STANDARD"  # of a distributed Map's child executions
    max_concurrency: int = 0  # 0: no limit
    batch_items: int | None = None  # a distributed Map's ItemBatcher.MaxItemsPerBatch
    tolerated_count: float | None = None
    tolerated_percent: float | None = None
    wait_s: float | None = None  # a Wait's literal Seconds
    error: str = ""  # a Fail's Error
    resource: str | None = None  # a Task's Resource
    function_name: str | None = None  # lambda:invoke's FunctionName

    @property
    def targets(self) -> tuple[str, ...]:
        """Every state this one may go to next (rules, Default, Next, Catch)."""
        out = [*self.rules, *((self.default,) if self.default else ())]
        out += [self.next] if self.next else []
        return tuple(dict.fromkeys(out + [c.next for c in self.catch]))


@dataclass(frozen=True, slots=True)
class Block:
    """A ``StartAt`` + ``States`` block: the machine, a Parallel branch or a Map's items."""

    start: str
    states: dict[str, State]
    where: str  # its field in the definition ("States", "States.Map.ItemProcessor")


@dataclass(frozen=True, slots=True)
class Graph:
    """A parsed definition.

    Attributes:
        root: the machine's top block.
        source: the file or label named in errors.
        query_language: ``"JSONPath"`` or ``"JSONata"``.
        unresolved: ``(field, placeholder)`` of each ``${Var}`` left without a value.
    """

    root: Block
    source: str
    query_language: str = "JSONPath"
    unresolved: tuple[tuple[str, str], ...] = ()
    owner: dict[str, str] = field(default_factory=dict)  # state -> block where

    def blocks(self) -> Iterator[Block]:
        """Every block, the root first."""
        yield from _blocks(self.root)

    def state(self, name: str) -> State:
        """The state called ``name`` (names are unique over the machine)."""
        for block in self.blocks():
            if name in block.states:
                return block.states[name]
        raise KeyError(name)


def _blocks(block: Block) -> Iterator[Block]:
    yield block
    for state in block.states.values():
        for child in (*state.branches, *((state.processor,) if state.processor else ())):
            yield from _blocks(child)


# ---------------------------------------------------------------------------- reading


def _text_of(definition: object, source: str | None) -> tuple[str | None, Any, str]:
    """(JSON text or None, parsed mapping or None, source label) of ``definition``."""
    if isinstance(definition, Mapping):
        return None, definition, source or "definition"
    if isinstance(definition, os.PathLike) or (
        isinstance(definition, str) and not definition.lstrip().startswith("{")
    ):
        path = Path(definition)
        label = source or str(path)
        try:
            return path.read_text(encoding="utf-8"), None, label
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidFile(label, "definition", f"cannot be read: {exc}") from exc
    if isinstance(definition, str):
        return definition, None, source or "definition"
    raise InvalidFile(
        source or "definition",
        "definition",
        f"{type(definition).__name__} given: pass a path to a .json/.asl.json file, "
        "a JSON string or a mapping",
    )


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _substitute_tree(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _substitute(node, values)
    if isinstance(node, Mapping):
        return {k: _substitute_tree(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_tree(v, values) for v in node]
    return node


def _placeholders(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        for m in _PLACEHOLDER.finditer(node):
            yield where, m.group(0)
    elif isinstance(node, Mapping):
        for k, v in node.items():
            yield from _placeholders(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _placeholders(v, f"{where}[{i}]")


def _parse(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        left = sorted(set(_PLACEHOLDER.findall(text)))
        hint = f" (unresolved placeholders: {', '.join(left)}; give them in substitutions)"
        raise InvalidFile(
            label,
            f"line {exc.lineno}, column {exc.colno}",
            f"invalid JSON: {exc.msg}{hint if left else ''}",
        ) from exc


def read_graph(
    definition: object,
    *,
    substitutions: Mapping[str, str] | None = None,
    source: str | None = None,
) -> Graph:
    """Read and check an ASL definition (a path, a JSON string or a mapping).

    Raises:
        InvalidFile: naming the source, the field (``States.<name>.Next``, or the line and
            column of malformed JSON) and what is wrong.
    """
    values = dict(substitutions or {})
    for key, value in values.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float)):
            raise InvalidFile(
                source or "definition",
                f"substitutions.{key}",
                f"{value!r}: each substitution maps a name to a string",
            )
    text, tree, label = _text_of(definition, source)
    tree = _parse(_substitute(text, values), label) if text is not None else tree
    tree = _substitute_tree(tree, values)
    if not isinstance(tree, Mapping):
        raise InvalidFile(label, "definition", "must be a JSON object with StartAt and States")
    reader = _Reader(label)
    root = reader.block(tree, "")
    language = tree.get("QueryLanguage", "JSONPath")
    if language not in ("JSONPath", "JSONata"):
        raise InvalidFile(label, "QueryLanguage", f"{language!r}: must be JSONPath or JSONata")
    return Graph(root, label, language, tuple(_placeholders(tree, "")), reader.owner)


@dataclass(slots=True)
class _Reader:
    """Builds blocks and states, failing with the field of the first problem."""

    source: str
    owner: dict[str, str] = field(default_factory=dict)

    def fail(self, where: str, reason: str) -> InvalidFile:
        return InvalidFile(self.source, where, reason)

    def block(self, node: object, where: str) -> Block:
        here = where or "definition"
        if not isinstance(node, Mapping):
            raise self.fail(here, "must be an object with StartAt and States")
        states = node.get("States")
        start = node.get("StartAt")
        prefix = f"{where}." if where else ""
        if not isinstance(states, Mapping) or not states:
            raise self.fail(f"{prefix}States", "must be a non-empty object of states")
        if not isinstance(start, str) or start not in states:
            known = ", ".join(map(repr, states))
            raise self.fail(f"{prefix}StartAt", f"{start!r} is not a state here; states: {known}")
        block_where = f"{prefix}States"
        built = {
            name: self.state(name, raw, f"{block_where}.{name}") for name, raw in states.items()
        }
        for state in built.values():
            for target in state.targets:
                if target not in built:
                    raise self.fail(
                        f"{block_where}.{state.name}",
                        f"goes to {target!r}, which is not a state of this block "
                        f"(states: {', '.join(map(repr, built))})",
                    )
        return Block(start, built, block_where)

    def state(self, name: str, raw: object, where: str) -> State:
        if not isinstance(raw, Mapping):
            hint = (
                "; QueryLanguage belongs at the top of the definition (or in a state), "
                "not among the states"
                if name == "QueryLanguage"
                else ""
            )
            raise self.fail(where, f"{raw!r}: a state must be an object with a Type{hint}")
        if name in self.owner:
            raise self.fail(
                where, f"state name {name!r} is used twice (also in {self.owner[name]})"
            )
        self.owner[name] = where
        kind = raw.get("Type")
        if kind not in STATE_TYPES:
            raise self.fail(f"{where}.Type", f"{kind!r}: must be one of {', '.join(STATE_TYPES)}")
        fields: dict[str, Any] = {"next": self.transition(raw, kind, where)}
        fields.update(self.errors_of(raw, where))
        fields.update(_BUILDERS[kind](self, raw, where))
        return State(name, kind, **fields)

    def transition(self, raw: Mapping[str, Any], kind: str, where: str) -> str | None:
        rule = STATE_TYPES[kind]
        nxt, end = raw.get("Next"), raw.get("End", False)
        if rule != "next":
            if nxt is not None or end:
                raise self.fail(where, f"a {kind} state takes neither Next nor End")
            return None
        if (nxt is None) == (end is not True):
            raise self.fail(
                where, f"a {kind} state needs exactly one of Next (a state) or End: true"
            )
        if nxt is not None and not isinstance(nxt, str):
            raise self.fail(f"{where}.Next", f"{nxt!r}: must be a state name")
        return nxt

    def errors_of(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "Retry" in raw:
            out["retry"] = tuple(
                self.retrier(r, f"{where}.Retry[{i}]")
                for i, r in enumerate(self.rules(raw, "Retry", where))
            )
        if "Catch" in raw:
            catchers = []
            for i, c in enumerate(self.rules(raw, "Catch", where)):
                if not isinstance(c.get("Next"), str):
                    raise self.fail(f"{where}.Catch[{i}].Next", "must be a state name")
                catchers.append(Catcher(self.names(c, f"{where}.Catch[{i}]"), c["Next"]))
            out["catch"] = tuple(catchers)
        return out

    def rules(self, raw: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
        rules = raw[key]
        if raw.get("Type") not in ("Task", "Parallel", "Map"):
            raise self.fail(f"{where}.{key}", f"only Task, Parallel and Map states take {key}")
        if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
            raise self.fail(f"{where}.{key}", "must be a list of objects")
        return rules

    def names(self, rule: Mapping[str, Any], where: str) -> tuple[str, ...]:
        names = rule.get("ErrorEquals")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise self.fail(f"{where}.ErrorEquals", "must be a non-empty list of error names")
        return tuple(names)

    def retrier(self, rule: Mapping[str, Any], where: str) -> Retrier:
        values: dict[str, Any] = {}
        for key, (attr, low, integral) in _RETRY_FIELDS.items():
            if key in rule:
                value = rule[key]
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not ok or value < low or (integral and value != int(value)):
                    kind = "an integer" if integral else "a number"
                    raise self.fail(f"{where}.{key}", f"{value!r}: must be {kind} >= {low:g}")
                values[attr] = int(value) if integral else float(value)
        jitter = rule.get("JitterStrategy", "NONE")
        if jitter not in ("FULL", "NONE"):
            raise self.fail(f"{where}.JitterStrategy", f"{jitter!r}: must be FULL or NONE")
        return Retrier(self.names(rule, where), full_jitter=jitter == "FULL", **values)

    def choice(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        rules = raw.get("Choices")
        if not isinstance(rules, list) or not rules:
            raise self.fail(f"{where}.Choices", "a Choice state needs a non-empty list of rules")
        targets = []
        for i, rule in enumerate(rules):
            nxt = rule.get("Next") if isinstance(rule, Mapping) else None
            if not isinstance(nxt, str):
                raise self.fail(f"{where}.Choices[{i}].Next", "each rule needs a Next state")
            targets.append(nxt)
        default = raw.get("Default")
        if default is not None and not isinstance(default, str):
            raise self.fail(f"{where}.Default", f"{default!r}: must be a state name")
        return {"rules": tuple(targets), "default": default}

    def parallel(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        branches = raw.get("Branches")
        if not isinstance(branches, list) or not branches:
            raise self.fail(
                f"{where}.Branches", "a Parallel state needs a non-empty list of branches"
            )
        return {
            "branches": tuple(
                self.block(b, f"{where}.Branches[{i}]") for i, b in enumerate(branches)
            )
        }

    def map(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        processor = raw.get(key)
        if not isinstance(processor, Mapping):
            raise self.fail(
                f"{where}.ItemProcessor", "a Map state needs an ItemProcessor (or Iterator)"
            )
        config = processor.get("ProcessorConfig", {})
        mode = config.get("Mode", "INLINE") if isinstance(config, Mapping) else None
        if mode not in ("INLINE", "DISTRIBUTED"):
            raise self.fail(
                f"{where}.{key}.ProcessorConfig.Mode", f"{mode!r}: must be INLINE or DISTRIBUTED"
            )
        out: dict[str, Any] = {"processor": self.block(processor, f"{where}.{key}")}
        out["max_concurrency"] = self.literal(raw, "MaxConcurrency", where, 0) or 0
        out["tolerated_count"] = self.literal(raw, "ToleratedFailureCount", where, None)
        out["tolerated_percent"] = self.literal(raw, "ToleratedFailurePercentage", where, None)
        if mode == "DISTRIBUTED":
            kind = config.get("ExecutionType")
            if kind not in ("STANDARD", "EXPRESS"):
                raise self.fail(
                    f"{where}.{key}.ProcessorConfig.ExecutionType",
                    f"{kind!r}: a distributed Map needs STANDARD or EXPRESS",
                )
            batcher = raw.get("ItemBatcher")
            batch = (
                self.literal(batcher, "MaxItemsPerBatch", where, None)
                if isinstance(batcher, Mapping)
                else None
            )
            out.update(distributed=True, execution_type=kind, batch_items=batch)
        return out

    def literal(self, raw: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
        """A number given literally (a path or a JSONata expression: ``default``)."""
        value = raw.get(key, default)
        if isinstance(value, str) or value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(f"{where}.{key}", f"{value!r}: must be a number >= 0")
        return value

    def wait(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        seconds = self.literal(raw, "Seconds", where, None)
        return {"wait_s": None if seconds is None else float(seconds)}

    def fail_state(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        error = raw.get("Error", "")
        return {"error": error if isinstance(error, str) else ""}

    def task(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        resource = raw.get("Resource")
        if not isinstance(resource, str) or not resource:
            raise self.fail(f"{where}.Resource", f"{resource!r}: a Task state needs a Resource")
        args = raw.get("Parameters") or raw.get("Arguments") or {}
        name = args.get("FunctionName") if isinstance(args, Mapping) else None
        is_invoke = resource.startswith("arn:aws:states:::lambda:invoke")
        return {
            "resource": resource,
            "function_name": name if is_invoke and isinstance(name, str) else None,
        }


def _none(reader: _Reader, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {}


#: Retry fields: ASL name -> (Retrier attribute, lowest value, integral).
_RETRY_FIELDS: dict[str, tuple[str, float, bool]] = {
    "IntervalSeconds": ("interval_s", 1.0, True),
    "MaxAttempts": ("max_attempts", 0.0, True),
    "BackoffRate": ("backoff_rate", 1.0, False),
    "MaxDelaySeconds": ("max_delay_s", 1.0, True),
}

_BUILDERS = {
    "Task": _Reader.task,
    "Pass": _none,
    "Wait": _Reader.wait,
    "Choice": _Reader.choice,
    "Parallel": _Reader.parallel,
    "Map": _Reader.map,
    "Succeed": _none,
    "Fail": _Reader.fail_state,
}
